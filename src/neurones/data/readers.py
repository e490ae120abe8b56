"""Readers for the files of standard datasets that the user already has in a local folder: MNIST's IDX files and
CIFAR-10's "python version" batches. Nothing is downloaded.

IDX (LeCun's format, big-endian): two zero bytes, a type code (``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16,
``0x0C`` int32, ``0x0D`` float32, ``0x0E`` float64), the number of dimensions, one 4-byte size per dimension, then
the data in C order. Files may be gzip-compressed (recognized by their magic bytes, whatever their name).

CIFAR-10 batches are Python pickles. Unpickling can run arbitrary code, so load only files you trust; as a
safeguard, the unpickler here refuses every global except the few that NumPy arrays need, so a batch that holds
anything other than arrays, lists, numbers and bytes is rejected.

Files that are missing raise ``FileNotFoundError`` naming the file and the folder; files that are truncated or
corrupt raise :class:`~neurones.errors.DataFormatError` naming the file and what is wrong.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np

from neurones.errors import DataFormatError

_IDX_DTYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def _file_bytes(path: Path) -> bytes:
    with open(path, "rb") as file:
        raw = file.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: corrupt or truncated gzip data ({exc})") from exc


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in the IDX file ``path`` (plain or gzip), in native byte order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file {path.name!r} not found in {path.parent}")
    raw = _file_bytes(path)
    if len(raw) < 4:
        raise DataFormatError(f"{path}: {len(raw)} bytes, too short for the 4-byte IDX magic number")
    if raw[:2] != b"\x00\x00":
        raise DataFormatError(f"{path}: not an IDX file (magic number starts with {raw[:2].hex()}, not 0000)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DataFormatError(f"{path}: unknown IDX type code 0x{code:02X}")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataFormatError(f"{path}: truncated header ({len(raw)} bytes for {ndim} dimensions)")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - header_size
    if found != expected:
        what = "truncated" if found < expected else "has trailing bytes"
        raise DataFormatError(
            f"{path}: {what}: the header announces {dtype.name} data of shape {shape} "
            f"({expected} bytes) but the file holds {found} bytes of data"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header_size).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _find_file(folders: list[Path], names: list[str], what: str) -> Path:
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    places = " or ".join(str(folder) for folder in folders)
    raise FileNotFoundError(f"{what} file {' / '.join(names)} not found in {places}")


def load_mnist(root: str | os.PathLike, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from its IDX files in ``root`` (or in ``root/MNIST/raw``, torchvision's layout), gzip or not.

    Returns images ``(N, 1, 28, 28)`` uint8 (NCHW) and labels ``(N,)`` int64: the 60,000 training images, or the
    10,000 test images (``t10k-*``) when ``train`` is false.
    """
    root = Path(root)
    folders = [root, root / "MNIST" / "raw"]
    prefix = "train" if train else "t10k"
    files = []
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte"):
        stem = f"{prefix}-{kind}"
        files.append(_find_file(folders, [stem, stem + ".gz"], "MNIST"))
    images, labels = (read_idx(path) for path in files)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataFormatError(f"{files[0]}: expected uint8 images (N, H, W), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataFormatError(f"{files[1]}: expected {images.shape[0]} labels, got an array of shape {labels.shape}")
    if labels.size and labels.max() > 9:
        raise DataFormatError(f"{files[1]}: label {int(labels.max())} is not a digit")
    return images[:, None], labels.astype(np.int64)


_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_GLOBALS = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _CIFAR_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load the global {module}.{name}")
        return super().find_class(module, name)


def _field(batch: dict, name: str):
    return batch[name.encode()] if name.encode() in batch else batch.get(name)


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as file:
            batch = _ArrayOnlyUnpickler(file, encoding="bytes").load()
    except Exception as exc:  # a truncated or foreign pickle fails in many ways; all mean "not a CIFAR batch"
        raise DataFormatError(f"{path}: not a readable CIFAR-10 batch pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(batch, dict):
        raise DataFormatError(f"{path}: a CIFAR-10 batch is a dict, found a {type(batch).__name__}")
    data, labels = _field(batch, "data"), _field(batch, "labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        found = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise DataFormatError(f"{path}: b'data' must be a uint8 array (N, 3072), found {found}")
    labels = np.asarray(labels) if labels is not None else np.empty(0)
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise DataFormatError(
            f"{path}: b'labels' must hold {data.shape[0]} integers, found {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataFormatError(f"{path}: labels must lie in 0..9")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(root: str | os.PathLike, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 from its python batches (``data_batch_1`` .. ``data_batch_5``, ``test_batch``) in ``root`` or in
    ``root/cifar-10-batches-py`` (the extracted archive).

    Returns images ``(N, 3, 32, 32)`` uint8 (each row of a batch is the red, green then blue 32×32 plane) and
    labels ``(N,)`` int64: 50,000 training images, or the 10,000 test images when ``train`` is false.
    """
    root = Path(root)
    folders = [root, root / _CIFAR_FOLDER]
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    batches = [_read_cifar_batch(_find_file(folders, [name], "CIFAR-10")) for name in names]
    images = np.concatenate([images for images, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    return images, labels
