"""MNIST-1D (Greydanus 2020), the lab's default real dataset: ten 1-d digit templates, padded, translated, sheared,
scaled and noised into signals of length 40, generated offline by the ``mnist1d`` package (the ``lab`` extra).

Only the package's generator is used, never its download path: nothing touches the network. The generator seeds
NumPy's and Python's *global* random states; both are saved before and restored after, so that loading MNIST-1D
changes no other random stream. The generated arrays are cached as ``.npz`` files in :func:`default_cache_dir`,
one per set of generation arguments and package version, written atomically (a temporary file, then
``os.replace``), so that concurrent runs never read half a file.

Importing ``mnist1d`` imports, at module level, ``requests`` (for the download path, unused here),
``matplotlib.pyplot`` (for its plotting helper) and ``scipy``; this costs about a second, once, and only when a
dataset has to be generated: a cache hit imports nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import random
import warnings
import zipfile
from pathlib import Path

import numpy as np

from neurones.atomic_file import atomic_write
from neurones.autodiff.creation import from_numpy
from neurones.backend import DEFAULT_DTYPE, as_dtype
from neurones.data.dataset import TensorDataset

_ARRAYS = ("x", "y", "x_test", "y_test")
_CACHE_FORMAT = 1
_LAB_EXTRA_HINT = "install the `lab` extra: pip install 'neurones[lab]' (or pip install mnist1d)"


def default_cache_dir() -> Path:
    """``$NEURONES_CACHE`` if set, else ``$XDG_CACHE_HOME/neurones``, else ``~/.cache/neurones``."""
    if os.environ.get("NEURONES_CACHE"):
        return Path(os.environ["NEURONES_CACHE"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "neurones"
    return Path.home() / ".cache" / "neurones"


def _package_version() -> str:
    try:
        return importlib.metadata.version("mnist1d")
    except importlib.metadata.PackageNotFoundError as exc:
        raise ImportError(f"MNIST-1D needs the `mnist1d` package; {_LAB_EXTRA_HINT}") from exc


def _generate(arguments: dict) -> dict[str, np.ndarray]:
    """Run the package's generator with its default arguments updated by ``arguments``, leaving the global random
    states of NumPy and Python as they were."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
        from mnist1d.utils import ObjectView
    except ImportError as exc:
        raise ImportError(f"MNIST-1D needs the `mnist1d` package ({exc}); {_LAB_EXTRA_HINT}") from exc
    full = get_dataset_args(as_dict=True)
    known = set(full) - {"url"}
    unknown = set(arguments) - known
    if unknown:
        raise TypeError(f"load_mnist1d: unknown MNIST-1D arguments {sorted(unknown)}; known: {sorted(known)}")
    full.update(arguments)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(ObjectView(full))
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    return {name: np.asarray(data[name]) for name in _ARRAYS}


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    """The cached arrays, or ``None`` when the file is missing or unreadable (it is then generated again)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in _ARRAYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write_cache(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as file:
        np.savez(file, **arrays)


def load_mnist1d(
    seed: int = 42, *, cache_dir: str | os.PathLike | None = None, dtype=None, **dataset_args
) -> tuple[TensorDataset, TensorDataset]:
    """The MNIST-1D train and test sets: ``x`` of shape ``(N, 40)`` (``dtype``, float32 by default) and labels
    ``y`` int64 in ``0..9``.

    With the package's defaults (``num_samples=5000``, ``train_split=0.8``, ``seed=42``: the canonical dataset) the
    split is 4000/1000. Any other generation argument of ``mnist1d.data.get_dataset_args`` can be overridden by
    keyword (``num_samples``, ``shuffle_seq``, ``iid_noise_scale``...). Arrays are cached under ``cache_dir``
    (default :func:`default_cache_dir`); if the cache cannot be written, a warning is issued and the data are
    returned all the same.
    """
    arguments = {**dataset_args, "seed": seed}
    key = json.dumps(
        {"format": _CACHE_FORMAT, "mnist1d": _package_version(), "args": arguments}, sort_keys=True, default=repr
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = Path(default_cache_dir() if cache_dir is None else cache_dir) / f"mnist1d-{digest}.npz"
    arrays = _read_cache(path)
    if arrays is None:
        arrays = _generate(arguments)
        try:
            _write_cache(path, arrays)
        except OSError as exc:
            warnings.warn(f"load_mnist1d: could not cache MNIST-1D in {path.parent}: {exc}", stacklevel=2)
    dtype = DEFAULT_DTYPE if dtype is None else as_dtype(dtype)
    train = TensorDataset(from_numpy(arrays["x"].astype(dtype)), from_numpy(arrays["y"].astype(np.int64)))
    test = TensorDataset(from_numpy(arrays["x_test"].astype(dtype)), from_numpy(arrays["y_test"].astype(np.int64)))
    return train, test
