"""How the default profile's Family D step size (``switch.lr``, a choice: the paper gives
none) was chosen, by a measure that does not look at the claim being tested.

Part I alone (the large batch, the profile's net, data, batch size and number of steps)
is trained at each step size of a grid, and the one with the lowest test loss at the end
of Part I is the choice; Part II and the straight line play no part in it, so the
choice cannot favour a jump or a barrier. Prints one line per step size (final train
and test loss and accuracy) and, last, ``chosen_lr=<lr>``.

Run: ``.venv/bin/python benchmarks/fidelity/switch_step_size.py [--lrs 0.01 0.05 0.2 0.5]``
(about 2 minutes per step size on 2 cores, digits).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

import torch

from hessian_spectra.config.schema import load_config
from hessian_spectra.config.specs import switch_runs
from hessian_spectra.data.split import load_split
from hessian_spectra.data.switch import make_switch_data
from hessian_spectra.training.models import build_model
from hessian_spectra.training.train import TrainSettings, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/default.yaml")
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.01, 0.05, 0.2, 0.5])
    args = parser.parse_args()
    config = load_config(args.config)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        part1 = switch_runs(config)["part1"]
        make_switch_data(part1["data"], Path(tmp) / "switch.npz")
        data = load_split(Path(tmp) / "switch.npz")
        results = {}
        print(f"Part I: {part1['train']['max_steps']} steps at batch {part1['train']['batch_size']}, "
              f"M = {part1['num_params']}, {config['switch']['source']}")
        print("| lr | train loss | test loss | train accuracy | test accuracy |")
        print("|---|---|---|---|---|")
        for lr in args.lrs:
            settings = TrainSettings(**{**copy.deepcopy(part1["train"]), "lr": lr})
            train(build_model(part1["model"]), data, settings, Path(tmp) / f"lr{lr}", show_progress=False)
            last = torch.load(sorted((Path(tmp) / f"lr{lr}" / "checkpoints").glob("*.pt"))[-1],
                              weights_only=True)["metrics"][-1]
            results[lr] = last["test_loss"]
            print(f"| {lr:g} | {last['train_loss']:.3g} | {last['test_loss']:.3g} | "
                  f"{last['train_accuracy']:.4f} | {last['test_accuracy']:.4f} |", flush=True)
    print(f"chosen_lr={min(results, key=results.get):g}")


if __name__ == "__main__":
    main()
