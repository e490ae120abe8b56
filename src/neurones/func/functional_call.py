"""``functional_call``: run a module with other tensors in place of its parameters and buffers.

This is what turns a network into a function of its parameters, f(θ, x), the object of the kernel and curvature
instruments: the neural tangent kernel is built from ∂f/∂θ, Hessians and Fisher matrices from derivatives in θ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from neurones.autodiff.tensor import Tensor
from neurones.errors import StateDictError


def _registry_of(module, name: str) -> tuple[dict, str]:
    """The registry (``_parameters`` or ``_buffers`` of the owning submodule) that holds the dotted ``name``."""
    *path, leaf = name.split(".")
    owner = module
    for part in path:
        children = owner._modules
        if part not in children or children[part] is None:
            raise StateDictError(f"functional_call: {type(module).__name__} has no parameter or buffer {name!r}")
        owner = children[part]
    for registry in (owner._parameters, owner._buffers):
        if leaf in registry:
            return registry, leaf
    raise StateDictError(f"functional_call: {type(module).__name__} has no parameter or buffer {name!r}")


def _merged(parameters_and_buffers) -> dict:
    if isinstance(parameters_and_buffers, Mapping):
        return dict(parameters_and_buffers)
    merged: dict = {}
    for mapping in parameters_and_buffers:
        repeated = merged.keys() & mapping.keys()
        if repeated:
            raise ValueError(f"functional_call: {sorted(repeated)} given in more than one dictionary")
        merged.update(mapping)
    return merged


def functional_call(
    module,
    parameters_and_buffers: Mapping | Sequence[Mapping],
    args=(),
    kwargs: Mapping | None = None,
    *,
    strict: bool = False,
):
    """``module(*args, **kwargs)`` computed with ``parameters_and_buffers[name]`` in place of each named
    parameter or buffer (dotted names, as ``named_parameters()`` gives them), as ``torch.func.functional_call``.

    The module itself is not modified: its own tensors are put back when the call returns or raises. Gradients
    flow to the given tensors (pass leaves that require grad to differentiate with respect to them); names not
    given keep the module's own tensors, unless ``strict=True``, which requires every parameter and buffer.
    ``args`` is one argument or a tuple of them; values that are not tensors are wrapped as constant tensors.
    """
    given = _merged(parameters_and_buffers)
    if strict:
        expected = {name for name, _ in module.named_parameters()} | {name for name, _ in module.named_buffers()}
        missing, unexpected = sorted(expected - given.keys()), sorted(given.keys() - expected)
        if missing or unexpected:
            raise StateDictError(f"functional_call (strict): missing {missing}, unexpected {unexpected}")
    args = args if isinstance(args, tuple) else (args,)
    swapped = []
    try:
        for name, value in given.items():
            registry, key = _registry_of(module, name)
            swapped.append((registry, key, registry[key]))
            registry[key] = value if isinstance(value, Tensor) else Tensor(np.asarray(value))
        return module(*args, **(kwargs or {}))
    finally:
        for registry, key, original in reversed(swapped):
            registry[key] = original
