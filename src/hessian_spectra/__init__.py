"""Hessian-spectrum toolkit and the replication of Sagun et al. (2017).

The package reads in layers, each importing only those before it:

- ``base``: atomic files, progress lines, seeding and the pinned CPU kernels (no science);
- ``config``: a profile file, its schema and the runs it defines as data; parse-time sizes (no torch);
- ``data``: the data sets of every family and their file format;
- ``training``: the nets built from config sections and the resumable GD/SGD loop;
- ``hessian``: exact dense H, G and R (the engines), Hessian-vector products, the range route;
- ``spectra``: Lanczos edges, the stochastic Lanczos quadrature density, the outlier counts;
- ``experiments``: one module per family with steps of its own (Family D's switch, the
  spectra along training, Appendix B, the batch ablation);
- ``pipeline``: the workflow's train and spectrum steps and its job plumbing;
- ``outputs``: plots, figures, tables, claims, the report, and tables compared (``make verify``).

The toolkit's public names (README, "The Hessian toolkit on your own model") are
importable from here, ``from hessian_spectra import exact_hessian``; each is imported on
first use, so ``import hessian_spectra`` itself imports no torch.
"""

from __future__ import annotations

import importlib

#: the public toolkit: name -> the module (below this package) that defines it
_PUBLIC = {
    "exact_hessian": "hessian.dense",
    "hessian_split": "hessian.dense",
    "eigenvalues": "hessian.dense",
    "HessianSplit": "hessian.dense",
    "HessianMemoryError": "hessian.dense",
    "HessianOperator": "hessian.operators",
    "MatrixOperator": "hessian.operators",
    "range_eigenvalues": "hessian.range",
    "RangeCheckError": "hessian.range",
    "edge_eigenvalues": "spectra.edges",
    "hessian_edges": "spectra.edges",
    "EdgeSpectrum": "spectra.edges",
    "hessian_density": "spectra.density",
    "count_outliers": "spectra.counts",
    "negative_part": "spectra.counts",
    "OutlierCounts": "spectra.counts",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """A public toolkit name, imported from its module on first use (PEP 562)."""
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
