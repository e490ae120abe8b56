"""The checkpoint file format: a tree of Python values and arrays in one ``.npz`` file, checksummed, written atomically.

A checkpoint is a nested structure of dicts, lists, tuples, scalars and ndarrays (state dicts of a model, an
optimizer, a scheduler, a data loader, random generators). The file is a NumPy ``.npz`` archive (a zip of ``.npy``
files) holding:

* ``__header__`` — UTF-8 JSON bytes: the format name, its version and the SHA-256 of the content below;
* ``__content__`` — UTF-8 JSON bytes: the tree, in which every array is replaced by a reference to its entry;
* one entry per array, named by its path in the tree (``model/fc.weight``, ``optimizer/state/0/exp_avg``).

JSON cannot tell a tuple from a list, an ``int`` key from a ``str`` key, or a ``Counter`` from a ``dict``, and
state dicts use all of these (Adam's ``betas``, an optimizer's integer parameter indices, ``MultiStepLR``'s
milestones). Such values are written as one-key objects naming their type (``{"tuple": [...]}``), so that a tree
reads back equal to, and of the same types as, the one written. Nothing is pickled: the archive is read with
``allow_pickle=False``, so loading a checkpoint never runs code.

The checksum covers the content bytes and every array (name, dtype, shape, bytes): a file altered anywhere,
truncated, or not a checkpoint at all is reported as a :class:`~neurones.errors.CheckpointError` that names it.
Files are written to a temporary file in the destination directory, flushed to disk, read back and verified,
and only then renamed over the destination, so that an interrupted or failed save leaves the previous checkpoint
intact and no temporary file behind.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zipfile
import zlib
from collections import Counter, OrderedDict
from pathlib import Path

import numpy as np

from neurones.atomic_file import atomic_write
from neurones.errors import CheckpointError

FORMAT_NAME = "neurones.checkpoint"
FORMAT_VERSION = 1
_HEADER = "__header__"
_CONTENT = "__content__"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# ------------------------------------------------------------------------------------------------ tree encoding
class _Encoder:
    """Turns a tree into JSON-compatible values, collecting its arrays under names that are their paths."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, value, path: str):
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else {"float": repr(value)}
        if isinstance(value, np.ndarray):
            return {"array": self._store(value, path)}
        if isinstance(value, np.generic):
            return {"scalar": [value.dtype.str, self.encode(value.item(), path)]}
        if isinstance(value, list):
            return [self.encode(item, f"{path}/{i}") for i, item in enumerate(value)]
        if isinstance(value, tuple):
            return {"tuple": [self.encode(item, f"{path}/{i}") for i, item in enumerate(value)]}
        if isinstance(value, dict):
            tag = "dict"
            if isinstance(value, Counter):
                tag = "counter"
            elif isinstance(value, OrderedDict):
                tag = "ordered_dict"
            items = [[self.encode(key, path), self.encode(item, f"{path}/{key}")] for key, item in value.items()]
            return {tag: items}
        raise CheckpointError(
            f"cannot store a value of type {type(value).__name__} at {path or '/'} in a checkpoint: only arrays, "
            f"numbers, strings, None, and lists, tuples and dicts of them are stored (no pickled objects)"
        )

    def _store(self, array: np.ndarray, path: str) -> str:
        if array.dtype.hasobject:
            raise CheckpointError(f"cannot store the object array at {path} in a checkpoint (it would need pickle)")
        name = path.strip("/") or "array"
        candidate, suffix = name, 1
        while candidate in self.arrays or candidate in (_HEADER, _CONTENT):
            suffix += 1
            candidate = f"{name}#{suffix}"
        self.arrays[candidate] = array
        return candidate


def _decode(node, arrays: dict[str, np.ndarray]):
    if isinstance(node, list):
        return [_decode(item, arrays) for item in node]
    if not isinstance(node, dict):
        return node
    ((tag, body),) = node.items()
    if tag == "array":
        return arrays[body]
    if tag == "float":
        return _NON_FINITE[body]
    if tag == "scalar":
        dtype, value = body
        return np.dtype(dtype).type(_decode(value, arrays))
    if tag == "tuple":
        return tuple(_decode(item, arrays) for item in body)
    items = {_decode(key, arrays): _decode(item, arrays) for key, item in body}
    return {"dict": dict, "ordered_dict": OrderedDict, "counter": Counter}[tag](items)


# ---------------------------------------------------------------------------------------------------- checksum
def _checksum(content: bytes, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(content)
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"\0{name}\0{array.dtype.str}\0{array.shape}\0".encode())
        digest.update(array.data if array.size else b"")
    return digest.hexdigest()


def _as_bytes_array(payload: bytes) -> np.ndarray:
    return np.frombuffer(payload, dtype=np.uint8)


# ------------------------------------------------------------------------------------------------------ writing
def write_tree(path: str | os.PathLike, tree) -> Path:
    """Write ``tree`` to ``path`` atomically and return the path.

    The archive is written through :func:`neurones.atomic_file.atomic_write` and read back and verified before it
    replaces ``path``; on any failure ``path`` is left as it was. A file system that refuses the write (full,
    read-only, no permission) is a :class:`~neurones.errors.CheckpointError` naming the file and the cause.
    """
    path = Path(path)
    encoder = _Encoder()
    content = json.dumps(encoder.encode(tree, ""), allow_nan=False, separators=(",", ":")).encode()
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "sha256": _checksum(content, encoder.arrays)}
    entries = {
        _HEADER: _as_bytes_array(json.dumps(header).encode()),
        _CONTENT: _as_bytes_array(content),
        **encoder.arrays,
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "wb") as file:
            np.savez(file, **entries)
            file.flush()
            read_tree(file.name)  # verify what reached the disk before it replaces anything
    except OSError as exc:
        kept = "; the previous checkpoint there is kept" if path.exists() else ""
        raise CheckpointError(f"cannot save checkpoint {path}: {exc.strerror or exc}{kept}") from exc
    return path


# ------------------------------------------------------------------------------------------------------ reading
def read_tree(path: str | os.PathLike):
    """Read the tree written by :func:`write_tree`, verifying its format, version and checksum.

    Raises :class:`~neurones.errors.CheckpointError` naming the file when it is truncated, corrupt, of a newer
    format version, or not a neurones checkpoint; ``FileNotFoundError`` when it does not exist.
    """
    name = os.fspath(path)
    if os.path.isfile(name) and not zipfile.is_zipfile(name):  # np.load would suggest allow_pickle: misleading
        raise CheckpointError(f"checkpoint {name} is truncated or not a neurones checkpoint (not an .npz archive)")
    try:
        with np.load(name, allow_pickle=False) as archive:
            if _HEADER not in archive.files or _CONTENT not in archive.files:
                raise CheckpointError(f"checkpoint {name} is not a neurones checkpoint: it has no header")
            header = json.loads(archive[_HEADER].tobytes().decode())
            content = archive[_CONTENT].tobytes()
            arrays = {key: archive[key] for key in archive.files if key not in (_HEADER, _CONTENT)}
    except FileNotFoundError:
        raise
    except CheckpointError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {name} is truncated or not a neurones checkpoint: {exc}") from exc
    _check_header(name, header)
    computed = _checksum(content, arrays)
    if computed != header["sha256"]:
        raise CheckpointError(
            f"checkpoint {name} is corrupt: its checksum does not match its contents "
            f"(stored sha256 {header['sha256'][:16]}…, computed {computed[:16]}…)"
        )
    try:
        return _decode(json.loads(content.decode()), arrays)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {name} has a malformed content tree: {exc}") from exc


def _check_header(name: str, header) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise CheckpointError(f"checkpoint {name} is not a neurones checkpoint: unknown header {header!r}")
    version = header.get("version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {name} has format version {version!r}, but this neurones reads versions 1 to "
            f"{FORMAT_VERSION}: it was written by a newer neurones, or is damaged"
        )
    if not isinstance(header.get("sha256"), str):
        raise CheckpointError(f"checkpoint {name} is not a neurones checkpoint: its header has no checksum")
