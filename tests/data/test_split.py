"""The split type and its data file (``data.split``)."""

from __future__ import annotations

import numpy as np
import torch

from hessian_spectra.base.io import load_npz
from hessian_spectra.data.split import Split, load_split, save_split


def _split() -> Split:
    rng = np.random.default_rng(0)
    return Split(rng.normal(size=(6, 3)).astype(np.float32), np.arange(6, dtype=np.int64) % 3,
                 rng.normal(size=(2, 3)).astype(np.float32), np.array([0, 2], dtype=np.int64), n_classes=3)


def test_round_trip_keeps_arrays_classes_metadata_and_extras(tmp_path):
    split = _split()
    save_split(split, tmp_path / "d.npz", metadata={"k": 3, "seed": 7}, train_indices=np.array([4, 1]))
    loaded = load_split(tmp_path / "d.npz")
    for name, array in split.arrays().items():
        assert np.array_equal(getattr(loaded, name), array) and getattr(loaded, name).dtype == array.dtype
    arrays, metadata = load_npz(tmp_path / "d.npz")
    assert metadata == {"k": 3, "seed": 7, "n_classes": 3}
    assert arrays["train_indices"].tolist() == [4, 1]


def test_tensors_share_memory_with_the_arrays():
    split = _split()
    x, y = split.tensors("test")
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert np.shares_memory(x.numpy(), split.x_test) and torch.equal(y, torch.tensor([0, 2]))
