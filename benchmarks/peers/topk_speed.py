"""Top-20 and bottom-20 Hessian eigenvalues: our Lanczos against the peers.

Problem: the k=50 cluster net of the paper, 100-30-30-50 ReLU with biases (M = 5510
parameters), on N = 1000 points: sklearn ``make_blobs(n_samples=1000, n_features=100,
centers=50, cluster_std=1.0, random_state=0)``, standardized. ``torch.manual_seed(0)``
before building the net, then TRAINED: 2000 steps of full-batch gradient descent, lr 0.1,
float32 (a few seconds; a trained net is the realistic case, and its small end, next to
the dense bulk near zero, is the hard part). All Hessians are of the mean cross-entropy
on the 1000 points in float64.

Exact eigenvalues: ``exact_hessian`` + ``torch.linalg.eigvalsh``, once, not timed.
Each method's error is max |lambda_est - lambda_exact| / max |lambda_exact| over the
eigenvalues it returns (top-20 and bottom-20, in order).

Methods, each timed INCLUDING operator construction, INTERLEAVED: one round calls every
method once, in the table's order, and ``--repeats`` rounds (default and minimum 5) are
run; the table gives each method's median time and its spread as the min and max over
the rounds. Hessian-vector products are counted by wrapping each method's operator;
counts and errors are those of each method's last round.

* ours: ``HessianOperator`` + ``edge_eigenvalues`` (Lanczos, partial reorthogonalization,
  tol=1e-8 on residuals relative to max |lambda|), both ends in one run. The default
  engine for this MLP is ``mlp`` (explicit R-operator); the row "autograd" is the generic
  engine (graph built once, double backward) any module gets. For reference also
  ``method="arpack"`` (eigsh, which="BE") on our operator.
* curvlinops: ``HessianLinearOperator(...).to_scipy()`` + ``scipy.sparse.linalg.eigsh``
  (k=40, which="BE": 20 from each end, default ncv and tol).
* hessian-eigenthings: ``HessianOperator`` + ``lanczos`` (full reorthogonalization) run
  with an increasing number of steps until both ends reach 1e-8 (its default of 2k
  steps misses): the top-20 and bottom-20 Ritz values of one run. That search (one
  untimed run per step count) comes before the rounds, which then time the smallest
  step count that reaches 1e-8 (or the largest tried).
* PyHessian: ``hessian(...).eigenvalues(top_n=20)``: power iteration with deflation,
  top end only (it has no smallest-eigenvalue mode).

Peers that are not installed (``benchmarks/peers/requirements-peers.txt``) or fail get a row
saying so. The last line is ``speedup_vs_fastest_peer=<x> our_max_rel_error=<e>``: x is
the median time of the fastest (by median) peer that reaches 1e-8 on both ends, divided
by the median time of ours (lanczos, default engine); e is our largest relative error.

Run:  .venv/bin/python benchmarks/peers/topk_speed.py [--repeats R] [--threads T]
(about 3 minutes on 2 cores, with other work running)
"""

from __future__ import annotations

import argparse
import copy
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the shared helpers
from _timing import SPREAD, Timing, header, interleaved, repeats_argument

K = 20
TARGET = 1e-8
N_SAMPLES, N_FEATURES, N_CLASSES, HIDDEN = 1000, 100, 50, 30
TRAIN_STEPS, LR = 2000, 0.1
EIGENTHINGS_STEPS = (200, 300, 350, 400, 450, 500, 600, 800)
PYHESSIAN_MAX_ITER = 100


def build_problem(train_steps: int = TRAIN_STEPS) -> tuple[nn.Module, Tensor, Tensor, float]:
    """The trained float32 net, the float64 inputs and the targets, and the final loss."""
    from sklearn.datasets import make_blobs
    from sklearn.preprocessing import StandardScaler

    features, labels = make_blobs(n_samples=N_SAMPLES, n_features=N_FEATURES, centers=N_CLASSES,
                                  cluster_std=1.0, random_state=0)
    inputs = torch.as_tensor(StandardScaler().fit_transform(features), dtype=torch.float32)
    targets = torch.as_tensor(labels, dtype=torch.long)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(N_FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(),
                          nn.Linear(HIDDEN, N_CLASSES))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    loss = nn.functional.cross_entropy(model(inputs), targets)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # setup only: one thread trains in seconds even on a busy machine
    try:
        for _ in range(train_steps):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(inputs), targets)
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return model, inputs.double(), targets, loss.item()


@dataclass
class Row:
    name: str
    timing: Timing
    hvps: int | None = None
    top_error: float = math.nan
    bottom_error: float = math.nan
    note: str = ""

    @property
    def max_error(self) -> float:
        errors = [e for e in (self.top_error, self.bottom_error) if not math.isnan(e)]
        return max(errors) if errors else math.nan

    @property
    def reaches_target(self) -> bool:
        return self.timing.ok and self.top_error <= TARGET and self.bottom_error <= TARGET


def errors(top: np.ndarray | None, bottom: np.ndarray | None, exact: np.ndarray) -> tuple[float, float]:
    """Max relative errors (to max |lambda|) of the returned top (descending) and bottom (ascending)."""
    scale = np.abs(exact).max()

    def err(values, reference):
        if values is None:
            return math.nan
        values = np.asarray(values, dtype=np.float64)
        if len(values) < K:
            return math.inf
        return float(np.abs(values[:K] - reference[:K]).max() / scale)

    return err(top, exact[::-1]), err(bottom, exact)


class CountingOperator:
    """Wraps an operator with ``matmat`` and counts the columns it multiplies."""

    def __init__(self, operator):
        self.operator = operator
        self.size, self.dtype, self.device = operator.size, operator.dtype, operator.device
        self.count = 0

    def matmat(self, block: Tensor) -> Tensor:
        self.count += block.shape[1]
        return self.operator.matmat(block)


# ------------------------------------------------------------------------------ methods


def run_ours(model, x, y, method: str = "lanczos", engine: str = "auto"):
    from hessian_spectra.hessian.operators import HessianOperator
    from hessian_spectra.spectra.edges import edge_eigenvalues

    hessian = HessianOperator(model, x, y, engine=engine)
    operator = CountingOperator(hessian)
    result = edge_eigenvalues(operator, K, which="both", tol=TARGET, method=method)
    if result.n_products != operator.count:
        raise RuntimeError(f"our count {result.n_products} != wrapped count {operator.count}")
    note = (f"{hessian.engine} engine; converged={result.converged}, "
            f"max residual/scale {result.residual_norms.max() / result.scale:.1e}")
    return result.largest, result.smallest, operator.count, note


def run_curvlinops(model, x, y):
    from curvlinops import HessianLinearOperator
    from scipy.sparse.linalg import eigsh

    class Counted(HessianLinearOperator):
        count = 0

        def _matmat(self, M):
            Counted.count += M[0].shape[-1]
            return super()._matmat(M)

    Counted.count = 0
    net = copy.deepcopy(model).double()
    params = [p for p in net.parameters() if p.requires_grad]
    operator = Counted(net, nn.CrossEntropyLoss(), params, [(x, y)]).to_scipy()
    values = eigsh(operator, k=2 * K, which="BE", return_eigenvectors=False,
                   v0=np.random.default_rng(0).standard_normal(operator.shape[0]))
    values = np.sort(values)
    return values[::-1][:K], values[:K], Counted.count, "eigsh k=40 which=BE (incl. its determinism check)"


def run_eigenthings(model, x, y, steps: int):
    import hessian_eigenthings as he

    class Counted(he.HessianOperator):
        count = 0

        def matvec(self, v):
            Counted.count += 1
            return super().matvec(v)

    Counted.count = 0
    net = copy.deepcopy(model).double()
    operator = Counted(net, [(x, y)], he.supervised_loss(nn.functional.cross_entropy))
    result = he.lanczos(operator, k=steps, max_iter=steps, which="LA", reorthogonalize=True, seed=0)
    values = np.sort(result.eigenvalues.cpu().numpy())
    return values[::-1][:K], values[:K], Counted.count, f"lanczos {steps} steps, full reorthogonalization"


def run_pyhessian(model, x, y):
    from pyhessian import hessian

    import sys

    net = copy.deepcopy(model).double()
    counter = {"n": 0}
    module = sys.modules["pyhessian.hessian"]  # the package re-exports the class under the module's name

    original = module.hessian_vector_product

    def counted(gradsH, params, v):
        counter["n"] += 1
        return original(gradsH, params, v)

    module.hessian_vector_product = counted
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # its random vectors are created with the default dtype
    try:
        engine = hessian(net, nn.CrossEntropyLoss(), data=(x, y), cuda=False)
        values, _ = engine.eigenvalues(maxIter=PYHESSIAN_MAX_ITER, tol=1e-10, top_n=K)
    finally:
        torch.set_default_dtype(default_dtype)
        module.hessian_vector_product = original
    return (np.sort(np.asarray(values))[::-1], None, counter["n"],
            f"power iteration, top only, maxIter={PYHESSIAN_MAX_ITER}/eigenvalue, tol=1e-10")


def eigenthings_steps(model, x, y, exact: np.ndarray) -> int:
    """The smallest of ``EIGENTHINGS_STEPS`` whose hessian-eigenthings run reaches ``TARGET``
    on both ends, else the largest; one untimed run per step count tried. A run that
    raises ends the search (the timed rounds then report the failure)."""
    for steps in EIGENTHINGS_STEPS:
        try:
            top, bottom, _, _ = run_eigenthings(model, x, y, steps)
        except Exception:  # noqa: BLE001 - reported by the timed rounds
            return steps
        if max(errors(top, bottom, exact)) <= TARGET:
            return steps
    return EIGENTHINGS_STEPS[-1]


def to_row(name: str, timing: Timing, exact: np.ndarray) -> Row:
    """A table row from a method's timing and its last result."""
    if not timing.ok:
        hint = "; see benchmarks/peers/requirements-peers.txt" if isinstance(timing.error, ImportError) else ""
        return Row(name, timing, note=timing.failure + hint)
    top, bottom, hvps, note = timing.result
    return Row(name, timing, hvps, *errors(top, bottom, exact), note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    repeats_argument(parser)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads for every method (default 1: on a shared machine two "
                             "OpenMP threads per process make all timings erratic; 0 keeps torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from hessian_spectra.hessian.dense import exact_hessian

    start = time.perf_counter()
    model, x, y, loss = build_problem()
    train_seconds = time.perf_counter() - start
    n_params = sum(p.numel() for p in model.parameters())
    exact = torch.linalg.eigvalsh(exact_hessian(model, x, y)).numpy()
    print(f"problem: 100-30-30-50 ReLU MLP, M={n_params}, N={N_SAMPLES}, trained {TRAIN_STEPS} GD steps "
          f"(lr {LR}, float32, {train_seconds:.1f} s, final loss {loss:.2e}); float64 Hessian; "
          f"{torch.get_num_threads()} threads; {args.repeats} interleaved rounds")
    print(f"exact: lambda_max={exact[-1]:.6g} lambda_min={exact[0]:.6g}; "
          f"errors are relative to max|lambda|={np.abs(exact).max():.6g}")

    steps = eigenthings_steps(model, x, y, exact)
    ours_methods = {
        "ours (lanczos)": lambda: run_ours(model, x, y),
        "ours (lanczos, autograd)": lambda: run_ours(model, x, y, engine="autograd"),
        "ours (arpack, reference)": lambda: run_ours(model, x, y, "arpack"),
    }
    peer_methods = {
        "curvlinops + eigsh": lambda: run_curvlinops(model, x, y),
        "hessian-eigenthings": lambda: run_eigenthings(model, x, y, steps),
        "pyhessian": lambda: run_pyhessian(model, x, y),
    }
    timings = interleaved(ours_methods | peer_methods, args.repeats, may_fail=peer_methods)
    rows = [to_row(name, timing, exact) for name, timing in timings.items()]
    peers = [row for row in rows if row.name in peer_methods]

    def fmt(value: float) -> str:
        return "      -" if math.isnan(value) else f"{value:7.1e}"

    print(f"\n{'method':26s} {header()} {'HVPs':>6s} {'top err':>8s} {'bot err':>8s}  1e-8  note")
    for row in rows:
        hvps = "     -" if row.hvps is None else f"{row.hvps:6d}"
        ok = "yes " if row.reaches_target else "no  "
        print(f"{row.name:26s} {row.timing.cells()} {hvps} {fmt(row.top_error)} {fmt(row.bottom_error)}  {ok}  "
              f"{row.note}")
    print(f"(times: {SPREAD}; HVPs and errors: each method's last round)")

    ours = rows[0]
    reaching = [row for row in peers if row.reaches_target]
    if reaching:
        fastest = min(reaching, key=lambda row: row.timing.median)
        speedup = fastest.timing.median / ours.timing.median
        print(f"\nfastest peer reaching {TARGET:g} on both ends: {fastest.name} "
              f"(median {fastest.timing.median:.2f} s)")
    else:
        speedup = math.nan
        print(f"\nno peer reaches {TARGET:g} on both ends")
    print(f"speedup_vs_fastest_peer={speedup:.3g} our_max_rel_error={ours.max_error:.3g}")


if __name__ == "__main__":
    main()
