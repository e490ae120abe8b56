"""Containers: ``Sequential`` (a chain of modules), ``ModuleList`` and ``ModuleDict`` (registered collections).

A plain Python list of layers is invisible to ``parameters()``; these containers register their items as
submodules (named ``"0"``, ``"1"``, ... or by key), exactly as PyTorch's do.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from neurones.nn.module import Module


def _index(position: int, length: int, container: str) -> int:
    """A non-negative position from a possibly negative one, checked against ``length``."""
    position = int(position)
    if not -length <= position < length:
        raise IndexError(f"index {position} is out of range for a {container} of length {length}")
    return position % length


class Sequential(Module):
    """Apply modules one after the other: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Built from modules (named ``"0"``, ``"1"``, ...) or from one ``OrderedDict`` of named modules. Supports indexing
    (a slice gives a ``Sequential`` of the same modules, keeping their names), ``len``, iteration and ``append``.

    The modules run as written, so that hooks see what the user wrote. A ReLU followed by a max-pool costs less
    as one fused module, :class:`~neurones.nn.ReLUMaxPool2d`; :func:`neurones.nn.utils.fuse_relu_max_pool` makes
    that replacement explicitly.
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for position, module in enumerate(args):
                self.add_module(str(position), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_index(index, len(self._modules), "Sequential")]

    def __setitem__(self, index: int, module: Module) -> None:
        key = list(self._modules)[_index(index, len(self._modules), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, index) -> None:
        keys = list(self._modules)
        doomed = keys[index] if isinstance(index, slice) else [keys[_index(index, len(keys), "Sequential")]]
        for key in doomed:
            del self._modules[key]
        # Renumber, as PyTorch does, so that names are positions again.
        remaining = list(self._modules.values())
        self._modules.clear()
        for position, module in enumerate(remaining):
            self._modules[str(position)] = module

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> Sequential:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        modules = list(self._modules.values())
        position = index if index == len(modules) else _index(index, len(modules), "Sequential")
        modules.insert(position, module)
        self._modules.clear()
        for i, item in enumerate(modules):
            self.add_module(str(i), item)
        return self


class ModuleList(Module):
    """A list of submodules, registered so that their parameters are found; indexing and iteration like a list."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._modules[str(_index(index, len(self._modules), "ModuleList"))]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_index(index, len(self._modules), "ModuleList")), module)

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[_index(index, len(modules), "ModuleList")]
        self._modules.clear()
        self.extend(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        if isinstance(modules, Module) or not isinstance(modules, Iterable):
            raise TypeError(f"ModuleList.extend expects an iterable of modules, got {type(modules).__name__}")
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        self.extend(modules)


class ModuleDict(Module):
    """A dictionary of submodules by name (insertion order kept), registered so that their parameters are found."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        return self._modules.pop(key)

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for entry in pairs:
            key, module = entry
            self[key] = module
