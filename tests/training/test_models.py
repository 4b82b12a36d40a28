"""The nets (``models``): the paper's convnet and MLPs, built from config sections with an
explicit seed, and handled exactly by the Hessian engines."""

from __future__ import annotations

import pytest
import torch
import yaml

from cases import DTYPE, ROOT, reference_hessian, rel_max_diff
from hessian_spectra.config.sizes import parameter_count
from hessian_spectra.hessian.architectures import mlp_layers
from hessian_spectra.hessian.dense import exact_hessian, num_parameters
from hessian_spectra.training.models import alexnet, build_model, convnet, load_model, mlp

MLP = {"kind": "mlp", "in_features": 5, "hidden": [6], "out_features": 3, "activation": "tanh", "seed": 1}
CONVNET = {"kind": "convnet", "input_shape": [1, 8, 8], "out_features": 10, "channels": [2, 3],
           "kernel_size": 3, "padding": 1, "hidden": 4, "seed": 1}


def _same(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_build_model_is_seeded_and_knows_both_kinds():
    a, b = build_model(MLP), build_model(MLP)
    assert _same(a, b) and not _same(a, build_model({**MLP, "seed": 2}))
    assert num_parameters(a) == 5 * 6 + 6 + 6 * 3 + 3
    assert build_model(CONVNET)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="kind"):
        build_model({**MLP, "kind": "resnet"})


def test_build_model_draws_its_own_seed_and_leaves_the_global_generator_alone():
    """The initialisation is that of PyTorch's default under torch.manual_seed(seed), and
    building a model neither depends on nor moves the caller's random state."""
    torch.manual_seed(0)
    expected = mlp(5, [6], 3, "tanh")  # the global generator at seed 0
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    built = build_model({**MLP, "seed": 0})
    assert torch.equal(torch.random.get_rng_state(), before)
    assert _same(built, expected)


def test_authors_init_draws_every_weight_and_bias_from_a_tenth_of_a_standard_normal():
    """The authors' code: every parameter 0.1 * N(0, 1); seeded, and the PyTorch default
    stays the default."""
    big = {"kind": "mlp", "in_features": 100, "hidden": [30, 30], "out_features": 50, "activation": "relu",
           "seed": 3}
    authors = build_model({**big, "init": "authors"})
    first_weight, first_bias = authors[0].weight.detach(), authors[0].bias.detach()
    assert abs(first_weight.std().item() - 0.1) < 0.005  # PyTorch's default here: 1/sqrt(300) = 0.058
    assert 0.07 < first_bias.std().item() < 0.13  # biases too (PyTorch's default: about 0.058)
    values = torch.cat([p.detach().reshape(-1) for p in authors.parameters()])
    assert abs(values.std().item() - 0.1) < 0.005 and abs(values.mean().item()) < 0.005
    assert _same(authors, build_model({**big, "init": "authors"}))
    assert _same(build_model(big), build_model({**big, "init": "pytorch"}))
    assert not _same(authors, build_model(big))
    with pytest.raises(ValueError, match="pytorch, authors"):
        build_model({**big, "init": "xavier"})


def test_load_model_restores_the_checkpoint_weights(tmp_path):
    trained = build_model({**MLP, "seed": 5})
    torch.save({"model": trained.state_dict()}, tmp_path / "final.pt")
    assert _same(load_model(MLP, tmp_path / "final.pt"), trained)


def test_convnet_for_28x28_has_31770_parameters_and_outputs_logits():
    model = convnet((1, 28, 28))
    # conv 1->10 5x5: 250+10; conv 10->20 5x5: 5000+20; FC 320->80: 25600+80; 80->10: 800+10
    assert num_parameters(model) == 260 + 5020 + 25680 + 810 == 31770
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_default_profile_digits_convnet_has_3658_parameters_and_outputs_logits():
    settings = yaml.safe_load((ROOT / "config" / "default.yaml").read_text())["batch"]["convnet"]
    model = convnet((1, 8, 8), channels=tuple(settings["channels"]), kernel_size=settings["kernel_size"],
                    hidden=settings["hidden"], padding=settings["padding"])
    # conv 1->8 3x3: 72+8; conv 8->16 3x3: 1152+16; FC 16*2*2=64->32: 2048+32; 32->10: 320+10
    assert num_parameters(model) == 80 + 1168 + 2080 + 330 == 3658
    assert model(torch.zeros(4, 1, 8, 8)).shape == (4, 10)


def test_alexnet_for_cifar10_has_1387786_parameters_and_outputs_logits():
    model = alexnet()
    # conv 3->64 5x5: 4800+64; conv 64->64 5x5: 102400+64; FC 64*7*7=3136->384: 1204224+384;
    # 384->192: 73728+192; 192->10: 1920+10
    assert num_parameters(model) == 4864 + 102464 + 1204608 + 73920 + 1930 == 1387786
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert not any(isinstance(m, (torch.nn.Dropout, torch.nn.BatchNorm2d, torch.nn.LocalResponseNorm))
                   for m in model.modules())


def test_alexnet_from_a_config_section_matches_its_parse_time_size():
    section = {"kind": "alexnet", "input_shape": [1, 8, 8], "out_features": 10, "channels": [4, 6],
               "kernel_size": 3, "padding": 1, "pool": 3, "pool_stride": 2, "hidden": [12, 8], "seed": 0}
    model = build_model(section)
    # 1x8x8 -conv-> 4x8x8 -pool 3/2-> 4x3x3 -conv-> 6x3x3 -pool-> 6x1x1 = 6 -> 12 -> 8 -> 10
    assert num_parameters(model) == 40 + 222 + 84 + 104 + 90 == parameter_count(section)
    assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)


def test_convnet_rejects_an_input_too_small_for_its_pools():
    with pytest.raises(ValueError, match="too small"):
        convnet((1, 8, 8), kernel_size=5)


def test_mlp_with_flatten_takes_images_and_matches_the_flat_mlp():
    torch.manual_seed(0)
    flat = mlp(64, [7], 10)
    torch.manual_seed(0)
    images = mlp(64, [7], 10, flatten=True)
    x = torch.randn(5, 1, 8, 8)
    assert images(x).shape == (5, 10)
    assert torch.equal(images(x), flat(x.reshape(5, 64)))
    assert isinstance(flat[0], torch.nn.Linear)  # no Flatten unless asked
    assert mlp_layers(images) is not None and len(mlp_layers(images)) == 2


def test_exact_hessian_of_a_tiny_image_mlp_and_convnet_match_torch_func():
    torch.manual_seed(0)
    x, y = torch.randn(6, 1, 8, 8, dtype=DTYPE), torch.randint(0, 10, (6,))
    for model in (mlp(64, [3], 10, flatten=True),
                  convnet((1, 8, 8), channels=(2, 2), kernel_size=3, padding=1, hidden=4)):
        model = model.to(DTYPE)
        ours = exact_hessian(model, x, y, batch_size=4)
        reference = reference_hessian(model, x, y)
        assert rel_max_diff(ours, reference) < 1e-10
