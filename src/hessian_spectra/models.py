"""Model builders."""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def mlp(in_features: int, hidden: list[int], out_features: int, activation: str = "relu",
        bias: bool = True) -> nn.Sequential:
    """Fully connected net in -> hidden[0] -> ... -> out, the activation after every hidden
    layer, logits out (softmax lives in the loss). PyTorch's default initialisation."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    widths = [in_features, *hidden, out_features]
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(n_in, n_out, bias=bias))
        if i < len(hidden):
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)
