"""When a run stops (``convergence``): an exhausted budget gives an honest non-converged
result, and every product is counted, the final residual check included."""

from __future__ import annotations

import numpy as np
import pytest

from cases import SPECTRUM_CASES, exact_values
from hessian_spectra.hessian.operators import HessianOperator
from hessian_spectra.spectra.edges import edge_eigenvalues


@pytest.mark.parametrize("method", ["lanczos", "arpack"])
def test_budget_exhausted_gives_honest_non_convergence_not_an_exception(method):
    (model, x, y), exact = exact_values("tanh_1208")
    k = 5
    result = edge_eigenvalues(HessianOperator(model, x, y), k, tol=1e-10, max_products=2 * k + 6,
                              method=method)
    assert not result.converged
    assert result.residual_norms.size > 0 or method == "arpack"
    if result.residual_norms.size:
        assert result.residual_norms.max() > 1e-6 * np.abs(exact).max()  # far from converged, and says so
    if method == "lanczos":
        assert result.n_products <= 2 * k + 6
        assert "max_products reached" in result.notes


def test_product_count_is_what_the_operator_saw_including_the_final_residual_check():
    model, x, y = SPECTRUM_CASES["relu_618"]()
    operator = HessianOperator(model, x, y)
    result = edge_eigenvalues(operator, 5)
    assert result.n_products == operator.n_products
    assert result.n_products >= 10 + 10  # at least the basis for 2 x 5 values and one product per pair
    assert result.converged == bool(np.all(result.residual_norms <= result.tol * result.scale))
