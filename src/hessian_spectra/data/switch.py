"""The data step of Family D (the batch switch, Sagun et al. section 4.1): CIFAR10, or
scikit-learn's digits as its offline stand-in, both with CIFAR-style preprocessing (per
channel standardisation from the training set) whose constants are saved with the data."""

from __future__ import annotations

from .cifar import load_cifar10, standardise_channels
from .images import digits_pixels
from .split import save_split

SOURCES = ("digits", "cifar10")


def make_switch_data(data: dict, out) -> None:
    """The whole train and test sets of ``data["source"]`` (``SOURCES``) as .npz; the
    metadata holds the config section and ``channel_mean`` / ``channel_std``."""
    if data["source"] == "cifar10":
        split, constants = load_cifar10(data["data_dir"], download=data["download"])
    elif data["source"] == "digits":
        split, constants = standardise_channels(digits_pixels(test_size=data["digits_test_size"], seed=data["seed"]))
    else:
        raise ValueError(f"config field 'switch.source': {data['source']!r} is not allowed "
                         f"(allowed values: {', '.join(SOURCES)})")
    save_split(split, out, metadata={**data, **constants})
