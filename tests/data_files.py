"""Tiny data sets in the real on-disk formats, written by the tests that read them through
the real loaders (nothing is downloaded)."""

from __future__ import annotations

import pickle

import numpy as np

from hessian_spectra.data.cifar import CIFAR10_FOLDER

RNG = np.random.default_rng(0)


def write_cifar(root, per_batch: int = 2, n_test: int = 3) -> dict[str, dict]:
    """The release's seven files in <root>/cifar-10-batches-py/: each batch a pickled dict
    with ``data`` uint8 (n, 3072) (planes R, G, B of 32x32, row-major) and ``labels``."""
    folder = root / CIFAR10_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for i, name in enumerate([f"data_batch_{j}" for j in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else per_batch
        batches[name] = {"data": RNG.integers(0, 256, (n, 3072), dtype=np.uint8),
                         "labels": [int(v) for v in RNG.integers(0, 10, n)], "batch_label": name}
        with open(folder / name, "wb") as handle:
            pickle.dump(batches[name], handle)
    with open(folder / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}, handle)
    return batches


def fake_download(monkeypatch, dataset_class, write) -> list:
    """Replace ``dataset_class.download`` (a torchvision data set) by ``write()``, which puts
    the files where torchvision would: a stand-in for the network. Returns the list of the
    calls' roots, which grows with every download."""
    calls = []

    def download(self):
        calls.append(self.root)
        write()

    monkeypatch.setattr(dataset_class, "download", download)
    return calls
