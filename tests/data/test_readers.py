"""Readers of MNIST IDX files and CIFAR-10 python batches: round trips through tiny files, and clear errors."""

import gzip
import pickle
import struct

import numpy as np
import pytest

from neurones.data import load_cifar10, load_mnist, read_idx
from neurones.errors import DataFormatError

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(">i2"): 0x0B,
    np.dtype(">i4"): 0x0C,
    np.dtype(">f4"): 0x0D,
    np.dtype(">f8"): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    big_endian = array.astype(array.dtype.newbyteorder(">")) if array.dtype.itemsize > 1 else array
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[big_endian.dtype], array.ndim)
    return header + struct.pack(f">{array.ndim}I", *array.shape) + big_endian.tobytes()


def write(path, payload: bytes, compress: bool = False):
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, rng, dtype, compress):
    array = (rng.standard_normal((3, 4, 2)) * 50).astype(dtype)
    path = write(tmp_path / "array-idx3", idx_bytes(array), compress)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative and out.flags.writeable
    np.testing.assert_array_equal(out, array)


def test_idx_errors_name_the_file_and_the_problem(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    good = idx_bytes(array)
    with pytest.raises(FileNotFoundError, match=r"'absent-idx1-ubyte' not found in .*"):
        read_idx(tmp_path / "absent-idx1-ubyte")
    cases = {
        "truncated": (good[:-5], r"truncated: .*shape \(2, 3, 4\) \(24 bytes\).* 19 bytes"),
        "trailing": (good + b"\x00", "trailing bytes"),
        "magic": (b"\x01" + good[1:], "not an IDX file"),
        "code": (good[:2] + b"\x07" + good[3:], "unknown IDX type code 0x07"),
        "short": (good[:3], "too short"),
        "header": (good[:9], "truncated header"),
    }
    for name, (payload, message) in cases.items():
        path = write(tmp_path / name, payload)
        with pytest.raises(DataFormatError, match=message) as info:
            read_idx(path)
        assert name in str(info.value)
    broken_gzip = write(tmp_path / "broken.gz", gzip.compress(good)[:-10])
    with pytest.raises(DataFormatError, match=r"broken\.gz.*gzip"):
        read_idx(broken_gzip)


def write_mnist(folder, prefix, images, labels, compress):
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    write(folder / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), compress)
    write(folder / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), compress)


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist(tmp_path, rng, compress):
    images = rng.integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    labels = np.array([0, 9, 3, 3, 1, 7], dtype=np.uint8)
    write_mnist(tmp_path, "train", images, labels, compress)
    write_mnist(tmp_path / "MNIST" / "raw", "t10k", images[:2], labels[:2], compress)
    x, y = load_mnist(tmp_path)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 0], images)
    np.testing.assert_array_equal(y, labels)
    x_test, y_test = load_mnist(tmp_path, train=False)
    assert x_test.shape == (2, 1, 28, 28) and y_test.tolist() == [0, 9]


def test_load_mnist_missing_and_inconsistent_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"train-images-idx3-ubyte / train-images-idx3-ubyte.gz not found"):
        load_mnist(tmp_path)
    images = np.zeros((3, 28, 28), np.uint8)
    write_mnist(tmp_path, "train", images, np.zeros(2, np.uint8), compress=False)
    with pytest.raises(DataFormatError, match="expected 3 labels"):
        load_mnist(tmp_path)
    write_mnist(tmp_path, "train", images, np.array([1, 2, 10], np.uint8), compress=False)
    with pytest.raises(DataFormatError, match="not a digit"):
        load_mnist(tmp_path)


def cifar_batch(rng, n):
    return {
        b"batch_label": b"testing batch",
        b"labels": rng.integers(0, 10, size=n).tolist(),
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        b"filenames": [b"x.png"] * n,
    }


def write_cifar(folder, rng, sizes):
    folder.mkdir(parents=True, exist_ok=True)
    batches = {}
    for name, n in sizes.items():
        batches[name] = cifar_batch(rng, n)
        with open(folder / name, "wb") as file:
            pickle.dump(batches[name], file, protocol=2)
    return batches


def test_load_cifar10_round_trip(tmp_path, rng):
    names = {f"data_batch_{i}": i for i in range(1, 6)} | {"test_batch": 3}
    batches = write_cifar(tmp_path / "cifar-10-batches-py", rng, names)
    x, y = load_cifar10(tmp_path)
    assert x.shape == (15, 3, 32, 32) and x.dtype == np.uint8 and y.dtype == np.int64
    expected = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    np.testing.assert_array_equal(x.reshape(15, -1), expected)
    # the first 1024 values of a row are the red plane, row-major
    np.testing.assert_array_equal(x[0, 0].ravel(), expected[0, :1024])
    np.testing.assert_array_equal(x[0, 2, 1], expected[0, 2048 + 32 : 2048 + 64])
    np.testing.assert_array_equal(y, [label for i in range(1, 6) for label in batches[f"data_batch_{i}"][b"labels"]])
    x_test, y_test = load_cifar10(tmp_path / "cifar-10-batches-py", train=False)
    assert x_test.shape == (3, 3, 32, 32) and y_test.tolist() == batches["test_batch"][b"labels"]


def test_load_cifar10_missing_truncated_and_foreign_files(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 file test_batch not found in .*cifar-10-batches-py"):
        load_cifar10(tmp_path, train=False)
    write_cifar(tmp_path, rng, {"test_batch": 4})
    content = (tmp_path / "test_batch").read_bytes()
    (tmp_path / "test_batch").write_bytes(content[: len(content) // 2])
    with pytest.raises(DataFormatError, match="test_batch: not a readable CIFAR-10 batch"):
        load_cifar10(tmp_path, train=False)

    class Payload:
        def __reduce__(self):
            return (print, ("this must never run",))

    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": Payload()}))
    with pytest.raises(DataFormatError, match=r"refusing to load the global builtins\.print"):
        load_cifar10(tmp_path, train=False)
    bad_shape = cifar_batch(rng, 2)
    bad_shape[b"data"] = bad_shape[b"data"][:, :100]
    (tmp_path / "test_batch").write_bytes(pickle.dumps(bad_shape))
    with pytest.raises(DataFormatError, match=r"uint8 array \(N, 3072\), found uint8 \(2, 100\)"):
        load_cifar10(tmp_path, train=False)
    bad_labels = cifar_batch(rng, 2)
    bad_labels[b"labels"] = [1]
    (tmp_path / "test_batch").write_bytes(pickle.dumps(bad_labels))
    with pytest.raises(DataFormatError, match="must hold 2 integers"):
        load_cifar10(tmp_path, train=False)
    (tmp_path / "test_batch").write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataFormatError, match="is a dict"):
        load_cifar10(tmp_path, train=False)


def test_python2_style_cifar_pickle(tmp_path):
    """The real batches were written by Python 2: the array is rebuilt from numpy.core paths and str data."""
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    original = pickle.dumps({b"data": data, b"labels": [4, 2]}, protocol=2)
    legacy = original.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert legacy != original
    (tmp_path / "test_batch").write_bytes(legacy)
    x, y = load_cifar10(tmp_path, train=False)
    np.testing.assert_array_equal(x.reshape(2, -1), data)
    assert y.tolist() == [4, 2]
