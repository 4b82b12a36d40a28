"""CIFAR10 for Family D (Sagun et al., section 4.1, the batch switch): the python batches
through torchvision, standardised per channel with the training set's mean and std.

The files are the release's ``cifar-10-batches-py/``: ``data_batch_1`` .. ``data_batch_5``,
``test_batch`` (pickled dicts: ``data`` uint8 (N, 3072), channel-major 32x32 planes R, G,
B; ``labels``) and ``batches.meta`` (``label_names``), under the configured data folder.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from .images import ImageDataNotFoundError, missing_files_message
from .split import Split

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")


def _missing_files(folder: Path) -> list[str]:
    return [name for name in CIFAR10_FILES if not (folder / name).is_file()]


def _missing_message(folder: Path, missing: list[str], cause: BaseException | None) -> str:
    return missing_files_message(
        f"CIFAR10 data not found: torchvision reads the python batches from {folder}", missing, CIFAR10_FILES,
        cause, f"unpack cifar-10-python.tar.gz (https://www.cs.toronto.edu/~kriz/cifar.html) so that its "
        f"{CIFAR10_FOLDER}/ folder lies in {folder.parent}")


def _reader():
    """torchvision's CIFAR10 reader with the release's MD5 checks replaced by presence checks.

    Written here because ``datasets.CIFAR10`` accepts only byte-exact copies of the official
    files, and the tests read tiny files in the same pickle format through this same reading
    code (a download, ``download=True``, still goes through the unmodified class, which
    verifies the archive)."""
    from torchvision import datasets  # imported here: slow, and most jobs never need it

    class CIFAR10Files(datasets.CIFAR10):
        def _check_integrity(self) -> bool:
            return not _missing_files(Path(self.root) / self.base_folder)

        def _load_meta(self) -> None:
            with open(os.path.join(self.root, self.base_folder, self.meta["filename"]), "rb") as handle:
                self.classes = pickle.load(handle, encoding="latin1")[self.meta["key"]]
            self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    return CIFAR10Files


def load_cifar10(root: str | os.PathLike, *, download: bool = False) -> tuple[Split, dict]:
    """CIFAR10's train (50,000) and test (10,000) images from ``<root>/cifar-10-batches-py/``
    as float32 (N, 3, 32, 32), standardised per channel: pixels scaled to [0, 1], then each
    channel's mean subtracted and divided by its (population) std, both over the *training*
    images; labels int64. Returns the split and the constants, ``channel_mean`` and
    ``channel_std`` (saved with the data).

    With ``download=True`` torchvision fetches missing files first; otherwise nothing is
    fetched. Missing files (or a failed download) raise ``ImageDataNotFoundError`` naming the
    files, the folder, and how to get them, before anything is read."""
    root = Path(root).expanduser().absolute()
    folder = root / CIFAR10_FOLDER
    missing = _missing_files(folder)
    if missing and download:
        from torchvision import datasets
        try:
            datasets.CIFAR10(str(root), train=True, download=True)
        except Exception as err:  # torchvision raises RuntimeError/URLError/OSError on failure
            raise ImageDataNotFoundError(_missing_message(folder, _missing_files(folder), err)) from err
        missing = _missing_files(folder)
    if missing:
        raise ImageDataNotFoundError(_missing_message(folder, missing, None))
    reader = _reader()
    parts = []
    for train in (True, False):
        dataset = reader(str(root), train=train, download=False)
        images = np.asarray(dataset.data).transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255)
        parts.append((images, np.asarray(dataset.targets, dtype=np.int64)))
    (x_train, y_train), (x_test, y_test) = parts
    return standardise_channels(Split(x_train, y_train, x_test, y_test, n_classes=10))


def standardise_channels(split: Split) -> tuple[Split, dict]:
    """CIFAR-style preprocessing of images (N, C, H, W) scaled to [0, 1]: each channel's
    mean subtracted and divided by its (population) std, both over the *training* images,
    and the test images mapped with the same constants. Returns the standardised split and
    the constants, ``channel_mean`` and ``channel_std`` (lists of C floats)."""
    mean = split.x_train.mean(axis=(0, 2, 3), dtype=np.float64)
    std = split.x_train.std(axis=(0, 2, 3), dtype=np.float64)
    if not np.all(std > 0):
        raise ValueError(f"the training images have a constant channel (std {std.tolist()})")

    def standardise(images: np.ndarray) -> np.ndarray:
        return ((images - mean[:, None, None]) / std[:, None, None]).astype(np.float32)

    standardised = Split(standardise(split.x_train), split.y_train, standardise(split.x_test), split.y_test,
                         split.n_classes)
    return standardised, {"channel_mean": mean.tolist(), "channel_std": std.tolist()}
