"""Family A steps that only the Gaussian clusters have: making the data, its PCA."""

from __future__ import annotations

from pathlib import Path

from .data import gaussian_clusters
from .io import save_text
from .runs import load_data, save_data


def make_data(data: dict, out: str | Path) -> None:
    """The run's clusters (``data`` section of a run) as .npz."""
    save_data(gaussian_clusters(**data), out, metadata=data)


def pca_explained_variance(data_paths: dict[int, str | Path], out: str | Path) -> None:
    """Explained-variance ratio of every principal component of the training inputs per k, as CSV."""
    from sklearn.decomposition import PCA  # slow import, only this step needs it

    lines = ["k,component,explained_variance_ratio"]
    for k, path in sorted(data_paths.items()):
        ratios = PCA().fit(load_data(path).x_train).explained_variance_ratio_
        lines += [f"{k},{i + 1},{r:.10g}" for i, r in enumerate(ratios)]
    save_text(out, "\n".join(lines) + "\n")
