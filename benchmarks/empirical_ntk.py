"""The empirical neural tangent kernel of an MLP 40-512-512-1 on 256 points, against PyTorch's recipe.

``neurones.analysis.ntk.empirical_ntk`` contracts the per-example Jacobian in factored form (Gram matrices of each
linear layer's inputs and output cotangents, float64); PyTorch's recipe (the "Neural Tangent Kernels" tutorial of
``torch.func``) materializes the Jacobian with ``vmap(jacrev(...))`` and contracts it with ``einsum``, timed here
in float32 (its fastest) and float64. Target: ours ≤ 2× PyTorch's best. ``python -m benchmarks.empirical_ntk``
prints the section; ``neurones bench --only "empirical ntk"`` records it in RESULTS.md. The peak memory of ours is
the high-water mark of NumPy's allocations during one call (``tracemalloc``, which NumPy reports to).
"""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np

from benchmarks.threads import milliseconds_table, time_at_each_setting

NAME = "empirical ntk"
KEY = "empirical_ntk"
POINTS, SIZES = 256, (40, 512, 512, 1)
TARGET_RATIO = 2.0  # ours over PyTorch's best


def _inputs() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((POINTS, SIZES[0])).astype(np.float32)


def _weights() -> list[tuple[np.ndarray, np.ndarray]]:
    """The same float32 weights for both libraries (PyTorch's default law, U(±1/√fan_in)), so that the kernels
    agree."""
    rng = np.random.default_rng(1)
    layers = []
    for fan_in, fan_out in itertools.pairwise(SIZES):
        bound = 1 / np.sqrt(fan_in)
        layers.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return layers


def neurones_candidate() -> dict:
    from neurones import nn
    from neurones.analysis.ntk import empirical_ntk

    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]), nn.ReLU(),
                          nn.Linear(SIZES[2], SIZES[3]))
    for layer, (weight, bias) in zip(model[::2], _weights()):
        layer.weight.data[...], layer.bias.data[...] = weight, bias
    x = _inputs()
    return {"neurones": lambda: empirical_ntk(model, x)}


def torch_candidates() -> dict:
    import torch
    from torch.func import functional_call, jacrev, vmap

    candidates = {}
    for dtype, name in ((torch.float32, "torch float32"), (torch.float64, "torch float64")):
        model = torch.nn.Sequential(torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.ReLU(),
                                    torch.nn.Linear(SIZES[1], SIZES[2]), torch.nn.ReLU(),
                                    torch.nn.Linear(SIZES[2], SIZES[3])).to(dtype)
        with torch.no_grad():
            for layer, (weight, bias) in zip(model[::2], _weights()):
                layer.weight.copy_(torch.from_numpy(weight))
                layer.bias.copy_(torch.from_numpy(bias))
        params = {k: v.detach() for k, v in model.named_parameters()}
        x = torch.from_numpy(_inputs()).to(dtype)

        def one(p, xi, model=model):
            return functional_call(model, p, (xi[None],))[0]

        def kernel(params=params, x=x, one=one):
            jacobian = vmap(jacrev(one), (None, 0))(params, x)
            rows = [j.flatten(2) for j in jacobian.values()]
            return sum(torch.einsum("naf,mbf->nmab", r, r) for r in rows)

        candidates[name] = kernel
    return candidates


def peak_bytes() -> int:
    """NumPy's high-water mark during one call of ours."""
    ours = neurones_candidate()["neurones"]
    tracemalloc.start()
    try:
        ours()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(repeats: int = 7) -> dict:
    """Median seconds of each way at each thread setting, the best of each, the ratio and the peak memory."""
    record = time_at_each_setting(lambda: {**neurones_candidate(), **torch_candidates()}, repeats)
    record["ratio"] = record["neurones best"] / min(record["torch float32 best"], record["torch float64 best"])
    record["neurones peak MiB"] = peak_bytes() / 2**20
    parameters = SIZES[0] * SIZES[1] + SIZES[1] + SIZES[1] * SIZES[2] + SIZES[2] + SIZES[2] * SIZES[3] + SIZES[3]
    record["jacobian float32 MiB"] = POINTS * parameters * 4 / 2**20
    return record


def render(record: dict) -> list[str]:
    ratio = record["ratio"]
    return [
        "",
        "## Empirical neural tangent kernel (`neurones.analysis.ntk.empirical_ntk`)",
        "",
        f"MLP {'-'.join(map(str, SIZES))} (ReLU), the kernel on {POINTS} points. neurones contracts the per-example "
        "Jacobian in factored form, in float64: for each linear layer, (δᵢ·δⱼ)(aᵢ·aⱼ) from one forward and one "
        "backward pass. PyTorch runs its tutorial's recipe, `vmap(jacrev(f))` then `einsum` over the materialized "
        "Jacobian. Milliseconds, medians.",
        "",
        *milliseconds_table(record, ("neurones", "torch float32", "torch float64")),
        "",
        f"neurones over PyTorch's best: ratio **{ratio:.2f}** (target ≤ {TARGET_RATIO:g}: "
        f"{'holds' if ratio <= TARGET_RATIO else '**does not hold**'}). Peak memory of neurones' call: "
        f"{record['neurones peak MiB']:.1f} MiB (NumPy allocations); the Jacobian that PyTorch's recipe materializes "
        f"is {record['jacobian float32 MiB']:.0f} MiB in float32.",
    ]


if __name__ == "__main__":
    print("\n".join(render(measure())))
