"""The image sources the config may name, and the shape of their images. Kept apart from
``images`` (which needs scikit-learn or torchvision to load anything) so that the workflow
can size its models at parse time without importing either."""

from __future__ import annotations

#: source -> (channels, height, width) of its images
INPUT_SHAPES: dict[str, tuple[int, int, int]] = {"digits": (1, 8, 8), "mnist": (1, 28, 28),
                                                 "fashion_mnist": (1, 28, 28)}
