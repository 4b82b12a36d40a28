"""Data sets: the Gaussian clusters of Family A (Sagun et al., section 3.1 and appendix A)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Split:
    """A classification data set: float32 inputs (N, ...) and int64 class labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    def tensors(self, part: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
        x, y = (self.x_train, self.y_train) if part == "train" else (self.x_test, self.y_test)
        return torch.from_numpy(x), torch.from_numpy(y)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"x_train": self.x_train, "y_train": self.y_train,
                "x_test": self.x_test, "y_test": self.y_test}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_classes: int) -> "Split":
        return cls(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], n_classes)


def gaussian_clusters(*, k: int, cov: float, n_train: int, n_test: int, n_features: int,
                      seed: int) -> Split:
    """k Gaussian clusters (``make_blobs``, ``cluster_std=cov``), standardised globally
    (zero mean, unit variance per feature over train and test together, as the authors'
    code did), then split into stratified, seeded train and test parts."""
    if k < 2:
        raise ValueError(f"need at least 2 clusters, got k={k}")
    # imported here: scikit-learn takes ~1.5 s to import and most jobs never need it
    from sklearn.datasets import make_blobs
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = make_blobs(n_samples=n_train + n_test, n_features=n_features, centers=k,
                      cluster_std=cov, random_state=seed)
    x = StandardScaler().fit_transform(x).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y.astype(np.int64), train_size=n_train, test_size=n_test, stratify=y, random_state=seed)
    return Split(x_train, y_train, x_test, y_test, n_classes=k)
