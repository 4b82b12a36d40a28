"""The entry points (``edges``): arguments checked, ``hessian_edges`` as the operator and
``edge_eigenvalues`` together, and the seed the only source of randomness."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cases import MLP_CASES, SPECTRUM_CASES
from hessian_spectra.hessian.operators import HessianOperator
from hessian_spectra.spectra.edges import edge_eigenvalues, hessian_edges


def test_bad_arguments_are_rejected():
    operator = HessianOperator(*MLP_CASES["relu"]())
    with pytest.raises(ValueError, match="which"):
        edge_eigenvalues(operator, 2, which="middle")
    with pytest.raises(ValueError, match="max_products"):
        edge_eigenvalues(operator, 2, max_products=3)


def test_hessian_edges_matches_the_two_steps_and_times_the_whole():
    model, x, y = SPECTRUM_CASES["relu_618"]()
    edges = hessian_edges(model, x, y, k=4, tol=1e-10, batch_size=25)
    steps = edge_eigenvalues(HessianOperator(model, x, y), 4, tol=1e-10)
    assert np.allclose(edges.largest, steps.largest, rtol=0, atol=1e-9 * steps.scale)
    assert np.allclose(edges.smallest, steps.smallest, rtol=0, atol=1e-9 * steps.scale)
    assert edges.converged and edges.seconds > 0


@pytest.mark.parametrize("method", ["lanczos", "arpack"])
def test_the_seed_alone_sets_the_start_and_global_random_state_is_untouched(method):
    model, x, y = SPECTRUM_CASES["relu_618"]()
    operator = HessianOperator(model, x, y)
    saved_numpy = np.random.get_state()
    with torch.random.fork_rng(devices=[]):  # this test sets the global states; others keep theirs
        torch.manual_seed(11)
        np.random.seed(11)
        torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
        first = edge_eigenvalues(operator, 3, seed=5, method=method)
        assert torch.equal(torch.get_rng_state(), torch_state)
        assert np.array_equal(np.random.get_state()[1], numpy_state)
        torch.manual_seed(12)  # another global state must not matter
        np.random.seed(12)
        again = edge_eigenvalues(operator, 3, seed=5, method=method)
    np.random.set_state(saved_numpy)
    other = edge_eigenvalues(operator, 3, seed=6, method=method)
    assert np.array_equal(first.largest, again.largest) and np.array_equal(first.smallest, again.smallest)
    assert np.array_equal(first.residual_norms, again.residual_norms)
    assert not np.array_equal(first.residual_norms, other.residual_norms)  # another start vector


def test_hessian_edges_passes_its_seed_to_the_start_vector():
    model, x, y = SPECTRUM_CASES["relu_618"]()
    edges = hessian_edges(model, x, y, k=3, seed=5)
    same_seed = edge_eigenvalues(HessianOperator(model, x, y), 3, seed=5)
    default_seed = edge_eigenvalues(HessianOperator(model, x, y), 3)
    assert np.array_equal(edges.largest, same_seed.largest) and np.array_equal(edges.smallest, same_seed.smallest)
    assert np.array_equal(edges.residual_norms, same_seed.residual_norms)
    assert not np.array_equal(edges.residual_norms, default_seed.residual_norms)
