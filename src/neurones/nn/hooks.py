"""Module hooks, as PyTorch names them: functions called around a module's forward and during its backward.

* ``register_forward_pre_hook(hook)``: ``hook(module, args)`` before ``forward``; it may return new ``args``.
* ``register_forward_hook(hook)``: ``hook(module, args, output)`` after ``forward``; it may return a new output.
* ``register_full_backward_hook(hook)``: ``hook(module, grad_input, grad_output)`` once the cotangents of the
  module's inputs have been computed: ``grad_output`` holds ∂L/∂(each output), ``grad_input`` ∂L/∂(each tensor
  input), ``None`` for an input that requires no gradient. It may return a new ``grad_input`` to use instead.

Each registration returns a :class:`RemovableHandle`. Backward hooks work as in PyTorch: the module's tensor
inputs and outputs pass through identity nodes of the graph; the output node records ∂L/∂output, the input nodes
∂L/∂input, and the last input node to run calls the hooks (when no input requires grad, the output node does).
Two limits of this engine, whose nodes have one output each: ``grad_input`` can be replaced only for a module
with a single tensor input, and a module with several outputs and no input requiring grad calls its hooks once
every output has received a cotangent.
"""

from __future__ import annotations

import itertools

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.errors import GradientError

_ids = itertools.count()


class RemovableHandle:
    """Returned by every ``register_*_hook``: ``handle.remove()`` unregisters the hook (also as a context manager)."""

    def __init__(self, registry: dict) -> None:
        self.id = next(_ids)
        self._registry = registry

    def remove(self) -> None:
        self._registry.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


class ModuleHooks:
    """The hooks of one module, by kind, each a dict ``handle id -> hook`` in registration order."""

    def __init__(self) -> None:
        self.forward_pre: dict = {}
        self.forward: dict = {}
        self.backward: dict = {}

    def add(self, registry: dict, hook) -> RemovableHandle:
        handle = RemovableHandle(registry)
        registry[handle.id] = hook
        return handle

    def call(self, module, args: tuple, kwargs: dict):
        """Run ``module.forward`` surrounded by the hooks."""
        for hook in tuple(self.forward_pre.values()):
            result = hook(module, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        pass_ = _BackwardPass(module, self.backward) if self.backward else None
        if pass_ is not None:
            args = pass_.wrap_inputs(args)
        output = module.forward(*args, **kwargs)
        for hook in tuple(self.forward.values()):
            result = hook(module, args, output)
            if result is not None:
                output = result
        if pass_ is not None:
            output = pass_.wrap_outputs(output)
        return output


class _BackwardPass:
    """The cotangents of one call of a module with backward hooks, gathered by its identity nodes."""

    def __init__(self, module, hooks: dict) -> None:
        self.module, self.hooks = module, hooks
        self.grad_inputs: list = []
        self.grad_outputs: list = []
        self.inputs_pending = 0
        self.outputs_pending = 0

    def wrap_inputs(self, args: tuple) -> tuple:
        wrapped = []
        for arg in args:
            if isinstance(arg, Tensor):
                position = len(self.grad_inputs)
                self.grad_inputs.append(None)
                if arg.requires_grad:
                    arg = _HookedInput.apply(arg, hooked=self, position=position)
                    self.inputs_pending += 1
            wrapped.append(arg)
        return tuple(wrapped)

    def wrap_outputs(self, output):
        outputs = output if isinstance(output, tuple) else (output,)
        wrapped = []
        for out in outputs:
            if isinstance(out, Tensor):
                position = len(self.grad_outputs)
                self.grad_outputs.append(None)
                if out.requires_grad:
                    out = _HookedOutput.apply(out, hooked=self, position=position)
                    self.outputs_pending += 1
            wrapped.append(out)
        return tuple(wrapped) if isinstance(output, tuple) else wrapped[0]

    def output_arrived(self, position: int, g) -> None:
        self.grad_outputs[position] = _as_tensor(g)
        self.outputs_pending -= 1
        if self.inputs_pending == 0 and self.outputs_pending == 0:
            self._fire()

    def input_arrived(self, position: int, g):
        self.grad_inputs[position] = _as_tensor(g)
        self.inputs_pending -= 1
        if self.inputs_pending == 0:
            replaced = self._fire()
            if replaced is not None:
                if len(self.grad_inputs) != 1:
                    raise GradientError(
                        f"{type(self.module).__name__}: a full backward hook can replace grad_input only for a "
                        f"module with one tensor input (this one has {len(self.grad_inputs)})"
                    )
                new = replaced[0] if isinstance(replaced, tuple) else replaced
                return None if new is None else new.data
        return g

    def _fire(self):
        replaced = None
        for hook in tuple(self.hooks.values()):
            grad_input = replaced if replaced is not None else tuple(self.grad_inputs)
            result = hook(self.module, grad_input, tuple(self.grad_outputs))
            if result is not None:
                replaced = result if isinstance(result, tuple) else (result,)
        return replaced


def _as_tensor(g):
    return None if g is None else Tensor(g)


class _HookedOutput(Function):
    """y = x: an output of a hooked module, whose backward records ∂L/∂y for the module's backward hooks."""

    def forward(self, x, *, hooked, position):
        self.hooked, self.position = hooked, position
        return x

    def backward(self, g):
        self.hooked.output_arrived(self.position, g)
        return (g,)


class _HookedInput(Function):
    """y = x: an input of a hooked module, whose backward records ∂L/∂x and, last of its module's, calls the hooks."""

    def forward(self, x, *, hooked, position):
        self.hooked, self.position = hooked, position
        return x

    def backward(self, g):
        return (self.hooked.input_arrived(self.position, g),)
