"""Every eigenvalue through the Hessian's range (``hessian_range``) against the oracle:
eigvalsh of ``torch.func.hessian`` of the loss in float64, on nets where the range basis
is smaller than M (so M - r eigenvalues come from the rank argument, not a solve)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cases import DTYPE, conv1d_avgpool_case, mlp_case, reference_hessian, seeded
from hessian_spectra.config.sizes import range_dimension
from hessian_spectra.hessian.dense import HessianMemoryError
from hessian_spectra.hessian.range import RangeCheckError, _eigenvalues_through_range, free_layer, range_eigenvalues
from hessian_spectra.spectra.counts import negative_part
from hessian_spectra.training.models import convnet


@seeded
def wide_convnet_case(n: int = 12):
    """The Family C architecture with a wide first fully connected layer (M = 899, r = 498)."""
    model = convnet((1, 8, 8), n_classes=3, channels=(2, 4), kernel_size=3, hidden=40, padding=1).to(DTYPE)
    return model, torch.randn(n, 1, 8, 8, dtype=DTYPE), torch.randint(0, 3, (n,))


def trained(case):
    """A case after 60 plain gradient steps, so that R is not small next to G."""
    model, x, y = case
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(60):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model, x, y


CASES = {  # (model, inputs, targets); M and r = N C + 2 |S| in the comments
    "wide_mlp": lambda: trained(mlp_case(nn.ReLU, widths=(40, 12), n_classes=3, n=10, seed=5)),  # M 531, r 108
    "deep_mlp": lambda: trained(mlp_case(nn.ReLU, widths=(30, 16, 6), n_classes=3, n=8, seed=6)),  # M 619, r 270
    "wide_convnet": lambda: trained(wide_convnet_case(seed=7)),
    "conv1d_avgpool": conv1d_avgpool_case,  # r > M: the basis is all of R^M, still exact
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_eigenvalue_matches_the_dense_oracle(case):
    model, x, y = CASES[case]()
    expected = np.linalg.eigvalsh(reference_hessian(model, x, y).numpy())
    values, facts = range_eigenvalues(model, x, y)
    scale = np.abs(expected).max()
    assert values.shape == expected.shape
    assert np.abs(values - expected).max() < 1e-10 * scale
    assert facts["check"] < 1e-10
    assert len(negative_part(values)) == len(negative_part(expected)) > 0
    size = sum(p.numel() for p in model.parameters())
    assert facts["dimension"] == min(size, len(x) * 3 + 2 * (size - (free_layer(model).stop - free_layer(model).start)))


def test_the_dimension_the_config_predicts_is_the_one_used():
    model, x, y = CASES["wide_mlp"]()
    section = {"kind": "mlp", "in_features": 40, "hidden": [12], "out_features": 3, "activation": "relu"}
    assert range_eigenvalues(model, x, y)[1]["dimension"] == range_dimension(section, len(x)) == 108
    assert range_dimension({**section, "activation": "tanh"}, len(x)) is None


def test_the_free_layer_is_the_largest():
    model, _, _ = CASES["wide_convnet"]()
    sizes = [sum(p.numel() for p in layer.parameters()) for layer in model if isinstance(layer, (nn.Linear, nn.Conv2d))]
    layer = free_layer(model)
    assert layer.stop - layer.start == max(sizes) and layer.start == sum(sizes[: int(np.argmax(sizes))])


def test_a_net_that_is_not_piecewise_linear_is_refused_by_name():
    model, x, y = mlp_case(nn.Tanh)
    with pytest.raises(ValueError, match="piecewise linear.*tanh"):
        range_eigenvalues(model, x, y)


def test_the_probe_check_catches_a_basis_that_misses_the_range():
    """With tanh, R does not vanish on the free layer's block: the basis misses part of the
    range, and the check must say so rather than return wrong eigenvalues."""
    model, x, y = trained(mlp_case(nn.Tanh, widths=(40, 12), n_classes=3, n=10, seed=5))
    free = slice(0, 40 * 12 + 12)
    with pytest.raises(RangeCheckError, match="misses part of the Hessian's range"):
        _eigenvalues_through_range(model, x, y, free, batch_size=4, show_progress=False)


def test_the_memory_budget_is_checked_before_any_work():
    model, x, y = CASES["wide_mlp"]()
    with pytest.raises(HessianMemoryError, match="hessian.memory_budget_gb"):
        range_eigenvalues(model, x, y, memory_budget_gb=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_one_hidden_layer_relu_net_has_at_most_c_minus_1_negative_eigenvalues_per_unit(seed):
    """Why Fig. 6's fraction is ~1% (paper_cpu: exactly 9 n of M = 795 n + 10 at every width):
    R couples each hidden unit's output weights (C of them) with its input weights through
    sum_c r_ic = 0, so R has at most (C - 1) n negative eigenvalues, and adding the positive
    semi-definite G cannot add any (Weyl). Checked on the dense oracle, trained and not."""
    n, classes = 6, 4
    model, x, y = mlp_case(nn.ReLU, widths=(15, n), n_classes=classes, n=30, seed=seed)
    for case in ((model, x, y), trained((model, x, y))):
        values = np.linalg.eigvalsh(reference_hessian(*case).numpy())
        assert 0 < len(negative_part(values)) <= (classes - 1) * n


def test_on_cuda_the_free_device_memory_is_checked_before_anything_moves(monkeypatch):
    """Runs without a GPU: torch.cuda.mem_get_info is faked; the refusal must come before the
    model or data are sent to the device (which would fail here)."""
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (2**20, 80 * 2**30))  # 1 MiB free
    model, x, y = CASES["wide_mlp"]()
    with pytest.raises(HessianMemoryError, match=r"through its range .* cuda has 0\.00 GiB free \(of 80\.00 GiB\)"):
        range_eigenvalues(model, x, y, device="cuda", memory_budget_gb=100)
