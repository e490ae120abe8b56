"""A peer's op suite, run against neurones with its PyTorch references: how much PyTorch code ports unchanged?

tinygrad's ``test/backend/test_ops.py`` checks each op with ``helper_test_op(shapes, torch_fxn, tinygrad_fxn)``:
the same random inputs go through ``torch_fxn`` in PyTorch and ``tinygrad_fxn`` in tinygrad, and the forward
values and input gradients must agree. Here ``torch_fxn`` itself — PyTorch code — runs a second time with
``torch`` bound to neurones (``neurones`` at the top level, ``neurones.nn`` and ``neurones.nn.functional`` below
it, dtypes by their PyTorch names), and its results are compared with PyTorch's under the suite's own tolerances,
shape and dtype checks. The tinygrad side is never run (tinygrad is not needed; its imports are stubbed).

A case is *in scope* when PyTorch itself runs it on the CPU and its inputs are float32 or integer (PyTorch code
is the reference, so a case PyTorch rejects says nothing about us). It *agrees* when neurones gives the same
output (shape, dtype, values) and the same input gradients; a missing name, an error or a different number is a
disagreement, listed with its reason. ``helper_test_exception`` cases agree when neurones raises the exception
type PyTorch raises.

    python -m benchmarks.peer_ops PATH/TO/tinygrad/test/backend/test_ops.py [--show N] [--json OUT]

The file is read, never copied into this repository. Numbers from a run are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import inspect
import json
import sys
import types
import unittest
from dataclasses import dataclass, field
from pathlib import Path

import neurones.nn.functional
import numpy as np

import neurones
import neurones.nn

TORCH_DTYPES = {
    # PyTorch's name → NumPy dtype; neurones takes NumPy dtypes where PyTorch takes torch.dtype.
    "float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
    "float16": np.float16, "half": np.float16, "int8": np.int8, "uint8": np.uint8, "int16": np.int16,
    "short": np.int16, "int32": np.int32, "int": np.int32, "int64": np.int64, "long": np.int64, "bool": np.bool_,
}  # fmt: skip


BUILTIN_NAMES = {"log_sigmoid": "logsigmoid"}  # PyTorch's C name of a function it exports under another name


@dataclass
class Outcome:
    """One case of the suite: where it is, whether it was in scope, whether neurones agreed, and why not."""

    test: str
    in_scope: bool
    agrees: bool = False
    reason: str = ""


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    current: str = ""

    def record(self, in_scope: bool, agrees: bool = False, reason: str = "") -> None:
        self.outcomes.append(Outcome(self.current, in_scope, agrees, reason))


def _stub_tinygrad() -> dict[str, types.ModuleType]:
    """Modules that satisfy the suite's tinygrad imports; anything reached through them is a harmless stub."""

    class Anything:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, *args, **kwargs):
            return Anything()

        def __getattr__(self, name):
            return Anything()

        def __getitem__(self, key):
            return Anything()

        def __iter__(self):
            return iter(())

        def __bool__(self):
            return False

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    root = types.ModuleType("tinygrad")
    helpers = types.ModuleType("tinygrad.helpers")
    helpers.getenv = lambda key, default=0: default
    helpers.DEBUG, helpers.IMAGE = 0, 0
    helpers.DEV = type("DEV", (Anything,), {"interface": ""})()
    helpers.Context = Anything
    tensor = types.ModuleType("tinygrad.tensor")
    tensor._to_np_dtype = lambda dtype: np.float32
    renderer = types.ModuleType("tinygrad.renderer")
    nir = types.ModuleType("tinygrad.renderer.nir")
    nir.NIRRenderer = type("NIRRenderer", (), {})
    root.Tensor, root.dtypes = Anything(), Anything()
    root.Device = type("Device", (Anything,), {"DEFAULT": "CPU"})()
    return {"tinygrad": root, "tinygrad.helpers": helpers, "tinygrad.tensor": tensor,
            "tinygrad.renderer": renderer, "tinygrad.renderer.nir": nir}  # fmt: skip


def torch_as_neurones() -> types.ModuleType:
    """A module that PyTorch code can call ``torch``: neurones' top level, its nn and functional, and dtypes."""
    proxy = types.ModuleType("torch")
    proxy.__dict__.update({k: v for k, v in vars(neurones).items() if not k.startswith("_")})
    proxy.__dict__.update(TORCH_DTYPES)
    proxy.nn = neurones.nn
    return proxy


def _to_neurones(value, torch):
    """A closure or default value captured by a test's lambda, moved from PyTorch to neurones."""
    if isinstance(value, torch.Tensor):
        return neurones.tensor(value.detach().numpy())
    if isinstance(value, torch.dtype):
        return TORCH_DTYPES.get(str(value).removeprefix("torch."), value)
    return value


def _rebind(fn, proxy, torch):
    """``fn`` with ``torch`` in its globals (and its captured tensors and dtypes) replaced by neurones; a PyTorch
    function passed as is (``torch.sigmoid``) becomes neurones' function of that name, a module
    (``torch.nn.Softmax(dim=1)``) neurones' module of that class built from the same attributes."""
    if isinstance(fn, functools.partial):
        return functools.partial(_rebind(fn.func, proxy, torch), *(_to_neurones(a, torch) for a in fn.args),
                                 **{k: _to_neurones(v, torch) for k, v in fn.keywords.items()})  # fmt: skip
    if isinstance(fn, torch.nn.Module):
        cls = getattr(neurones.nn, type(fn).__name__)
        names = inspect.signature(cls).parameters
        return cls(**{k: getattr(fn, k) for k in names if hasattr(fn, k)})
    if not hasattr(fn, "__globals__") or (fn.__module__ or "").startswith("torch"):  # PyTorch's own function
        if getattr(fn, "__objclass__", None) is torch.Tensor:
            return lambda x, *args, **kwargs: getattr(x, fn.__name__)(*args, **kwargs)
        functional = "functional" in fn.__module__ or "_nn" in fn.__module__
        name = BUILTIN_NAMES.get(fn.__name__, fn.__name__)
        home = neurones.nn.functional if functional or not hasattr(proxy, name) else proxy
        return getattr(home, name)
    namespace = dict(fn.__globals__, torch=proxy, F=neurones.nn.functional)
    closure = None
    if fn.__closure__:
        closure = tuple(types.CellType(_to_neurones(cell.cell_contents, torch)) for cell in fn.__closure__)
    defaults = tuple(_to_neurones(v, torch) for v in fn.__defaults__) if fn.__defaults__ else None
    return types.FunctionType(fn.__code__, namespace, fn.__name__, defaults, closure)


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, neurones.Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def _compare(what: str, ours: np.ndarray, theirs: np.ndarray, atol: float, rtol: float) -> str:
    """The suite's own check: same shape, same dtype, values close (floats) or equal. '' if they agree."""
    if ours.shape != theirs.shape:
        return f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    if ours.dtype != theirs.dtype:
        return f"{what}: dtype {ours.dtype} vs torch {theirs.dtype}"
    try:
        if np.issubdtype(theirs.dtype, np.floating):
            np.testing.assert_allclose(ours, theirs, atol=atol, rtol=rtol)
        else:
            np.testing.assert_equal(ours, theirs)
    except AssertionError:
        return f"{what}: values differ"
    return ""


def make_harness(tally: Tally, torch):
    """``helper_test_op`` and ``helper_test_exception`` that run the PyTorch lambda in both libraries."""
    proxy = torch_as_neurones()

    def inputs(shapes, vals, low, high, forward_only):
        if shapes is None:
            ts = [torch.tensor(x, requires_grad=not forward_only) for x in vals]
        else:
            np.random.seed(0)
            data = [np.random.uniform(low=low, high=high, size=size).astype(np.float32) for size in shapes]
            ts = [torch.tensor(x, requires_grad=not forward_only) for x in data]
        ts = [t.type(torch.int32) if t.dtype == torch.int64 else t for t in ts]
        ours = [neurones.tensor(t.detach().numpy(), requires_grad=t.requires_grad) for t in ts]
        return ts, ours

    def helper_test_op(shps, torch_fxn, tinygrad_fxn=None, atol=1e-6, rtol=1e-3, grad_atol=1e-4, grad_rtol=1e-3,
                       forward_only=False, vals=None, low=-2, high=2):
        try:
            ts, ours = inputs(shps, vals, low, high, forward_only)
            if any(t.dtype not in (torch.float32, torch.int32, torch.bool) for t in ts):
                raise TypeError("inputs of a dtype outside float32, int32 and bool")
            reference = torch_fxn(*ts)
            reference_grads = None
            if not forward_only and ts:
                reference_grads = torch.autograd.grad(torch_fxn(*ts).sum(), ts)
        except Exception:  # PyTorch itself rejects the case: out of scope
            tally.record(in_scope=False)
            return
        try:
            fxn = _rebind(torch_fxn, proxy, torch)
            out = fxn(*ours)
            problem = _compare("forward", _as_numpy(out), reference.detach().numpy(), atol, rtol)
            if not problem and reference_grads is not None:
                fxn(*ours).sum().backward()
                for i, (x, g) in enumerate(zip(ours, reference_grads)):
                    mine = np.zeros(x.shape, x.dtype) if x.grad is None else x.grad.numpy()
                    problem = _compare(f"gradient {i}", mine, g.detach().numpy(), grad_atol, grad_rtol)
                    if problem:
                        break
        except Exception as error:  # every failure of ours is a disagreement, with its reason
            problem = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:160]
        tally.record(in_scope=True, agrees=not problem, reason=problem)

    def helper_test_exception(self, shps, torch_fxn, tinygrad_fxn=None, expected=None, forward_only=False,
                              exact=False, vals=None, low=-1.5, high=1.5):
        try:
            ts, ours = inputs(shps, vals, low, high, forward_only)
            torch_fxn(*ts)
        except Exception as error:  # PyTorch raises: in scope if it raises the expected type
            if expected is None or not isinstance(error, expected):
                tally.record(in_scope=False)
                return
        else:
            tally.record(in_scope=False)
            return
        try:
            _rebind(torch_fxn, proxy, torch)(*ours)
            problem = f"no {getattr(expected, '__name__', expected)} raised"
        except Exception as error:  # the type is what is compared
            problem = "" if isinstance(error, expected) else f"raised {type(error).__name__}, not {expected.__name__}"
        tally.record(in_scope=True, agrees=not problem, reason=problem)

    return helper_test_op, helper_test_exception


def run_suite(path: Path) -> Tally:
    """Load the suite with tinygrad stubbed, swap its helpers for the harness, run every TestOps test."""
    import torch

    tally = Tally()
    source = path.read_text()
    module = types.ModuleType("peer_test_ops")
    module.__file__ = str(path)
    with _patched_modules(_stub_tinygrad()):
        exec(compile(source, str(path), "exec"), module.__dict__)
    helper_test_op, helper_test_exception = make_harness(tally, torch)
    module.helper_test_op = helper_test_op
    case = module.TestOps
    case.helper_test_exception = helper_test_exception
    for name in sorted(n for n in dir(case) if n.startswith("test")):
        tally.current = name
        test = case(name)
        # the suite's own asserts, outside the helpers, are about tinygrad: they may fail, the cases are recorded
        with contextlib.redirect_stdout(None), contextlib.suppress(unittest.SkipTest, Exception):
            getattr(test, name)()
    return tally


@contextlib.contextmanager
def _patched_modules(modules: dict[str, types.ModuleType]):
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


def summarize(tally: Tally, show: int) -> str:
    in_scope = [o for o in tally.outcomes if o.in_scope]
    agree = sum(o.agrees for o in in_scope)
    lines = [
        f"{len(tally.outcomes)} cases, {len(in_scope)} in scope, {agree} agree "
        f"({100 * agree / max(len(in_scope), 1):.1f}%), {len(in_scope) - agree} disagree",
    ]
    reasons = collections.Counter(o.reason.split(":")[0] if "Error" in o.reason else o.reason for o in in_scope
                                  if not o.agrees)  # fmt: skip
    lines += [f"  {count:4d}  {reason}" for reason, count in reasons.most_common(show)]
    failing = collections.Counter(o.test for o in in_scope if not o.agrees)
    lines.append("tests with disagreements: " + ", ".join(f"{t} ({n})" for t, n in failing.most_common(show)))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", type=Path, help="tinygrad's test/backend/test_ops.py")
    parser.add_argument("--show", type=int, default=25, help="how many reasons and tests to list")
    parser.add_argument("--json", type=Path, help="write every case's outcome here")
    args = parser.parse_args(argv)
    tally = run_suite(args.suite)
    print(summarize(tally, args.show))
    if args.json:
        args.json.write_text(json.dumps([o.__dict__ for o in tally.outcomes], indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
