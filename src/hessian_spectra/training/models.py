"""The nets of the paper, built from their config sections (``build_model``) or by hand."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..base.seeding import seeded
from ..config.sizes import conv_stack_shape

#: config name -> activation module
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
#: ``model.init`` values: PyTorch's default initialisation, or the authors' code's (every
#: weight and bias drawn from ``AUTHORS_INIT_STD`` * N(0, 1))
INITS = ("pytorch", "authors")
AUTHORS_INIT_STD = 0.1


def mlp(in_features: int, hidden: list[int], out_features: int, activation: str = "relu",
        bias: bool = True, *, flatten: bool = False) -> nn.Sequential:
    """Fully connected net in -> hidden[0] -> ... -> out, the activation after every hidden
    layer, logits out (softmax lives in the loss). PyTorch's default initialisation.

    ``flatten=True`` puts an ``nn.Flatten()`` first, so the net takes images (N, C, H, W)
    with ``in_features = C * H * W`` (e.g. 784 for MNIST). Flatten has no parameters: the
    weights (and their initialisation under a given seed) are those of the flat net, and
    the structured Hessian engine (``architectures.mlp_layers``) still recognises the stack."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    widths = [in_features, *hidden, out_features]
    layers: list[nn.Module] = [nn.Flatten()] if flatten else []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out, bias=bias))
        if i < len(hidden):
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def convnet(input_shape: tuple[int, int, int] = (1, 28, 28), n_classes: int = 10,
            channels: tuple[int, int] = (10, 20), kernel_size: int = 5, hidden: int = 80,
            padding: int = 0) -> nn.Sequential:
    """The small convnet of Family C (Sagun et al., section 4.2): two conv layers, each
    followed by ReLU and 2x2 max-pool, then flatten -> ``hidden`` -> ``n_classes`` with a
    ReLU between the two fully connected layers; logits out. The flattened size is computed
    from ``input_shape`` (C, H, W). PyTorch's default initialisation.

    MNIST, the defaults: 1x28x28 -conv5-> 10x24x24 -pool-> 10x12x12 -conv5-> 20x8x8
    -pool-> 20x4x4 = 320 -> 80 -> 10; 260 + 5,020 + 25,680 + 810 = 31,770 parameters.

    Digits (8x8), as the default profile configures it (``batch.convnet``): channels
    (8, 16), 3x3 kernels with padding 1, hidden 32: 1x8x8 -conv3-> 8x8x8 -pool-> 8x4x4
    -conv3-> 16x4x4 -pool-> 16x2x2 = 64 -> 32 -> 10; 80 + 1,168 + 2,080 + 330 = 3,658
    parameters.

    Raises ValueError when a conv or pool would leave less than one pixel."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (channels, height, width), got {input_shape!r}")
    if len(channels) != 2:
        raise ValueError(f"channels must name the two conv layers' widths, got {channels!r}")
    flat_channels, height, width = conv_stack_shape(input_shape, channels, kernel_size, padding)
    layers: list[nn.Module] = []
    for n_in, n_out in zip((input_shape[0], *channels[:-1]), channels):
        layers += [nn.Conv2d(n_in, n_out, kernel_size, padding=padding), nn.ReLU(), nn.MaxPool2d(2)]
    flat = flat_channels * height * width
    layers += [nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)]
    return nn.Sequential(*layers)


def alexnet(input_shape: tuple[int, int, int] = (3, 32, 32), n_classes: int = 10,
            channels: tuple[int, ...] = (64, 64), kernel_size: int = 5, padding: int = 2, pool: int = 3,
            pool_stride: int = 2, hidden: tuple[int, ...] = (384, 192)) -> nn.Sequential:
    """The "bare" AlexNet-style convnet of Family D (Sagun et al., section 4.1, which gives
    no sizes; the defaults are the classic CIFAR10 variant, a choice): per conv layer
    Conv -> ReLU -> MaxPool(``pool``, stride ``pool_stride``), then fully connected layers
    of widths ``hidden`` with ReLUs, logits out. No dropout, batch norm or local response
    normalisation. PyTorch's default initialisation.

    CIFAR10 with the defaults: 3x32x32 -conv5 (pad 2)-> 64x32x32 -pool 3/2-> 64x15x15
    -conv5-> 64x15x15 -pool-> 64x7x7 = 3,136 -> 384 -> 192 -> 10; 4,864 + 102,464 +
    1,204,608 + 73,920 + 1,930 = 1,387,786 parameters.

    Raises ValueError when a conv or pool would leave less than one pixel."""
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (channels, height, width), got {input_shape!r}")
    flat_channels, height, width = conv_stack_shape(input_shape, channels, kernel_size, padding, pool, pool_stride)
    layers: list[nn.Module] = []
    for n_in, n_out in zip((input_shape[0], *channels[:-1]), channels):
        layers += [nn.Conv2d(n_in, n_out, kernel_size, padding=padding), nn.ReLU(), nn.MaxPool2d(pool, pool_stride)]
    widths = [flat_channels * height * width, *hidden]
    layers.append(nn.Flatten())
    for n_in, n_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    layers.append(nn.Linear(widths[-1], n_classes))
    return nn.Sequential(*layers)


def build_model(model: dict) -> nn.Sequential:
    """The net a run's ``model`` section describes (``kind`` mlp | convnet | alexnet), initialised from
    its ``seed`` with its ``init`` (``INITS``; default pytorch), drawn from torch's generator
    seeded with it; the global random state is left as it was."""
    init = model.get("init", "pytorch")
    if init not in INITS:
        raise ValueError(f"model init must be one of {', '.join(INITS)}, got {init!r}")
    with seeded(model["seed"]):
        if model["kind"] == "mlp":
            net = mlp(model["in_features"], model["hidden"], model["out_features"], model["activation"],
                      flatten=model.get("flatten", False))
        elif model["kind"] == "convnet":
            net = convnet(tuple(model["input_shape"]), model["out_features"], tuple(model["channels"]),
                          model["kernel_size"], model["hidden"], model["padding"])
        elif model["kind"] == "alexnet":
            net = alexnet(tuple(model["input_shape"]), model["out_features"], tuple(model["channels"]),
                          model["kernel_size"], model["padding"], model["pool"], model["pool_stride"],
                          tuple(model["hidden"]))
        else:
            raise ValueError(f"model kind must be mlp, convnet or alexnet, got {model['kind']!r}")
        if init == "authors":
            with torch.no_grad():
                for parameter in net.parameters():
                    parameter.normal_(0.0, AUTHORS_INIT_STD)
    return net


def load_model(model: dict, checkpoint: str | Path) -> nn.Sequential:
    """``build_model(model)`` with the weights of a training checkpoint (``init.pt``, ``final.pt``)."""
    net = build_model(model)
    net.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    return net
