"""Training speed of Family D at the paper's scale: the AlexNet-style net (1,387,786
parameters) on 3x32x32 inputs, Part I (batch 1,000) and Part II (batch 32), through the
real training loop (``train.train``: data and mini-batch order on the device, finiteness
checked there), on the device it finds (``--device auto`` picks CUDA).

Steps per second come from the difference between two runs of n and 2n steps, which
cancels the fixed costs (the records at the start and the end, checkpoints). A record
(train and test loss and accuracy on the full sets, and the full-batch gradient norm) is
timed on ``--images`` synthetic images and scaled to CIFAR10's 50,000 + 10,000. The
paper profile's hours: 25,000 steps per part plus a record every 100 steps.

Synthetic inputs of the real shape (standard normal pixels, random labels): the speed
does not depend on the values. Prints, last,
``steps_per_s_part1=<a> steps_per_s_part2=<b> paper_profile_hours_cpu=<h>`` (on CUDA the
last key is ``paper_profile_hours_cuda``).

Run: ``.venv/bin/python benchmarks/scale/switch_speed.py`` (a few minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hessian_spectra.base.seeding import resolve_device
from hessian_spectra.config.schema import load_config
from hessian_spectra.config.specs import switch_runs
from hessian_spectra.data.split import Split
from hessian_spectra.training.models import build_model
from hessian_spectra.training.train import TrainSettings, evaluate, full_gradient_norm, train

CIFAR10_TRAIN, CIFAR10_TEST = 50_000, 10_000


def synthetic(n_train: int, n_test: int, shape: tuple[int, ...]) -> Split:
    rng = np.random.default_rng(0)
    return Split(rng.standard_normal((n_train, *shape), dtype=np.float32), rng.integers(0, 10, n_train),
                 rng.standard_normal((n_test, *shape), dtype=np.float32), rng.integers(0, 10, n_test), 10)


def seconds_for(run: dict, data: Split, steps: int, device: torch.device) -> float:
    settings = TrainSettings(**{**run["train"], "max_steps": steps, "eval_every": steps, "checkpoint_every": steps})
    with tempfile.TemporaryDirectory() as tmp:
        model = build_model(run["model"])
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        train(model, data, settings, Path(tmp), device=device, show_progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start


def steps_per_second(run: dict, data: Split, steps: int, device: torch.device) -> float:
    seconds_for(run, data, 1, device)  # warm-up (allocator, kernels)
    return steps / (seconds_for(run, data, 2 * steps, device) - seconds_for(run, data, steps, device))


def record_seconds(run: dict, images: int, device: torch.device) -> float:
    """One record's time on CIFAR10's sizes, scaled from ``images`` synthetic images."""
    data = synthetic(images, images, tuple(run["model"]["input_shape"]))
    model = build_model(run["model"]).to(device)
    x, y = (t.to(device) for t in data.tensors("train"))
    chunk = run["train"]["eval_batch_size"]
    evaluate(model, x, y, chunk)  # warm-up
    start = time.perf_counter()
    evaluate(model, x, y, chunk)
    forward = time.perf_counter() - start
    start = time.perf_counter()
    full_gradient_norm(model, x, y, chunk)
    gradient = time.perf_counter() - start
    return ((forward + gradient) * CIFAR10_TRAIN + forward * CIFAR10_TEST) / images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--steps", type=int, nargs=2, default=[3, 30], help="n for Part I and Part II")
    parser.add_argument("--images", type=int, default=2000, help="images per set when timing a record")
    args = parser.parse_args()
    device = resolve_device(args.device)
    config = load_config("config/paper.yaml")  # the paper profile's net, batches, steps and records
    runs, switch = switch_runs(config), config["switch"]
    shape = tuple(runs["part1"]["model"]["input_shape"])
    data = synthetic(max(switch["batch_sizes"].values()) * 2, 100, shape)
    rates = {part: steps_per_second(runs[part], data, n, device) for part, n in zip(("part1", "part2"), args.steps)}
    record = record_seconds(runs["part1"], args.images, device)
    records = sum(switch["steps"].values()) // switch["record_every"]
    hours = (sum(switch["steps"][part] / rates[part] for part in rates) + records * record) / 3600
    print(f"device {device}, {torch.get_num_threads()} threads, M = {runs['part1']['num_params']:,}, input {shape}")
    for part in rates:
        print(f"{part}: batch {switch['batch_sizes'][part]}, {rates[part]:.3g} steps/s, "
              f"{switch['steps'][part] / rates[part] / 3600:.2f} h for {switch['steps'][part]:,} steps")
    print(f"one record (50,000 + 10,000 images, gradient norm included): {record:.1f} s; {records} records: "
          f"{records * record / 3600:.2f} h")
    print(f"steps_per_s_part1={rates['part1']:.4g} steps_per_s_part2={rates['part2']:.4g} "
          f"paper_profile_hours_{device.type}={hours:.3g}")


if __name__ == "__main__":
    main()
