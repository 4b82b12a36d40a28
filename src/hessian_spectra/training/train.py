"""Training with a constant step size: GD (full batch) or SGD (mini-batches), resumable.

A run lives in one folder:

* ``checkpoints/step_<t>.pt``: model state, step and metrics so far, written every
  ``checkpoint_every`` steps, at the ``log_checkpoints``-per-decade steps 1, 2, 3, 6, 10, ...
  (for spectra along training), at step 0 and at the end (atomically); with
  ``keep_checkpoints`` > 0 only that many of the newest regular ones are kept (besides
  step 0 and the log-spaced ones);
* ``init.pt`` and ``final.pt``: the weights at step 0 and at the end;
* ``metrics.csv``: step, train loss/accuracy, full-batch gradient norm, test loss/accuracy.

Rerunning after an interruption continues from the newest checkpoint. The mini-batch of
step t is a function of (seed, t) only, so a resumed run takes exactly the steps an
uninterrupted run would have taken and ends at the same weights.

On a GPU the loop needs no host round trip per step where nothing per step decides
anything: the data and each epoch's mini-batch order live on the device, and SGD without
a per-step stopping test checks that loss and gradient stay finite on the device, reading
the verdict at every metrics row, checkpoint and the end (so a non-finite step is still
reported by its number, and no checkpoint or final file holds its weights).
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..base.io import atomic_path, save_text
from ..base.progress import progress
from ..data.split import Split

log = logging.getLogger(__name__)
ALGORITHMS = ("gd", "sgd")
#: which gradient's norm the stopping test of SGD compares with ``grad_tol``
STOP_RULES = ("full_batch", "mini_batch")
METRIC_FIELDS = ("step", "train_loss", "train_accuracy", "grad_norm", "test_loss", "test_accuracy")


@dataclass(frozen=True)
class TrainSettings:
    """How to train: ``algorithm`` gd|sgd, constant step ``lr``, SGD ``batch_size``, stop at
    gradient norm < ``grad_tol`` or after ``max_steps``. GD tests the full-batch gradient at
    every step; SGD, by ``stop_on``, the full-batch gradient every ``eval_every`` steps
    (``full_batch``) or the gradient of each step's own mini-batch (``mini_batch``, before
    the step is taken). Metrics every ``eval_every`` steps, on the full training and test
    sets, ``eval_batch_size`` examples per pass (0: all at once); checkpoints every
    ``checkpoint_every`` steps and, when ``log_checkpoints`` > 0, at that many log-spaced
    steps per decade (``log_spaced_steps``); ``keep_checkpoints`` > 0 keeps only that many
    of the newest regular checkpoints (0 keeps all)."""

    algorithm: str
    lr: float
    max_steps: int
    grad_tol: float
    batch_size: int = 0
    eval_every: int = 100
    checkpoint_every: int = 1000
    seed: int = 0
    log_checkpoints: int = 0
    stop_on: str = "full_batch"
    eval_batch_size: int = 0
    keep_checkpoints: int = 0

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        if self.algorithm == "sgd" and self.batch_size < 1:
            raise ValueError(f"sgd needs batch_size >= 1, got {self.batch_size}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr}")
        if self.stop_on not in STOP_RULES:
            raise ValueError(f"stop_on must be one of {STOP_RULES}, got {self.stop_on!r}")
        for field in ("log_checkpoints", "eval_batch_size", "keep_checkpoints"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field} must be >= 0, got {getattr(self, field)}")

    @property
    def checks_every_step(self) -> bool:
        """Whether a per-step gradient norm decides something (GD's stopping test, SGD's
        mini-batch one), so the loop reads it on the host at every step anyway."""
        return self.algorithm == "gd" or (self.stop_on == "mini_batch" and self.grad_tol > 0)

    def checkpoint_due(self, step: int) -> bool:
        """Whether training writes a checkpoint after ``step`` steps (besides 0 and the end)."""
        return step % self.checkpoint_every == 0 or step in _log_steps(self.log_checkpoints, self.max_steps)


class NonFiniteError(FloatingPointError):
    """Training met a non-finite loss or gradient; nothing final was written."""


@dataclass(frozen=True)
class TrainResult:
    steps: int
    converged: bool
    final_grad_norm: float


def _chunks(n: int, chunk_size: int) -> list[slice]:
    """Consecutive slices of at most ``chunk_size`` (all of 0..n at once for 0)."""
    size = chunk_size or n
    return [slice(start, min(start + size, n)) for start in range(0, n, size)]


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 0) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on (x, y), ``chunk_size`` examples per
    pass (0: one pass; chunks sum the per-example losses in float64). One host read."""
    with torch.no_grad():
        if not chunk_size or chunk_size >= len(x):
            logits = model(x)
            return (nn.functional.cross_entropy(logits, y).item(),
                    (logits.argmax(1) == y).double().mean().item())
        loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
        correct = torch.zeros((), dtype=torch.float64, device=x.device)
        for part in _chunks(len(x), chunk_size):
            logits = model(x[part])
            loss_sum += nn.functional.cross_entropy(logits, y[part], reduction="sum").double()
            correct += (logits.argmax(1) == y[part]).double().sum()
        loss, accuracy = (torch.stack([loss_sum, correct]) / len(x)).tolist()
        return loss, accuracy


def log_spaced_steps(per_decade: int, last: int) -> list[int]:
    """The steps round(10 ** (j / per_decade)), j = 0, 1, ..., up to ``last``, without
    repeats: 1, 2, 3, 6, 10, 18, 32, 56, 100, ... for 4 per decade. Empty for 0."""
    if per_decade <= 0 or last < 1:
        return []
    exponents = np.arange(0, np.log10(last) * per_decade + 1) / per_decade
    return sorted({int(s) for s in np.round(10.0 ** exponents) if s <= last})


@functools.cache
def _log_steps(per_decade: int, last: int) -> frozenset[int]:
    return frozenset(log_spaced_steps(per_decade, last))


def _squared_grad_norm(model: nn.Module) -> torch.Tensor:
    return sum((p.grad.double() ** 2).sum() for p in model.parameters())


def _grad_norm(model: nn.Module) -> float:
    return torch.sqrt(_squared_grad_norm(model)).item()


def _checked_grad_norm(loss: torch.Tensor, model: nn.Module, step: int, lr: float) -> float:
    """The gradient norm of ``step`` (as ``_grad_norm``); raise ``NonFiniteError`` when it or
    the loss is NaN or infinite. One host synchronisation for both."""
    loss_value, squares = torch.stack([loss.detach().double(), _squared_grad_norm(model)]).tolist()
    if not (math.isfinite(loss_value) and math.isfinite(squares)):
        raise NonFiniteError(f"training diverged at step {step}: loss {loss_value}, squared gradient norm "
                             f"{squares} (step size {lr}); lower the step size")
    return math.sqrt(squares)


def full_gradient_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, chunk_size: int = 0) -> float:
    """Euclidean norm of the gradient of the mean loss over (x, y), accumulated over passes
    of ``chunk_size`` examples (0: one pass)."""
    model.zero_grad(set_to_none=True)
    if not chunk_size or chunk_size >= len(x):
        nn.functional.cross_entropy(model(x), y).backward()
    else:
        for part in _chunks(len(x), chunk_size):
            (nn.functional.cross_entropy(model(x[part]), y[part], reduction="sum") / len(x)).backward()
    norm = _grad_norm(model)
    model.zero_grad(set_to_none=True)
    return norm


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    """The permutation of the n training examples that SGD walks through in ``epoch``."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def batches_per_epoch(n: int, batch_size: int) -> int:
    return max(n // batch_size, 1)


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> np.ndarray:
    """Indices of the SGD mini-batch of ``step``: epoch e = step // (n // batch_size) uses
    ``epoch_order(seed, e, n)``; the incomplete last batch of an epoch is dropped."""
    epoch, position = divmod(step, batches_per_epoch(n, batch_size))
    return epoch_order(seed, epoch, n)[position * batch_size : (position + 1) * batch_size]


class _DeviceBatches:
    """``batch_indices`` as device tensors: each epoch's order is copied to the device once."""

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device):
        self.n, self.batch_size, self.seed, self.device = n, batch_size, seed, device
        self.epoch, self.order = -1, None

    def __call__(self, step: int) -> torch.Tensor:
        epoch, position = divmod(step, batches_per_epoch(self.n, self.batch_size))
        if epoch != self.epoch:
            self.epoch = epoch
            self.order = torch.from_numpy(epoch_order(self.seed, epoch, self.n)).to(self.device)
        return self.order[position * self.batch_size : (position + 1) * self.batch_size]


class _FiniteWatch:
    """The first step whose loss or gradient was not finite, kept on the device (no host
    read per step); ``check`` reads it once and raises ``NonFiniteError`` naming the step."""

    def __init__(self, device: torch.device, lr: float):
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)
        self.lr = lr

    def update(self, loss: torch.Tensor, model: nn.Module, step: int) -> None:
        finite = torch.isfinite(loss.detach()) & torch.isfinite(_squared_grad_norm(model))
        self.first_bad = torch.where(~finite & (self.first_bad < 0), step, self.first_bad)

    def check(self) -> None:
        step = int(self.first_bad)
        if step >= 0:
            raise NonFiniteError(f"training diverged at step {step}: the loss or the gradient is not finite "
                                 f"(step size {self.lr}); lower the step size")


def save_torch(obj, path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically (a checkpoint is whole or absent)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _checkpoints(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "checkpoints").glob("step_*.pt"))


def _save_checkpoint(run_dir: Path, model: nn.Module, step: int, rows: list[dict], converged: bool,
                     fingerprint: dict) -> None:
    state = {"model": model.state_dict(), "step": step, "metrics": rows, "converged": converged,
             "fingerprint": fingerprint}
    save_torch(state, run_dir / "checkpoints" / f"step_{step:08d}.pt")


def _prune_checkpoints(run_dir: Path, settings: TrainSettings) -> None:
    """Delete all but the ``keep_checkpoints`` newest regular checkpoints (never step 0 or
    a log-spaced one); nothing when it is 0."""
    if not settings.keep_checkpoints:
        return
    kept = _log_steps(settings.log_checkpoints, settings.max_steps) | {0}
    regular = [path for path in _checkpoints(run_dir) if int(path.stem.removeprefix("step_")) not in kept]
    for path in regular[: -settings.keep_checkpoints]:
        path.unlink()


def _load(path: Path, device: torch.device) -> dict:
    return torch.load(path, map_location=device, weights_only=True)


def _metrics_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.10g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def train(model: nn.Module, data: Split, settings: TrainSettings, run_dir: str | Path, *,
          device: torch.device = torch.device("cpu"), show_progress: bool = True,
          callback: Callable[[int, nn.Module], None] | None = None,
          fingerprint: dict | None = None) -> TrainResult:
    """Train ``model`` in place on ``data`` and write the run folder (see module docstring).

    ``callback(step, model)`` runs after every step (e.g. for tests that interrupt a run).
    Resumes from the newest checkpoint in ``run_dir`` when there is one and it was made
    with the same settings and ``fingerprint`` (whatever else defines the run: model,
    data); checkpoints of other settings are deleted and training starts afresh.

    Long (about 95 lines) on purpose: resuming, the step, the evaluations, the stopping
    rules and the checkpoints share the loop's state (step, rows, the generator's position),
    and a resumed run must end at the weights of an uninterrupted one; one body keeps that
    order of operations readable in one place.
    """
    fingerprint = {"settings": asdict(settings), **(fingerprint or {})}
    run_dir = Path(run_dir)
    model.to(device)
    x, y = (t.to(device) for t in data.tensors("train"))
    x_test, y_test = (t.to(device) for t in data.tensors("test"))
    rows: list[dict] = []
    step, converged = 0, False
    existing = _checkpoints(run_dir)
    if existing and _load(existing[-1], device)["fingerprint"] != fingerprint:
        log.info("checkpoints in %s were made with other settings: starting afresh", run_dir)
        for path in existing:
            path.unlink()
        existing = []
    if existing:
        state = _load(existing[-1], device)
        model.load_state_dict(state["model"])
        step, rows, converged = state["step"], state["metrics"], state["converged"]
        log.info("resuming from %s (step %d)", existing[-1], step)
    else:
        _save_checkpoint(run_dir, model, 0, rows, False, fingerprint)
    optimizer = torch.optim.SGD(model.parameters(), lr=settings.lr)
    chunk = settings.eval_batch_size
    watch = None if settings.checks_every_step else _FiniteWatch(device, settings.lr)
    batches = _DeviceBatches(len(x), settings.batch_size, settings.seed, device) if settings.algorithm == "sgd" else None

    def record(grad_norm: float) -> None:
        train_loss, train_acc = evaluate(model, x, y, chunk)
        test_loss, test_acc = evaluate(model, x_test, y_test, chunk)
        rows.append(dict(step=step, train_loss=train_loss, train_accuracy=train_acc,
                         grad_norm=grad_norm, test_loss=test_loss, test_accuracy=test_acc))

    bar = progress(total=settings.max_steps, initial=step, desc=f"train {run_dir.name}",
                   disable=not show_progress)
    grad_norm = float("nan")
    full_batch_stop = settings.algorithm == "gd" or settings.stop_on == "full_batch"
    while not converged and step < settings.max_steps:
        evaluate_now = step % settings.eval_every == 0
        if settings.algorithm == "gd":
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            grad_norm = _checked_grad_norm(loss, model, step, settings.lr)  # full batch: the stopping test is free
        elif evaluate_now:
            if watch is not None:
                watch.check()
            grad_norm = full_gradient_norm(model, x, y, chunk)
        below = full_batch_stop and grad_norm < settings.grad_tol
        if evaluate_now or below:
            record(grad_norm)
        if below:
            converged = True
            break
        if settings.algorithm == "sgd":
            idx = batches(step)
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            if watch is not None:
                watch.update(loss, model, step)
            elif _checked_grad_norm(loss, model, step, settings.lr) < settings.grad_tol:
                converged = True  # the mini-batch stopping test; the end of the loop records the full-batch norm
                break
        optimizer.step()
        step += 1
        bar.update()
        if settings.checkpoint_due(step):
            if watch is not None:
                watch.check()
            _save_checkpoint(run_dir, model, step, rows, converged, fingerprint)
            _prune_checkpoints(run_dir, settings)
        if callback is not None:
            callback(step, model)
    bar.close()
    if watch is not None:
        watch.check()
    grad_norm = full_gradient_norm(model, x, y, chunk)
    if not rows or rows[-1]["step"] != step:
        record(grad_norm)
    _save_checkpoint(run_dir, model, step, rows, converged, fingerprint)
    init = _load(_checkpoints(run_dir)[0], torch.device("cpu"))
    save_torch({"model": init["model"], "step": 0}, run_dir / "init.pt")
    save_torch({"model": model.state_dict(), "step": step, "converged": converged,
                "settings": asdict(settings)}, run_dir / "final.pt")
    save_text(run_dir / "metrics.csv", _metrics_csv(rows))
    log.info("stopped at step %d, converged=%s, grad norm %.3g", step, converged, grad_norm)
    return TrainResult(steps=step, converged=converged, final_grad_norm=grad_norm)
