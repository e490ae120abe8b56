"""The benchmark workloads, each built from the same initial weights in neurones, in PyTorch and, for the MLP step
and the deep narrow ResNets, in JAX compiled by ``jax.jit`` (``jax_workloads``).

A workload is a step function (a closure over its model, data and optimizer) for each library. The weights are
drawn once with NumPy from a fixed seed and copied into both, so both libraries compute the same numbers; only
the time and memory they take differ. Shapes and dtypes (float32) follow the issue that set the targets.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import neurones as nr
import neurones.functional as F
from benchmarks import jax_workloads
from neurones import nn, optim

Step = Callable[[], object]


@dataclass(frozen=True)
class Workload:
    """``build(library)`` returns the step function for each of ``libraries`` ("neurones", "torch", and "jax" where
    a compiled version exists); ``target`` is the largest acceptable ratio of median times neurones/PyTorch,
    ``training`` marks workloads whose peak memory is compared."""

    name: str
    group: str
    description: str
    target: float
    training: bool
    build: Callable[[str], Step]
    libraries: tuple[str, ...] = ("neurones", "torch")


def _weights(seed: int, *shapes: tuple) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) / np.sqrt(shape[-1] if len(shape) > 1 else 1)).astype(np.float32)
            for shape in shapes]


# ------------------------------------------------------------------------------------------------ per-op overhead
_OP_SIZE = 64


def op_function(op: str, library: str) -> Callable:
    """``op`` ("add", "mul", "relu", "matmul" or "sum") as a function of two operands of ``library``
    ("numpy", "neurones" or "torch"); unary ops ignore the second operand."""
    if op == "relu":
        if library == "numpy":
            return lambda a, b: np.maximum(a, 0)
        if library == "neurones":
            return lambda a, b: F.relu(a)
        import torch

        return lambda a, b: torch.relu(a)
    return {"add": operator.add, "mul": operator.mul, "matmul": operator.matmul, "sum": lambda a, b: a.sum()}[op]


def op_operands(library: str, requires_grad: bool = True) -> tuple:
    """The two 64×64 float32 operands of the per-op workloads, as ``library`` tensors."""
    a_np, b_np = _weights(0, (_OP_SIZE, _OP_SIZE), (_OP_SIZE, _OP_SIZE))
    if library == "numpy":
        return a_np, b_np
    if library == "neurones":
        return nr.tensor(a_np, requires_grad=requires_grad), nr.tensor(b_np, requires_grad=requires_grad)
    import torch

    return torch.tensor(a_np, requires_grad=requires_grad), torch.tensor(b_np, requires_grad=requires_grad)


def with_backward(forward: Step, library: str) -> Step:
    """A step running ``forward`` and backpropagating ones (nothing for a scalar output) through it."""
    ones = np.ones((_OP_SIZE, _OP_SIZE), np.float32)
    if library == "torch":
        import torch

        ones = torch.from_numpy(ones)

    def step():
        y = forward()
        y.backward(None if y.ndim == 0 else ones)

    return step


def _op_step(op: str, backward: bool) -> Callable[[str], Step]:
    def build(library: str) -> Step:
        a, b = op_operands(library)
        fn = op_function(op, library)

        def forward():
            return fn(a, b)

        return with_backward(forward, library) if backward else forward

    return build


def _training_step(model, opt, loss_fn, x, y) -> Step:
    """One training step on a fixed batch: zero the gradients, backpropagate the loss, update. Works for both
    libraries, whose optimizers and modules share these names; ``step.model`` is kept for the parity tests."""

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    step.model = model
    return step


# ----------------------------------------------------------------------------------------------------------- MLP
_MLP_SIZES = (784, 256, 256, 10)
_MLP_BATCH = 128


def _mlp_step(optimizer_name: str) -> Callable[[str], Step]:
    def build(library: str) -> Step:
        shapes = [(o, i) for i, o in itertools.pairwise(_MLP_SIZES)]
        weights = _weights(1, *shapes)
        biases = _weights(2, *[(o,) for o, _ in shapes])
        rng = np.random.default_rng(3)
        x_np = rng.standard_normal((_MLP_BATCH, _MLP_SIZES[0])).astype(np.float32)
        y_np = rng.integers(0, _MLP_SIZES[-1], _MLP_BATCH)
        if library == jax_workloads.LIBRARY and optimizer_name == "sgd":
            return jax_workloads.mlp_sgd_step(weights, biases, x_np, y_np, lr=1e-3)
        if library == "neurones":
            layers = [nn.Linear(i, o) for i, o in itertools.pairwise(_MLP_SIZES)]
            model = nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2])
            for layer, w, b in zip(layers, weights, biases):
                layer.weight.data[...] = w
                layer.bias.data[...] = b
            make = optim.SGD if optimizer_name == "sgd" else optim.Adam
            opt = make(model.parameters(), lr=1e-3)
            x, y = nr.tensor(x_np), nr.tensor(y_np)
            loss_fn = F.cross_entropy
        else:
            import torch

            layers = [torch.nn.Linear(i, o) for i, o in itertools.pairwise(_MLP_SIZES)]
            model = torch.nn.Sequential(layers[0], torch.nn.ReLU(), layers[1], torch.nn.ReLU(), layers[2])
            with torch.no_grad():
                for layer, w, b in zip(layers, weights, biases):
                    layer.weight.copy_(torch.from_numpy(w))
                    layer.bias.copy_(torch.from_numpy(b))
            make = torch.optim.SGD if optimizer_name == "sgd" else torch.optim.Adam
            opt = make(model.parameters(), lr=1e-3)
            x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
            loss_fn = torch.nn.functional.cross_entropy

        return _training_step(model, opt, loss_fn, x, y)

    return build


# ---------------------------------------------------------------------------------------------- deep narrow ResNet
_RES_WIDTH, _RES_BATCH = 64, 64


def _resnet_step(depth: int) -> Callable[[str], Step]:
    def build(library: str) -> Step:
        net = nn.ScaledResNet(_RES_WIDTH, _RES_WIDTH, 10, depth, block="res-3", rng=4)
        x_np = np.random.default_rng(5).standard_normal((_RES_BATCH, _RES_WIDTH)).astype(np.float32)
        if library == jax_workloads.LIBRARY:
            return jax_workloads.resnet_gradients(net, x_np)
        if library == "neurones":
            x = nr.tensor(x_np)

            def step():
                net.zero_grad()
                net(x).sum().backward()

            step.model = net
            return step
        import torch

        def param(t):
            return torch.tensor(t.data, requires_grad=True)

        A, B = param(net.A), param(net.B)
        Vs = [param(block.V) for block in net.blocks]
        Ws = [param(block.W) for block in net.blocks]
        alpha, x = net.alpha, torch.from_numpy(x_np)
        linear, relu = torch.nn.functional.linear, torch.relu

        params = [A, B, *Vs, *Ws]

        def step():
            for p in params:
                p.grad = None
            h = linear(x, A)
            for V, W in zip(Vs, Ws):
                h = h + alpha * linear(relu(linear(h, W)), V)
            linear(h, B).sum().backward()

        return step

    return build


# ------------------------------------------------------------------------------------------------------------ CNN
CONV_INPUT, CONV_WEIGHT = (64, 16, 28, 28), (32, 16, 3, 3)  # the conv workload, with padding 1


def _conv_step(library: str) -> Step:
    w_np, b_np = _weights(6, CONV_WEIGHT, (CONV_WEIGHT[0],))
    x_np = np.random.default_rng(7).standard_normal(CONV_INPUT).astype(np.float32)
    if library == "neurones":
        x = nr.tensor(x_np, requires_grad=True)
        w, b = nr.tensor(w_np, requires_grad=True), nr.tensor(b_np, requires_grad=True)
        conv = F.conv2d
    else:
        import torch

        x = torch.tensor(x_np, requires_grad=True)
        w, b = torch.tensor(w_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
        conv = torch.nn.functional.conv2d

    def step():
        conv(x, w, b, padding=1).sum().backward()

    return step


def _small_cnn_step(library: str) -> Step:
    """conv(1→16, 3×3) → ReLU → max-pool 2 → conv(16→32, 3×3) → ReLU → max-pool 2 → linear(32·7·7 → 10), SGD."""
    shapes = [(16, 1, 3, 3), (16,), (32, 16, 3, 3), (32,), (10, 32 * 7 * 7), (10,)]
    params_np = _weights(8, *shapes)
    rng = np.random.default_rng(9)
    x_np = rng.standard_normal((128, 1, 28, 28)).astype(np.float32)
    y_np = rng.integers(0, 10, 128)
    if library == "neurones":
        # ReLU then max-pool as one fused module, which pools first (the same function and gradients as
        # PyTorch's ReLU, MaxPool2d pair; see nn.ReLUMaxPool2d): the opt-in a user of neurones would write.
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLUMaxPool2d(2),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLUMaxPool2d(2),
                              nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
        for p, value in zip(model.parameters(), params_np):
            p.data[...] = value
        opt = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
        x, y, loss_fn = nr.tensor(x_np), nr.tensor(y_np), F.cross_entropy
    else:
        import torch

        tnn = torch.nn
        model = tnn.Sequential(tnn.Conv2d(1, 16, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Conv2d(16, 32, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                               tnn.Flatten(), tnn.Linear(32 * 7 * 7, 10))
        with torch.no_grad():
            for p, value in zip(model.parameters(), params_np):
                p.copy_(torch.from_numpy(value))
        opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
        x, y, loss_fn = torch.from_numpy(x_np), torch.from_numpy(y_np), torch.nn.functional.cross_entropy

    return _training_step(model, opt, loss_fn, x, y)


WITH_JAX = ("neurones", "torch", jax_workloads.LIBRARY)


def workloads() -> list[Workload]:
    ops = [
        Workload(f"{op} (record)", "per-op overhead", f"{op} on 64×64 float32, forward with graph recording", 1.0,
                 False, _op_step(op, backward=False))
        for op in ("add", "mul", "relu", "matmul", "sum")
    ] + [
        Workload(f"{op} (fwd+bwd)", "per-op overhead", f"{op} on 64×64 float32, forward and backward", 1.0,
                 False, _op_step(op, backward=True))
        for op in ("add", "mul", "relu", "matmul", "sum")
    ]
    return [
        *ops,
        Workload("mlp sgd step", "MLP", "784-256-256-10, batch 128: forward, backward, SGD step", 1.0, True,
                 _mlp_step("sgd"), WITH_JAX),
        Workload("mlp adam step", "MLP", "784-256-256-10, batch 128: forward, backward, Adam step", 1.0, True,
                 _mlp_step("adam")),
        *(
            Workload(f"resnet {depth}", "deep narrow ResNet",
                     f"ScaledResNet res-3, width 64, {depth} blocks, batch 64: zero grads, forward and backward",
                     0.6, True, _resnet_step(depth), WITH_JAX)
            for depth in (200, 1000)
        ),
        Workload("conv fwd+bwd", "CNN", "conv2d 16→32 3×3 (padding 1) on 64×16×28×28: forward and backward", 1.5,
                 True, _conv_step),
        Workload("small cnn step", "CNN", "two conv+pool stages and a linear head on 28×28, batch 128, SGD step",
                 1.5, True, _small_cnn_step),
    ]


def by_name(name: str) -> Workload:
    for workload in workloads():
        if workload.name == name:
            return workload
    raise KeyError(f"unknown workload {name!r}")
