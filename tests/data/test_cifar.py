"""CIFAR10 from tiny files in the release's on-disk format (pickled python batches) read
through the real code path (``data.cifar``), against arrays built here by hand."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from hessian_spectra.data.cifar import CIFAR10_FILES, CIFAR10_FOLDER, load_cifar10
from data_files import fake_download, write_cifar
from hessian_spectra.data.images import ImageDataNotFoundError


def test_cifar10_reads_every_batch_in_order_and_standardises_per_channel(tmp_path):
    batches = write_cifar(tmp_path)
    split, constants = load_cifar10(tmp_path)
    raw_train = np.concatenate([batches[f"data_batch_{j}"]["data"] for j in range(1, 6)])
    pixels = raw_train.reshape(-1, 3, 32, 32).astype(np.float64) / 255  # channel-major planes
    mean, std = pixels.mean(axis=(0, 2, 3)), pixels.std(axis=(0, 2, 3))
    assert np.allclose(constants["channel_mean"], mean) and np.allclose(constants["channel_std"], std)
    expected = (pixels - mean[:, None, None]) / std[:, None, None]
    assert split.x_train.shape == (10, 3, 32, 32) and split.x_train.dtype == np.float32
    assert np.allclose(split.x_train, expected, atol=1e-5)
    assert split.y_train.tolist() == sum((batches[f"data_batch_{j}"]["labels"] for j in range(1, 6)), [])
    test_pixels = batches["test_batch"]["data"].reshape(-1, 3, 32, 32) / 255
    assert np.allclose(split.x_test, (test_pixels - mean[:, None, None]) / std[:, None, None], atol=1e-5)
    assert split.y_test.tolist() == batches["test_batch"]["labels"] and split.n_classes == 10
    # the training pixels of each channel have mean 0 and std 1 after standardising
    assert np.allclose(split.x_train.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert np.allclose(split.x_train.std(axis=(0, 2, 3)), 1, atol=1e-5)


def test_a_pixel_lands_in_its_channel_row_and_column(tmp_path):
    batches = write_cifar(tmp_path)
    data = batches["data_batch_1"]["data"]
    data[0] = 0
    data[0, 1024 + 5 * 32 + 7] = 255  # green plane, row 5, column 7
    with open(tmp_path / CIFAR10_FOLDER / "data_batch_1", "wb") as handle:
        pickle.dump(batches["data_batch_1"], handle)
    split, constants = load_cifar10(tmp_path)
    raw = (split.x_train[0] * np.array(constants["channel_std"])[:, None, None]
           + np.array(constants["channel_mean"])[:, None, None])
    assert np.argwhere(raw > 0.5).tolist() == [[1, 5, 7]]


def test_missing_files_error_names_the_files_the_folder_and_the_fix(tmp_path, no_network):
    with pytest.raises(ImageDataNotFoundError) as info:
        load_cifar10(tmp_path, download=False)
    message = str(info.value)
    assert all(name in message for name in CIFAR10_FILES)
    assert str(tmp_path.absolute() / CIFAR10_FOLDER) in message
    assert "download: true" in message and "cifar-10-python.tar.gz" in message


def test_one_missing_file_is_named_as_missing(tmp_path, no_network):
    write_cifar(tmp_path)
    (tmp_path / CIFAR10_FOLDER / "data_batch_4").unlink()
    with pytest.raises(ImageDataNotFoundError, match=r"missing: data_batch_4\."):
        load_cifar10(tmp_path)


def test_download_is_used_only_when_asked_and_only_when_files_are_missing(tmp_path, monkeypatch):
    from torchvision import datasets
    calls = fake_download(monkeypatch, datasets.CIFAR10, lambda: write_cifar(tmp_path))
    # the unmodified class checks the release's MD5s, which tiny files cannot pass
    monkeypatch.setattr(datasets.CIFAR10, "_check_integrity", lambda self: bool(calls))
    monkeypatch.setattr(datasets.CIFAR10, "_load_meta", lambda self: None)
    with pytest.raises(ImageDataNotFoundError):
        load_cifar10(tmp_path, download=False)
    assert calls == []
    split, _ = load_cifar10(tmp_path, download=True)
    assert len(split.y_train) == 10 and len(calls) == 1
    load_cifar10(tmp_path, download=True)  # files present now: no second download
    assert len(calls) == 1


def test_failed_download_raises_the_missing_files_error_with_the_cause(tmp_path, monkeypatch):
    from torchvision import datasets

    def failing_download(self):
        raise RuntimeError("Error downloading cifar-10-python.tar.gz: no route to host")
    monkeypatch.setattr(datasets.CIFAR10, "download", failing_download)
    with pytest.raises(ImageDataNotFoundError, match="no route to host") as info:
        load_cifar10(tmp_path, download=True)
    assert "data_batch_1" in str(info.value)
