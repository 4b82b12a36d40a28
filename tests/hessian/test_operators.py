"""Hessian-vector products (``operators``) against float64 oracles: ``torch.func.hessian``
of the loss, dense matrices, and each other (all float64)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cases import DTYPE, MLP_CASES, SPECTRUM_CASES, conv_case, mlp_case, reference_hessian, rel_max_diff
from hessian_spectra.hessian.operators import HessianOperator, MatrixOperator

PRODUCT_CASES = ["relu", "tanh_deep", "no_bias"]  # keys of MLP_CASES


@pytest.mark.parametrize("batch_size", [None, 5])  # 23 samples: batches of 5 leave one of 3
@pytest.mark.parametrize("engine", ["mlp", "autograd"])
@pytest.mark.parametrize("case", PRODUCT_CASES)
def test_products_against_torch_func_hessian(case, engine, batch_size):
    model, x, y = MLP_CASES[case]()
    dense = reference_hessian(model, x, y)
    operator = HessianOperator(model, x, y, engine=engine, batch_size=batch_size, block_size=3)
    generator = torch.Generator().manual_seed(0)
    block = torch.randn(operator.size, 7, dtype=DTYPE, generator=generator)  # 3 + 3 + 1 columns
    assert rel_max_diff(operator.matmat(block), dense @ block) < 1e-12
    assert rel_max_diff(operator.matvec(block[:, 0]), dense @ block[:, 0]) < 1e-12
    assert operator.n_products == 8


@pytest.mark.parametrize("engine", ["mlp", "autograd"])
def test_products_against_torch_func_hessian_on_a_tiny_net(engine):
    model, x, y = mlp_case(nn.Tanh, widths=(3, 2), n_classes=2, n=5, seed=6)  # M = 14
    dense = reference_hessian(model, x, y)
    operator = HessianOperator(model, x, y, engine=engine)
    assert rel_max_diff(operator.matmat(torch.eye(operator.size, dtype=DTYPE)), dense) < 1e-12


def test_convnet_products_against_torch_func_hessian():
    model, x, y = conv_case()
    operator = HessianOperator(model, x, y, batch_size=4)  # "auto" must fall back to autograd
    assert operator.engine == "autograd"
    dense = reference_hessian(model, x, y)
    block = torch.randn(operator.size, 4, dtype=DTYPE, generator=torch.Generator().manual_seed(1))
    assert rel_max_diff(operator.matmat(block), dense @ block) < 1e-12
    assert rel_max_diff(operator @ block[:, 1], dense @ block[:, 1]) < 1e-12


@pytest.mark.parametrize("engine", ["mlp", "autograd"])
def test_block_product_equals_column_products_and_batches_do_not_matter(engine):
    model, x, y = MLP_CASES["relu"]()
    whole = HessianOperator(model, x, y, engine=engine)
    uneven = HessianOperator(model, x, y, engine=engine, batch_size=5, block_size=2)
    block = torch.randn(whole.size, 5, dtype=DTYPE, generator=torch.Generator().manual_seed(2))
    columns = torch.stack([whole.matvec(block[:, i]) for i in range(5)], dim=1)
    scale = columns.abs().max().item()
    assert torch.allclose(whole.matmat(block), columns, rtol=0, atol=1e-14 * scale)
    assert torch.allclose(uneven.matmat(block), columns, rtol=0, atol=1e-14 * scale)


def test_engines_agree_on_a_larger_mlp():
    model, x, y = SPECTRUM_CASES["tanh_1208"]()
    block = torch.randn(1208, 6, dtype=DTYPE, generator=torch.Generator().manual_seed(3))
    fast = HessianOperator(model, x, y, engine="mlp", batch_size=33).matmat(block)
    generic = HessianOperator(model, x, y, engine="autograd").matmat(block)
    assert rel_max_diff(fast, generic) < 1e-12


def test_model_is_not_modified_and_float32_models_give_float64_products():
    model, x, y = MLP_CASES["relu"]()
    model32 = model.float()
    before = [p.clone() for p in model32.parameters()]
    operator = HessianOperator(model32, x.float(), y)
    product = operator.matvec(torch.ones(operator.size, dtype=DTYPE))
    assert product.dtype == torch.float64
    assert all(torch.equal(a, b) and b.dtype == torch.float32 and b.grad is None
               for a, b in zip(before, model32.parameters()))


def test_matrix_operator_is_the_matrix_and_counts_its_products():
    matrix = torch.randn(6, 6, dtype=DTYPE, generator=torch.Generator().manual_seed(4))
    matrix = matrix + matrix.T
    operator = MatrixOperator(matrix)
    block = torch.randn(6, 3, dtype=DTYPE, generator=torch.Generator().manual_seed(5))
    assert operator.size == 6 and operator.dtype == DTYPE
    assert torch.equal(operator.matmat(block), matrix @ block)
    assert torch.equal(operator.matvec(block[:, 0]), matrix @ block[:, 0])
    assert operator.n_products == 4
    with pytest.raises(ValueError, match="square"):
        MatrixOperator(matrix[:, :5])


def test_bad_arguments_are_rejected():
    model, x, y = conv_case()
    with pytest.raises(ValueError, match="mlp"):
        HessianOperator(model, x, y, engine="mlp")
    with pytest.raises(ValueError, match="engine"):
        HessianOperator(model, x, y, engine="fast")
    with pytest.raises(ValueError, match="targets"):
        HessianOperator(model, x, y[:-1])
    operator = HessianOperator(*MLP_CASES["relu"]())
    with pytest.raises(ValueError, match="block"):
        operator.matmat(torch.ones(3, 2, dtype=DTYPE))
