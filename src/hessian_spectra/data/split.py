"""The classification data type every family trains on, and its file format.

A data file is a compressed .npz with ``x_train``, ``y_train``, ``x_test``, ``y_test``
(plus any extra arrays a data step saves, such as ``train_indices``) and JSON metadata
that holds the settings that made it and ``n_classes``.

Torch is imported only by ``Split.tensors``: the data steps (cluster sets, the PCA of
Fig. 2) are cheap jobs that never need it, and importing it costs them more than the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..base.io import load_npz, save_npz

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Split:
    """A classification data set: float32 inputs (N, ...) and int64 class labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def tensors(self, part: str = "train") -> tuple["torch.Tensor", "torch.Tensor"]:
        import torch

        x, y = (self.x_train, self.y_train) if part == "train" else (self.x_test, self.y_test)
        return torch.from_numpy(x), torch.from_numpy(y)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"x_train": self.x_train, "y_train": self.y_train,
                "x_test": self.x_test, "y_test": self.y_test}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_classes: int) -> "Split":
        return cls(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], n_classes)


def save_split(split: Split, out: str | Path, metadata: dict, **extra: np.ndarray) -> None:
    """A data set as .npz (``x_train`` ... ``y_test`` plus ``extra``); metadata gets ``n_classes``."""
    save_npz(out, metadata={**metadata, "n_classes": split.n_classes}, **split.arrays(), **extra)


def load_split(path: str | Path) -> Split:
    """The data set of a file written by ``save_split``."""
    arrays, metadata = load_npz(path)
    return Split.from_arrays(arrays, n_classes=metadata["n_classes"])
