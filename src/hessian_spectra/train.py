"""Training with a constant step size: GD (full batch) or SGD (mini-batches), resumable.

A run lives in one folder:

* ``checkpoints/step_<t>.pt``: model state, step and metrics so far, written every
  ``checkpoint_every`` steps, at the ``log_checkpoints``-per-decade steps 1, 2, 3, 6, 10, ...
  (for spectra along training), at step 0 and at the end (atomically);
* ``init.pt`` and ``final.pt``: the weights at step 0 and at the end;
* ``metrics.csv``: step, train loss/accuracy, full-batch gradient norm, test loss/accuracy.

Rerunning after an interruption continues from the newest checkpoint. The mini-batch of
step t is a function of (seed, t) only, so a resumed run takes exactly the steps an
uninterrupted run would have taken and ends at the same weights.
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

from .data.split import Split
from .io import atomic_path, save_text
from .progress import progress

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
    the step is taken). Metrics every ``eval_every`` steps, checkpoints every
    ``checkpoint_every`` steps and, when ``log_checkpoints`` > 0, at that many log-spaced
    steps per decade (``log_spaced_steps``)."""

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

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        if self.algorithm == "sgd" and self.batch_size < 1:
            raise ValueError(f"sgd needs batch_size >= 1, got {self.batch_size}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr}")
        if self.stop_on not in STOP_RULES:
            raise ValueError(f"stop_on must be one of {STOP_RULES}, got {self.stop_on!r}")
        if self.log_checkpoints < 0:
            raise ValueError(f"log_checkpoints must be >= 0, got {self.log_checkpoints}")

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


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        logits = model(x)
        return (nn.functional.cross_entropy(logits, y).item(),
                (logits.argmax(1) == y).double().mean().item())


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


def full_gradient_norm(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Euclidean norm of the gradient of the mean loss over (x, y)."""
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    norm = _grad_norm(model)
    model.zero_grad(set_to_none=True)
    return norm


def batch_indices(step: int, n: int, batch_size: int, seed: int) -> np.ndarray:
    """Indices of the SGD mini-batch of ``step``: epoch e = step // (n // batch_size) uses a
    permutation drawn from (seed, e); the incomplete last batch of an epoch is dropped."""
    per_epoch = max(n // batch_size, 1)
    epoch, position = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return order[position * batch_size : (position + 1) * batch_size]


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

    def record(grad_norm: float) -> None:
        train_loss, train_acc = _evaluate(model, x, y)
        test_loss, test_acc = _evaluate(model, x_test, y_test)
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
            grad_norm = full_gradient_norm(model, x, y)
        below = full_batch_stop and grad_norm < settings.grad_tol
        if evaluate_now or below:
            record(grad_norm)
        if below:
            converged = True
            break
        if settings.algorithm == "sgd":
            idx = torch.from_numpy(batch_indices(step, len(x), settings.batch_size, settings.seed))
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x[idx.to(device)]), y[idx.to(device)])
            loss.backward()
            mini_batch_norm = _checked_grad_norm(loss, model, step, settings.lr)
            if settings.stop_on == "mini_batch" and mini_batch_norm < settings.grad_tol:
                converged = True  # the end of the loop records the full-batch norm here
                break
        optimizer.step()
        step += 1
        bar.update()
        if settings.checkpoint_due(step):
            _save_checkpoint(run_dir, model, step, rows, converged, fingerprint)
        if callback is not None:
            callback(step, model)
    bar.close()
    grad_norm = full_gradient_norm(model, x, y)
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
