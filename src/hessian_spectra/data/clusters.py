"""The Gaussian clusters of Family A (Sagun et al., section 3.1 and appendix A): making a
data set, saving it, and the PCA of Fig. 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..base.io import save_text
from .split import Split, load_split, save_split


def gaussian_clusters(*, k: int, cov: float, n_train: int, n_test: int, n_features: int,
                      seed: int) -> Split:
    """k Gaussian clusters (``make_blobs``, ``cluster_std=cov``), standardised globally
    (zero mean, unit variance per feature over train and test together, as the authors'
    code did), then split into stratified, seeded train and test parts."""
    if k < 2:
        raise ValueError(f"need at least 2 clusters, got k={k}")
    # imported here: scikit-learn is slow to import and most jobs never need it
    from sklearn.datasets import make_blobs
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = make_blobs(n_samples=n_train + n_test, n_features=n_features, centers=k,
                      cluster_std=cov, random_state=seed)
    x = StandardScaler().fit_transform(x).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y.astype(np.int64), train_size=n_train, test_size=n_test, stratify=y, random_state=seed)
    return Split(x_train, y_train, x_test, y_test, n_classes=k)


def make_cluster_data(data: dict, out: str | Path) -> None:
    """The clusters a run's ``data`` section describes, as a data file (``split``)."""
    save_split(gaussian_clusters(**data), out, metadata=data)


def pca_explained_variance(data_paths: dict[int, str | Path], out: str | Path) -> None:
    """Explained-variance ratio of every principal component of the training inputs per k, as CSV."""
    from sklearn.decomposition import PCA  # slow import, only this step needs it

    lines = ["k,component,explained_variance_ratio"]
    for k, path in sorted(data_paths.items()):
        ratios = PCA().fit(load_split(path).x_train).explained_variance_ratio_
        lines += [f"{k},{i + 1},{r:.10g}" for i, r in enumerate(ratios)]
    save_text(out, "\n".join(lines) + "\n")
