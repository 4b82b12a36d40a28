"""Atomic writes (``io``): a failed write leaves nothing behind; .npz round trip with metadata."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_spectra.base.io import atomic_path, load_npz, save_npz, save_text


def test_npz_round_trip_with_metadata(tmp_path):
    save_npz(tmp_path / "a.npz", metadata={"run": "x", "n": 2}, values=np.arange(3.0))
    arrays, metadata = load_npz(tmp_path / "a.npz")
    assert metadata == {"run": "x", "n": 2} and arrays["values"].tolist() == [0.0, 1.0, 2.0]


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "sub" / "out.txt") as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert list((tmp_path / "sub").iterdir()) == []


def test_a_rewrite_replaces_the_old_file_whole(tmp_path):
    save_text(tmp_path / "t.txt", "old")
    save_text(tmp_path / "t.txt", "new")
    assert (tmp_path / "t.txt").read_text() == "new" and len(list(tmp_path.iterdir())) == 1
