"""``Module``: a parametrized node of the computation graph, and a tree of such nodes.

The lecture notes ("Mise en œuvre de Neurones", §0) describe a network as a directed acyclic graph of parametrized
nodes. A module is such a node written as a Python class: it owns its parameters (learned tensors), its buffers
(state that is not learned, such as batch normalization's running statistics) and its submodules, all registered by
plain attribute assignment as in PyTorch::

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(784, 100)   # a submodule
            self.out = nn.Linear(100, 10)

        def forward(self, x):
            return self.out(F.relu(self.hidden(x)))

Names, signatures and traversal orders are PyTorch's (``parameters()``, ``named_modules()``, ``state_dict()``,
``train()``/``eval()``...), so that code ports line by line. Where neurones differs it says so in the docstring:
``state_dict()`` returns independent NumPy copies, and ``load_state_dict`` checks everything before copying
anything.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

import numpy as np

from neurones.autodiff.grad_mode import no_grad
from neurones.autodiff.tensor import Tensor
from neurones.backend import as_dtype, is_floating
from neurones.errors import DTypeError, StateDictError
from neurones.nn.hooks import ModuleHooks, RemovableHandle
from neurones.nn.parameter import Parameter


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the keys the module expected but did not get, and the keys it ignored."""

    missing_keys: list[str]
    unexpected_keys: list[str]


_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "hip", "meta")  # PyTorch's device names, to tell them from dtypes


def _indent(text: str, spaces: int) -> str:
    """Indent every line of ``text`` but the first (the first follows a ``(name): `` label)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class Module:
    """Base class of every layer and network. Subclasses call ``super().__init__()`` first and define ``forward``."""

    training: bool

    def __init__(self) -> None:
        # Bypass __setattr__: it needs these registries to exist.
        setattr_ = object.__setattr__
        setattr_(self, "training", True)
        setattr_(self, "_parameters", {})
        setattr_(self, "_buffers", {})
        setattr_(self, "_non_persistent_buffers", set())
        setattr_(self, "_modules", {})

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        hooks = self._hooks
        if hooks is None:
            return self.forward(*args, **kwargs)
        return hooks.call(self, args, kwargs)

    # --------------------------------------------------------------------------------------------------- hooks
    _hooks: ModuleHooks | None = None  # created by the first registration: a module without hooks pays nothing

    def _hook_registry(self) -> ModuleHooks:
        if self._hooks is None:
            object.__setattr__(self, "_hooks", ModuleHooks())
        return self._hooks

    def register_forward_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None result replaces ``args``."""
        hooks = self._hook_registry()
        return hooks.add(hooks.forward_pre, hook)

    def register_forward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward; a non-None result replaces the output."""
        hooks = self._hook_registry()
        return hooks.add(hooks.forward, hook)

    def register_full_backward_hook(self, hook: Callable) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` in backward, once ∂L/∂(inputs) are known; a non-None
        result replaces ``grad_input`` (see :mod:`neurones.nn.hooks`)."""
        hooks = self._hook_registry()
        return hooks.add(hooks.backward, hook)

    # ---------------------------------------------------------------------------------------------- registration
    def _check_new_name(self, name, kind: str, registry: dict) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name:
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got {name!r}')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute {name!r} already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or ``None``, a declared but absent parameter such as a disabled bias) as ``name``."""
        self._check_new_name(name, "parameter", self.__dict__.get("_parameters", {}))
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                f"(neurones.nn.Parameter or None required)"
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not learned (running statistics, masks). A persistent buffer is part
        of ``state_dict()``; a non-persistent one is not. Buffers follow ``to(dtype)`` when they are floating."""
        self._check_new_name(name, "buffer", self.__dict__.get("_buffers", {}))
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the submodule ``name`` (what ``self.name = module`` does)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name(name, "module", self.__dict__.get("_modules", {}))
        self._modules[name] = module

    register_module = add_module

    def _forget(self, name: str, keep: str) -> None:
        """Remove ``name`` from the instance dictionary and from every registry but ``keep`` (where it is about to
        be registered again: reassigning keeps its position in the registration order)."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __setattr__(self, name: str, value) -> None:
        registries = self.__dict__
        parameters = registries.get("_parameters")
        if isinstance(value, Parameter):
            if parameters is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
        elif parameters is not None and name in parameters:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    f"(neurones.nn.Parameter or None expected)"
                )
            parameters[name] = None
        elif isinstance(value, Module):
            if parameters is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif parameters is not None and name in registries["_modules"]:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)"
                )
            registries["_modules"][name] = None
        elif parameters is not None and name in registries["_buffers"]:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            registries["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # Called only when ordinary lookup fails: registered members live in the registries, not in __dict__.
        registries = self.__dict__
        if "_parameters" in registries:
            for members in (registries["_parameters"], registries["_buffers"], registries["_modules"]):
                if name in members:
                    return members[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers.discard(name)
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    # ------------------------------------------------------------------------------------------------- traversal
    def named_modules(self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True):
        """Yield ``(name, module)`` for this module and every descendant, depth first in registration order.

        A module reachable by several paths is yielded once (at its first name) unless ``remove_duplicate=False``.
        The walk uses an explicit stack, so arbitrarily deep nestings do not hit Python's recursion limit.
        """
        seen = memo if memo is not None else set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if remove_duplicate:
                if id(module) in seen:
                    continue
                seen.add(id(module))
            yield name, module
            children = [(_join(name, key), child) for key, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def _walk(self) -> Iterator[Module]:
        """:meth:`named_modules` without the names: the same modules in the same order, each once. Building the
        dotted names costs most of a walk, and :meth:`parameters` (so ``zero_grad``, every step) needs none."""
        seen = set()
        stack = [self]
        while stack:
            module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield module
            stack.extend(reversed([child for child in module._modules.values() if child is not None]))

    def modules(self) -> Iterator[Module]:
        yield from self._walk()

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        owners = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for owner_name, owner in owners:
            for name, member in getattr(owner, registry).items():
                if member is None or (remove_duplicate and id(member) in seen):
                    continue
                seen.add(id(member))
                yield _join(owner_name, name), member

    def _members(self, registry: str, recurse: bool):
        """The members of :meth:`_named_members` (duplicates removed), without their names."""
        seen = set()
        for owner in self._walk() if recurse else (self,):
            for member in getattr(owner, registry).values():
                if member is not None and id(member) not in seen:
                    seen.add(id(member))
                    yield member

    def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        """Yield ``(dotted name, parameter)``; a parameter shared by several modules is yielded once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        yield from self._members("_parameters", recurse)

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        yield from self._members("_buffers", recurse)

    def get_submodule(self, target: str) -> Module:
        """The submodule at the dotted path ``target`` (``""`` is this module)."""
        module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no submodule {part!r} (in {target!r})")
            module = child
        return module

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn`` on every submodule (children first) and then on this module; used for custom init."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``True``) or evaluation mode (``False``) on this module and all its descendants.

        Layers whose forward differs between the two (dropout, batch normalization, stochastic depth) read
        ``self.training``.
        """
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Make every parameter require grad (or stop, to freeze the module)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default, as in PyTorch ≥ 2.0) or to zeros in place."""
        # Walked directly rather than through parameters(): resetting a shared parameter twice is harmless, and
        # this runs every training step.
        for module in self._walk():
            for param in module._parameters.values():
                if param is not None:
                    param.zero_grad(set_to_none)

    # ------------------------------------------------------------------------------------------------ state dict
    def _state_tensors(self, prefix: str = "") -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, following every path (shared tensors repeat)."""
        tensors: OrderedDict[str, Tensor] = OrderedDict()
        for owner_name, owner in self.named_modules(prefix=prefix, remove_duplicate=False):
            for name, param in owner._parameters.items():
                if param is not None:
                    tensors[_join(owner_name, name)] = param
            for name, buffer in owner._buffers.items():
                if buffer is not None and name not in owner._non_persistent_buffers:
                    tensors[_join(owner_name, name)] = buffer
        return tensors

    def state_dict(self, destination: dict | None = None, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """The module's state: parameters and persistent buffers by dotted name, in registration order.

        Unlike PyTorch (which returns detached tensors sharing storage with the module), the values are independent
        NumPy copies: a state dict is a snapshot, so ``best = model.state_dict()`` needs no ``deepcopy``, and it
        saves directly with ``numpy.savez(path, **model.state_dict())``. ``keep_vars=True`` returns the module's
        tensors themselves instead (no copy), as in PyTorch.
        """
        destination = OrderedDict() if destination is None else destination
        for name, tensor in self._state_tensors(prefix.rstrip(".")).items():
            destination[name] = tensor if keep_vars else tensor.data.copy()
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy ``state_dict``'s arrays (ndarrays, tensors or array-likes) into the module's parameters and buffers.

        Values are copied into the existing tensors (cast to their dtype), so optimizers holding the parameters keep
        working. With ``strict=True`` (the default) a missing or an unexpected key is an error; a shape mismatch is
        always one. All problems are reported together in one :class:`~neurones.errors.StateDictError`, raised
        before anything is copied: a failed load leaves the module unchanged.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"expected a mapping from names to arrays, got {type(state_dict).__name__}")
        expected = self._state_tensors()
        missing = [key for key in expected if key not in state_dict]
        unexpected = [key for key in state_dict if key not in expected]
        sources = {}
        problems = []
        if strict and missing:
            problems.append("Missing key(s) in state_dict: " + ", ".join(f'"{key}"' for key in missing) + ".")
        if strict and unexpected:
            problems.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{key}"' for key in unexpected) + ".")
        for key, tensor in expected.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            source = value.data if isinstance(value, Tensor) else np.asarray(value)
            if source.shape != tensor.shape:
                problems.append(
                    f"size mismatch for {key}: copying a param with shape {source.shape} from checkpoint, "
                    f"the shape in current model is {tensor.shape}."
                )
            sources[key] = source
        if problems:
            header = f"Error(s) in loading state_dict for {type(self).__name__}:"
            raise StateDictError("\n\t".join([header, *problems]))
        with no_grad():
            for key, source in sources.items():
                expected[key].copy_(source)
        return IncompatibleKeys(missing, unexpected)

    # ----------------------------------------------------------------------------------------------------- dtype
    def to(self, *args, dtype=None, device=None) -> Module:
        """Cast floating parameters and buffers to ``dtype`` (``model.to(np.float64)``, ``model.to("float64")``).

        The casts replace each tensor's ``.data`` (and its ``.grad``) and keep the tensor objects, so an optimizer
        built before the cast keeps updating the same parameters. Integer buffers (``num_batches_tracked``) keep
        their dtype. Devices are accepted for ported code, and must be the CPU (``"cpu"``).
        """
        for arg in args:
            if isinstance(arg, str) and arg.split(":")[0] in _DEVICE_TYPES:
                device = arg
            elif isinstance(arg, Tensor):
                dtype = arg.dtype
            else:
                dtype = arg
        if device is not None and str(device).split(":")[0] != "cpu":
            raise ValueError(f"neurones runs on the CPU only, got device {device!r}")
        if dtype is None:
            return self
        dtype = as_dtype(dtype)
        if not is_floating(dtype):
            raise DTypeError(f"Module.to only accepts floating dtypes, got {dtype}")
        seen = set()
        for module in self.modules():
            for tensor in [*module._parameters.values(), *module._buffers.values()]:
                if tensor is None or id(tensor) in seen or not is_floating(tensor.dtype):
                    continue
                seen.add(id(tensor))
                if tensor.dtype != dtype:
                    tensor.data = tensor.data.astype(dtype)
                    if tensor.grad is not None:
                        tensor.grad.data = tensor.grad.data.astype(dtype)
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def half(self) -> Module:
        return self.to(np.float16)

    # ------------------------------------------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The module's own settings, shown inside its parentheses by ``repr``; layers override it."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(module), 2)}" for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        if not lines:
            return f"{type(self).__name__}()"
        if len(extra_lines) == 1 and not child_lines:
            return f"{type(self).__name__}({extra_lines[0]})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
