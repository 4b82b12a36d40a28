"""Gaussian cluster data (``data.clusters``): standardisation, split, seeding, file and PCA."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_spectra.data.clusters import gaussian_clusters, make_cluster_data, pca_explained_variance
from hessian_spectra.data.split import load_split

SETTINGS = dict(k=5, cov=1.0, n_train=60, n_test=40, n_features=7, seed=3)


def test_globally_standardised_and_split_with_every_class():
    split = gaussian_clusters(**SETTINGS)
    everything = np.concatenate([split.x_train, split.x_test])
    assert np.allclose(everything.mean(0), 0, atol=1e-6)
    assert np.allclose(everything.std(0), 1, atol=1e-5)
    assert split.x_train.shape == (60, 7) and split.x_test.shape == (40, 7)
    assert split.x_train.dtype == np.float32 and split.y_train.dtype == np.int64
    assert set(split.y_train) == set(split.y_test) == set(range(5))
    # stratified: 12 of each class in train
    assert np.bincount(split.y_train).tolist() == [12] * 5


def test_same_seed_same_data_other_seed_other_data():
    a, b = gaussian_clusters(**SETTINGS), gaussian_clusters(**SETTINGS)
    c = gaussian_clusters(**{**SETTINGS, "seed": 4})
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_cov_spreads_the_clusters():
    """A larger spread makes the classes overlap more: the between-class share of the
    variance shrinks."""
    def between_share(cov):
        split = gaussian_clusters(**{**SETTINGS, "cov": cov, "n_train": 500, "n_test": 500})
        means = np.stack([split.x_train[split.y_train == c].mean(0) for c in range(5)])
        return means.var(0).sum() / split.x_train.var(0).sum()
    assert between_share(1.0) > between_share(10.0)


def test_fewer_than_two_clusters_is_rejected():
    with pytest.raises(ValueError, match="k=1"):
        gaussian_clusters(**{**SETTINGS, "k": 1})


def test_make_cluster_data_writes_the_split_of_its_settings(tmp_path):
    make_cluster_data(SETTINGS, tmp_path / "c.npz")
    saved, expected = load_split(tmp_path / "c.npz"), gaussian_clusters(**SETTINGS)
    assert np.array_equal(saved.x_train, expected.x_train) and saved.n_classes == 5


def test_pca_explained_variance_against_numpy_svd(tmp_path):
    """The ratios are the squared singular values of the centred training inputs, normalised."""
    make_cluster_data(SETTINGS, tmp_path / "c.npz")
    pca_explained_variance({5: tmp_path / "c.npz"}, tmp_path / "pca.csv")
    rows = (tmp_path / "pca.csv").read_text().splitlines()
    assert rows[0] == "k,component,explained_variance_ratio" and len(rows) == 1 + 7
    x = load_split(tmp_path / "c.npz").x_train.astype(np.float64)
    singular = np.linalg.svd(x - x.mean(0), compute_uv=False)
    expected = singular**2 / np.sum(singular**2)
    assert np.allclose([float(r.split(",")[2]) for r in rows[1:]], expected, rtol=1e-6)
