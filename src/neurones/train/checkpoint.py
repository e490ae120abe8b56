"""Checkpoints of a training run: everything needed to continue it bit for bit, in one file.

A run is resumed exactly when every quantity that the next step reads is restored: the parameters and buffers
(``model.state_dict()``), the optimizer's moments and step counts, the scheduler's position, the data loader's
epoch, position and order, and the state of every random generator that draws something — the process-wide
default Generator (:func:`neurones.backend.default_generator`, used by layers and loaders built without ``rng``)
and the Generators that modules hold (a ``Dropout(rng=...)``, a ``StochasticDepth(rng=...)``), found by walking
the modules for attributes that are ``numpy.random.Generator`` objects. :func:`save_checkpoint` writes all of them
into one ``.npz`` file (format, checksum and atomic write: :mod:`neurones.train.checkpoint_file`);
:func:`load_checkpoint` puts them back into freshly built objects of the same structure.

A load either succeeds completely or leaves every object as it was: the file is verified before anything is
touched, and if the state does not fit one of the objects (another architecture, another optimizer), the objects
already loaded are rolled back before :class:`~neurones.errors.CheckpointError` is raised.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

import neurones
from neurones.backend import default_generator
from neurones.errors import CheckpointError
from neurones.train.checkpoint_file import read_tree, write_tree


def module_generators(model) -> dict[str, np.random.Generator]:
    """The ``numpy.random.Generator`` objects held as attributes by ``model`` and its submodules, by dotted name
    (``"2.rng"`` for ``model[2].rng``); a Generator shared by several modules appears once, at its first name."""
    found: dict[str, np.random.Generator] = {}
    seen: set[int] = set()
    for module_name, module in model.named_modules():
        for attribute, value in vars(module).items():
            if isinstance(value, np.random.Generator) and id(value) not in seen:
                seen.add(id(value))
                found[f"{module_name}.{attribute}" if module_name else attribute] = value
    return found


def save_checkpoint(
    path: str | os.PathLike,
    model,
    optimizer=None,
    scheduler=None,
    loader=None,
    *,
    rng_states: bool = True,
    generators: Mapping[str, np.random.Generator] | None = None,
    extra: Mapping | None = None,
) -> Path:
    """Write the state of a training run to ``path`` (a ``.npz`` file) atomically, and return the path.

    Stored: ``model.state_dict()``; ``optimizer``, ``scheduler`` and ``loader`` state dicts when given; with
    ``rng_states`` (default) the state of the default Generator and of every Generator the model's modules hold,
    plus any other ``generators`` named by the caller; and ``extra``, a tree of the caller's own (numbers,
    strings, arrays, lists, tuples, dicts) returned as is by :func:`load_checkpoint`. The previous file at ``path``
    is replaced only once the new one is fully written and verified.
    """
    tree = {
        "neurones_version": neurones.__version__,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "loader": None if loader is None else loader.state_dict(),
        "rng": _RandomStates(model, generators, strict=True).state_dict() if rng_states else None,
        "extra": dict(extra) if extra is not None else {},
    }
    return write_tree(path, tree)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """The verified contents of a checkpoint, as a dict with the entries ``model``, ``optimizer``, ``scheduler``,
    ``loader``, ``rng`` (``None`` where nothing was saved), ``extra`` and ``neurones_version``."""
    tree = read_tree(path)
    if not isinstance(tree, dict) or "model" not in tree:
        raise CheckpointError(f"checkpoint {os.fspath(path)} is not a training checkpoint: it has no model state")
    return tree


def load_checkpoint(
    path: str | os.PathLike,
    model,
    optimizer=None,
    scheduler=None,
    loader=None,
    *,
    rng_states: bool = True,
    generators: Mapping[str, np.random.Generator] | None = None,
    strict: bool = True,
) -> dict:
    """Restore the objects given from the checkpoint at ``path`` and return its ``extra`` tree.

    Objects must be built the same way as those that were saved (same architecture, optimizer over the same
    parameter groups, same kind of scheduler and loader). With ``rng_states`` (default) the default Generator,
    the Generators of the model's modules and the named ``generators`` are put back in their saved states; with
    ``strict`` (default) a module Generator present on one side only is an error, as a missing or an unexpected
    key of the model's state dict is. Raises :class:`~neurones.errors.CheckpointError` when the file is damaged
    or when its state does not fit; the objects are then left as they were.
    """
    name = os.fspath(path)
    tree = read_checkpoint(path)
    targets = {"optimizer": optimizer, "scheduler": scheduler, "loader": loader}
    for key, target in targets.items():
        if target is not None and tree.get(key) is None:
            raise CheckpointError(f"checkpoint {name} holds no {key} state, but a {key} was given to load it into")
    if rng_states and tree.get("rng") is None:
        raise CheckpointError(f"checkpoint {name} holds no random states; pass rng_states=False to load it anyway")
    restorers = [("model", tree["model"], _Restorer(model.state_dict, lambda s: model.load_state_dict(s, strict)))]
    for key, target in targets.items():
        if target is not None:
            snapshot = _deep_snapshot(target)
            restorers.append((key, tree[key], _Restorer(snapshot, target.load_state_dict)))
    if rng_states:
        rngs = _RandomStates(model, generators, strict)
        restorers.append(("random generators", tree["rng"], _Restorer(rngs.state_dict, rngs.load_state_dict)))
    done: list[_Restorer] = []
    for key, saved, restorer in restorers:
        try:
            restorer.load(saved)
        except Exception as exc:
            for loaded in reversed(done):
                loaded.roll_back()
            restorer.roll_back()
            raise CheckpointError(f"checkpoint {name} does not fit the {key} it is loaded into: {exc}") from exc
        done.append(restorer)
    return tree.get("extra") or {}


def _deep_snapshot(target):
    """A function returning a copy of ``target``'s state that later changes to ``target`` cannot alter."""
    return lambda: copy.deepcopy(target.state_dict())


class _Restorer:
    """Loads a saved state into one object, keeping the object's previous state to roll back to."""

    def __init__(self, snapshot, load) -> None:
        self._snapshot = snapshot
        self._load = load
        self._previous = None

    def load(self, saved) -> None:
        self._previous = self._snapshot()
        self._load(saved)

    def roll_back(self) -> None:
        if self._previous is not None:
            self._load(self._previous)


class _RandomStates:
    """The default Generator, the model's Generators and caller-named ones, saved and restored as one state."""

    def __init__(self, model, generators: Mapping[str, np.random.Generator] | None, strict: bool) -> None:
        self.modules = module_generators(model)
        self.extra = dict(generators or {})
        self.strict = strict

    def state_dict(self) -> dict:
        return {
            "default": default_generator().bit_generator.state,
            "modules": {name: rng.bit_generator.state for name, rng in self.modules.items()},
            "extra": {name: rng.bit_generator.state for name, rng in self.extra.items()},
        }

    def load_state_dict(self, saved: dict) -> None:
        for group in ("modules", "extra"):
            mine, theirs = getattr(self, group), saved[group]
            missing = sorted(set(mine) - set(theirs))
            unexpected = sorted(set(theirs) - set(mine))
            if (missing and (self.strict or group == "extra")) or (unexpected and self.strict):
                raise ValueError(
                    f"{group} generators differ: missing from the checkpoint {missing}, not in the objects {unexpected}"
                )
        _set_state(default_generator(), saved["default"], "default")
        for group in ("modules", "extra"):
            for name, rng in getattr(self, group).items():
                if name in saved[group]:
                    _set_state(rng, saved[group][name], name)


def _set_state(rng: np.random.Generator, state: dict, name: str) -> None:
    kind = type(rng.bit_generator).__name__
    if state.get("bit_generator") != kind:
        saved_kind = state.get("bit_generator")
        raise ValueError(f"generator {name!r} is a {kind}, but the checkpoint holds a {saved_kind} state")
    rng.bit_generator.state = state
