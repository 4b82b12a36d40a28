"""Sizes the workflow needs before any job runs: a model's parameter count M from its
config section, and the memory of dense M x M float64 matrices. Pure arithmetic (no
torch), so the Snakefile can size each Hessian job's memory and choose its spectrum
method at parse time; ``models`` builds the nets from the same shape arithmetic, and a
test checks the count against the built nets."""

from __future__ import annotations

FLOAT64_BYTES = 8
BUDGET_FIELD = "hessian.memory_budget_gb"  # the config field that bounds the dense matrices
POOL = 2  # the Family C convnet: 2x2 max-pools after each conv


def conv_stack_shape(input_shape, channels, kernel_size: int, padding: int, pool: int = POOL,
                     pool_stride: int | None = None) -> tuple[int, int, int]:
    """(channels, height, width) after conv -> ReLU -> max-pool stages: ``pool`` x ``pool``
    windows with stride ``pool_stride`` (default ``pool``: the Family C convnet's 2x2).

    Raises ValueError when a conv output is smaller than the pool."""
    stride = pool_stride or pool
    _, height, width = input_shape
    for _ in channels:
        height = height + 2 * padding - kernel_size + 1
        width = width + 2 * padding - kernel_size + 1
        if height < pool or width < pool:
            raise ValueError(
                f"input_shape={tuple(input_shape)} is too small for kernel_size={kernel_size}, "
                f"padding={padding} and {len(channels)} {pool}x{pool} max-pools (a conv output is {height}x{width})")
        height, width = (height - pool) // stride + 1, (width - pool) // stride + 1
    return channels[-1], height, width


def _linear(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def _fully_connected(model: dict) -> list[int]:
    """The hidden widths after a conv stack: one for the convnet, a list for the AlexNet-style net."""
    return [model["hidden"]] if model["kind"] == "convnet" else list(model["hidden"])


def _pooling(model: dict) -> tuple[int, int]:
    return (POOL, POOL) if model["kind"] == "convnet" else (model["pool"], model["pool_stride"])


def layer_sizes(model: dict) -> list[int]:
    """The parameter count of each affine layer (weight and bias) of the net a run's
    ``model`` section describes (``kind`` mlp | convnet | alexnet), input to output."""
    if model["kind"] == "mlp":
        widths = [model["in_features"], *model["hidden"], model["out_features"]]
        return [_linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
    if model["kind"] in ("convnet", "alexnet"):
        k, channels = model["kernel_size"], model["channels"]
        convs = [_linear(c_in * k * k, c_out) for c_in, c_out in zip((model["input_shape"][0], *channels[:-1]), channels)]
        c, h, w = conv_stack_shape(model["input_shape"], channels, k, model["padding"], *_pooling(model))
        widths = [c * h * w, *_fully_connected(model), model["out_features"]]
        return convs + [_linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
    raise ValueError(f"model kind must be mlp, convnet or alexnet, got {model['kind']!r}")


def parameter_count(model: dict) -> int:
    """M of the net a run's ``model`` section describes (``kind`` mlp | convnet | alexnet,
    with biases)."""
    return sum(layer_sizes(model))


def range_dimension(model: dict, n_samples: int) -> int | None:
    """r, the size of the basis ``hessian_range`` diagonalises H in for this net on
    ``n_samples`` samples: N C (the Gauss-Newton part's rows) plus twice the parameters
    outside the largest layer. None when the net is not piecewise linear in each layer
    (an MLP with tanh), where that basis does not hold the Hessian's range."""
    if model["kind"] == "mlp" and model.get("activation", "relu") != "relu":
        return None
    sizes = layer_sizes(model)
    return range_basis_size(sum(sizes), max(sizes), n_samples, model["out_features"])


def range_basis_size(num_params: int, largest_layer: int, n_samples: int, n_classes: int) -> int:
    """r = N C + 2 |S|: the Gauss-Newton rows, and e_j and R e_j for the |S| = M - (largest
    layer's parameters) positions outside the largest layer (``hessian_range``)."""
    return n_samples * n_classes + 2 * (num_params - largest_layer)


def range_matrices_bytes(num_params: int, dimension: int) -> int:
    """Peak bytes of ``hessian_range``: the M x r basis and its orthonormalised copy (QR),
    the columns R E_S (M x |S|, |S| <= r / 2), and three r x r matrices (QR's triangle,
    the projected Hessian, eigvalsh's workspace)."""
    return (2 * num_params * dimension + num_params * dimension // 2 + 3 * dimension * dimension) * FLOAT64_BYTES


def dense_matrices_bytes(num_params: int, n_matrices: int = 1) -> int:
    """Peak bytes to hold ``n_matrices`` dense float64 M x M matrices, plus the workspace of
    one more (eigvalsh and the residual R = H - G need a copy)."""
    return (n_matrices + 1) * num_params * num_params * FLOAT64_BYTES


JOB_BASE_MB = 1000  # torch, the data and the model: a Hessian job's memory beyond its matrices
LANCZOS_BASIS_BYTES = 2 * 2**30  # the Lanczos basis's memory (``lanczos.edge_eigenvalues``'s default cap)


def spectrum_memory_mb(spectrum: dict) -> int:
    """The memory (MB) a spectrum job asks for, from its run's ``spectrum`` section: the
    dense matrices with workspace (exact method; three with the G/R split), the range
    method's matrices, or the Lanczos basis, plus ``JOB_BASE_MB``."""
    if spectrum["method"] == "exact":
        need = dense_matrices_bytes(spectrum["num_params"], 3 if spectrum["decompose"] else 1)
    elif spectrum["method"] == "range":
        need = range_matrices_bytes(spectrum["num_params"], spectrum["dimension"])
    else:
        need = LANCZOS_BASIS_BYTES
    return JOB_BASE_MB + -(-need // 2**20)


#: seconds per M^3 of a dense float64 eigensolve on 2 CPU cores (M = 23,860: 382 s,
#: benchmarks/scale/paper_scale.py); the assembly costs far less
EIGVALSH_SECONDS_PER_M3 = 2.8e-11


def spectrum_runtime_min(spectrum: dict) -> int:
    """The wall time (minutes) a spectrum job asks a cluster for: 30 plus twice the measured
    2-core eigensolve time for the exact method (M = 55,660: 191 min), 120 for Lanczos edges
    and the SLQ density."""
    if spectrum["method"] != "exact":
        return 120
    return 30 + -(-2 * EIGVALSH_SECONDS_PER_M3 * spectrum["num_params"] ** 3 // 60)
