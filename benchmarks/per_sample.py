"""Per-example gradients of an MLP 784-256-10 on a batch of 256 (cross-entropy summed over the examples).

Three ways, timed alternating at each thread setting (``python -m benchmarks.per_sample`` prints them; ``neurones
bench`` renders them in RESULTS.md):

* ``neurones.func.per_sample_grads``: one batched backward pass, per-example outer products δᵢ aᵢᵀ;
* a loop of 256 forward and backward passes on one example each, the gradient read after each (target: the
  batched form at least 5× faster);
* PyTorch's ``torch.func.vmap(torch.func.grad(...))``, the compiled-free reference of the same computation.
"""

from __future__ import annotations

import numpy as np

from benchmarks.threads import milliseconds_table, time_at_each_setting

NAME = "per-sample grads"
KEY = "per_sample"  # where RESULTS.json keeps the record
BATCH, SIZES = 256, (784, 256, 10)
TARGET_SPEEDUP = 5.0  # the batched form against the loop of backward passes


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    return x, y


def neurones_candidates() -> dict:
    import neurones as nr
    import neurones.functional as F
    from neurones import func, nn

    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1], rng=0), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2], rng=1))
    x_np, y_np = _data()
    x, y = nr.tensor(x_np), nr.tensor(y_np)

    def loss(out, target):
        return F.cross_entropy(out, target, reduction="sum")

    def batched():
        return func.per_sample_grads(model, loss, x, y)

    def loop():
        grads = {name: np.empty((BATCH, *p.shape), p.dtype) for name, p in model.named_parameters()}
        for i in range(BATCH):
            model.zero_grad()
            loss(model(x[i : i + 1]), y[i : i + 1]).backward()
            for name, p in model.named_parameters():
                grads[name][i] = p.grad.data
        return grads

    return {"neurones batched": batched, "neurones loop": loop}


def torch_candidate() -> dict:
    import torch

    model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                torch.nn.Linear(SIZES[1], SIZES[2]))
    x_np, y_np = _data()
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    params = {name: p.detach() for name, p in model.named_parameters()}

    def one(p, xi, yi):
        out = torch.func.functional_call(model, p, (xi[None],))
        return torch.nn.functional.cross_entropy(out, yi[None], reduction="sum")

    per_example = torch.func.vmap(torch.func.grad(one), in_dims=(None, 0, 0))
    return {"torch vmap": lambda: per_example(params, x, y)}


def measure(repeats: int = 7) -> dict:
    """Median seconds of each way at each thread setting, the best of each, and the two ratios."""
    record = time_at_each_setting(lambda: {**neurones_candidates(), **torch_candidate()}, repeats)
    record["speedup over loop"] = record["neurones loop best"] / record["neurones batched best"]
    record["ratio to torch vmap"] = record["neurones batched best"] / record["torch vmap best"]
    return record


def render(record: dict) -> list[str]:
    speedup = record["speedup over loop"]
    return [
        "",
        "## Per-example gradients (`neurones.func.per_sample_grads`)",
        "",
        f"MLP {'-'.join(map(str, SIZES))}, batch {BATCH}, cross-entropy summed over the examples: the gradient of "
        "each example's loss with respect to every parameter. *Batched* is one backward pass and the per-example "
        "outer products δᵢ aᵢᵀ; *loop* is one forward and backward pass per example; PyTorch runs "
        "`torch.func.vmap(torch.func.grad(...))`. Milliseconds, medians.",
        "",
        *milliseconds_table(record, ("neurones batched", "neurones loop", "torch vmap")),
        "",
        f"Batched against the loop: **{speedup:.1f}×** faster (target ≥ {TARGET_SPEEDUP:g}×: "
        f"{'holds' if speedup >= TARGET_SPEEDUP else '**does not hold**'}). Against PyTorch's vmap: ratio "
        f"**{record['ratio to torch vmap']:.2f}** (best settings; below 1, neurones is faster).",
    ]


if __name__ == "__main__":
    print("\n".join(render(measure())))
