"""MNIST-1D with the reference protocol: does training with neurones reach the dataset's published accuracies?

Greydanus (2020) trains its models on the default MNIST-1D split (4000 training and 1000 test signals) with Adam,
learning rate 1e-2, batches of 100 taken in order (the data are already shuffled), for 6000 steps, and reports the
final test accuracy: about 68% for the MLP and 94% for the CNN (the models are in :mod:`neurones.nn.reference`).
This script runs the same protocol with ``neurones.train.fit`` for several seeds (the seed draws the initial
weights, and the order of the batches with ``--shuffle``) and prints the final test accuracy of each run, their
mean, and the wall time of each training run, against the targets of ≥ 63% (MLP) and ≥ 90% (CNN) on the mean.

Run: ``python -m benchmarks.mnist1d_reference [--model mlp|cnn|both] [--seeds 0 1 2] [--steps 6000] [--shuffle]``.
It needs the ``mnist1d`` package (the ``lab`` extra) the first time, to generate the data set.
"""

from __future__ import annotations

import argparse
import platform

import numpy as np

from neurones.data.mnist1d import load_mnist1d
from neurones.train.mnist1d import BATCH_SIZE, LEARNING_RATE, MODELS, train_reference

TARGETS = {"mlp": 0.63, "cnn": 0.90}


def report(model_name: str, seeds: list[int], steps: int, shuffle: bool, train_set, test_set) -> dict:
    print(f"\n{model_name.upper()}: Adam lr {LEARNING_RATE}, batch {BATCH_SIZE}, {steps} steps, "
          f"{'shuffled' if shuffle else 'in-order'} batches, {len(train_set)}/{len(test_set)} split")
    results = []
    for seed in seeds:
        outcome = train_reference(model_name, steps, seed, shuffle, datasets=(train_set, test_set))
        result = {"test_accuracy": outcome.accuracy, "train_accuracy": outcome.train_accuracy,
                  "test_loss": outcome.loss, "seconds": outcome.seconds}
        results.append(result)
        print(f"  seed {seed}: test accuracy {result['test_accuracy']:.1%}  (train {result['train_accuracy']:.1%}, "
              f"test loss {result['test_loss']:.3f})  {result['seconds']:.1f} s, "
              f"{steps / result['seconds']:.0f} steps/s", flush=True)
    accuracies = np.array([r["test_accuracy"] for r in results])
    mean = float(accuracies.mean())
    spread = f" ± {accuracies.std(ddof=1):.1%} (sd)" if len(results) > 1 else ""
    target = TARGETS[model_name]
    verdict = "met" if mean >= target else "NOT met"
    print(f"  mean test accuracy {mean:.1%}{spread} over {len(results)} seeds; target ≥ {target:.0%}: {verdict}; "
          f"mean wall time {np.mean([r['seconds'] for r in results]):.1f} s per run")
    return {"mean": mean, "runs": results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=[*MODELS, "both"], default="both")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--shuffle", action="store_true", help="reshuffle the training set every epoch")
    args = parser.parse_args(argv)
    print(f"neurones MNIST-1D reference protocol on {platform.processor() or platform.machine()}, "
          f"NumPy {np.__version__}")
    train_set, test_set = load_mnist1d()
    names = list(MODELS) if args.model == "both" else [args.model]
    for name in names:
        report(name, args.seeds, args.steps, args.shuffle, train_set, test_set)


if __name__ == "__main__":
    main()
