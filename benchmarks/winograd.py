"""Winograd F(2×2, 3×3) against the im2col ``conv2d``, forward and backward: a measured comparison (issue 5).

Not part of the library: measured, it cannot beat the im2col path by more than a few percent at the default two
BLAS threads and is slower on the small CNN's convolutions (see "Results"), so ``conv2d`` keeps im2col. This
script keeps the implementation and the measurements so that they can be rerun (``python -m benchmarks.winograd``;
add ``--threads 2`` on a quiet machine).

**Math.** For a 3×3 kernel, stride 1, dilation 1, one group: the output is cut into 2×2 tiles (the last row or
column of tiles padded and cropped when Ho or Wo is odd), tile (t, u) reads the 4×4 window d of the padded input
xp at (2t, 2u), and

    Y = Aᵀ [U ⊙ V] A,   U = G g Gᵀ (per output and input channel),   V = Bᵀ d B (per tile and input channel),

    Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]],   Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]],
    G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].

The sum over input channels inside U ⊙ V makes, at each of the 16 Winograd positions ξ = (k, l), one matrix
product M[ξ] = U[ξ] V[ξ] of (O × C) by (C × tiles): 16 products stacked in one ``np.matmul``. The bias is added to
M[(1, 1)], since Aᵀ e₁ e₁ᵀ A is the all-ones 2×2 tile.

**Backward.** The forward is a chain of linear maps that computes the convolution exactly (up to rounding), so
their adjoints, in reverse order, are the convolution's gradients: M̄ = A Ȳ Aᵀ per tile (the output cotangent
Ȳ, zero on cropped positions); dU[ξ] = Σ_tiles M̄[ξ] V[ξ]ᵀ (one stacked product) and d(weight) = Gᵀ dU G;
dV[ξ] = U[ξ]ᵀ M̄[ξ] and d(xp) = B dV Bᵀ scatter-added over the overlapping tiles, then cropped to the input.
A = (Aᵀ)ᵀ has a −1 in its last row: M̄ is stored as s_k s_l M̄[k, l] with s = (1, 1, 1, −1), which saves the
negations, and the signs are folded into Uᵀ (for dV) and into dU.

**Layout.** The transforms are NumPy passes, so their cost is the number of passes and how long their contiguous
runs are. The padded input of each batch chunk is stored as four parity planes X[r, s][c, n, p, q] = xp[n, c,
2p + r, 2q + s] ((Ty + 1) × (Tx + 1) per channel and image, flat): entry (i, j) of every tile of the chunk is then
one contiguous run of X[i mod 2, j mod 2] shifted by (i div 2)(Tx + 1) + j div 2, and Bᵀ d B is 8 whole-run
subtractions and additions (rows then columns). The positions p = Ty or q = Tx of each plane are junk tiles,
computed and dropped (15% more columns on 28×28, 31% on 14×14). V is written in the layout the products read,
(16, C, columns), and M is transformed in place; only the last two passes write into the NCHW output. The
backward mirrors this (d(xp) is accumulated in parity planes). Keeping V from the forward instead of recomputing
it in the backward was measured at the same speed, and holds 4× the input.

**Results** (2-core AMD EPYC, OpenBLAS, float32, forward and backward with the x, weight and bias gradients,
``python -m benchmarks.winograd``). The machine was shared with two to three other jobs, which makes two-thread
BLAS times meaningless (both paths took 50-500 ms); with one BLAS thread all the work is on the calling thread, so
its CPU time (medians of 30 alternated repeats) is close to what it would take alone:

    shape (N, C, H, W) → O         im2col, 1 thread           Winograd, 1 thread
    64×16×28×28 → 32 (conv)        23.2 ms (17.0 products)    18.8 ms: 10.9 transforms + 7.6 products
    128×16×14×14 → 32 (CNN 2)      13.4 ms (9.6 products)     14.1 ms: 9.5 transforms + 4.7 products
    128×1×28×28 → 16 (CNN 1)        5.5 ms                    19.3 ms: products of inner size C = 1 (9.5 ms)

The Winograd transforms (conv shape, ms): parity planes 0.85, input transform 1.1 (and 1.1 again in the
backward), output transform 3.6, its adjoint 1.9, input adjoint with the copy to dx 2.3. The products take less
than half of im2col's (3 × 205 MFLOP against 3 × 462), but V is 4× the input and M 4× the output, so the
transforms are ≈ 45 M numbers through single-threaded NumPy passes against ≈ 30 M contiguous copies for im2col.
At the default two BLAS threads the im2col path takes 15.6 ms on the conv shape (9.6 ms products, 6 ms copies,
benchmarks/RESULTS.md); Winograd's transforms alone take 10.9 ms on one thread, so even with its products split
perfectly (≥ 3.8 ms) it cannot go below ≈ 14.7 ms: at most 6% faster there, far from the 11.7 ms target, and
slower on the small CNN's convolutions at one thread already.

Measured afterwards on the quiet machine at the default two BLAS threads (``--threads 2``, medians): conv shape
im2col 15.2 ms, Winograd 17.9 ms (transforms stay single-threaded: 10.3 ms); small CNN conv 2, 8.0 against
13.4 ms; conv 1, 4.2 against 18.8 ms. Winograd loses everywhere, so ``conv2d`` keeps im2col.

Max relative error in float32 against float64 (max |err| / max |truth|; y, dx, dw, db): conv shape, im2col 4.5e-7,
2.0e-7, 3.6e-7, 3.7e-7 and Winograd 2.0e-7, 2.7e-7, 3.5e-7, 2.1e-7; 14×14 shape, im2col 5.5e-7, 1.6e-7, 3.7e-7,
5.1e-7 and Winograd 2.5e-7, 2.5e-7, 2.6e-7, 3.5e-7: the same order (F(2×2, 3×3) has no large coefficients).

**One-dimensional F(2, 3)** (measured on 2026-11-24 with a prototype that was not kept). Here the Winograd
transform runs along one axis and im2col along the other. Its transforms have fewer passes, and the products keep
2/3 of im2col's multiplications. On the conv shape, at two BLAS threads, both orientations lose:

* Pairs of columns: the forward alone took 7.9 ms against im2col's 5.0 ms. Its products took 2.2 ms and its
  input transform 0.6 ms. But writing the even and odd output columns into NCHW is a stride-2 scatter: 2.6 ms
  when fused with the output transform, and 2.8 ms as a copy after four whole-run passes (0.4 ms).
* Pairs of rows: the parities are whole rows, so every copy moves runs of W numbers. The results matched im2col
  to 7e-7 (y, dx, dw, db), but forward and backward took 17.9 ms against 15.6 ms. Its products have inner size
  3C = 48. Timed alone, they take 9.1 ms against im2col's 9.0 ms. The weight-gradient product runs at 71 GFLOP/s:
  its 32 × 49 output is tiny and its inner dimension long. If blocking it over positions brought it to the
  other two products' 150 GFLOP/s, the three would take about 6.6 ms. The copies, transforms and adjoints take
  8.5 ms, against im2col's 6.3 ms. So even then the step would take about 15.1 ms, which is no gain.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from neurones.ops.convolution import Conv2d

# The kernel transform; the input and output transforms (Bᵀ, Aᵀ) are written out as passes below.
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
SIGNS = np.array([1.0, 1.0, 1.0, -1.0])  # M̄ is stored as s_k s_l M̄[k, l]: A's last row is negative
SHAPES = {  # (input shape, weight shape): the conv workload and the small CNN's two convolutions
    "conv 64×16×28×28 → 32": ((64, 16, 28, 28), (32, 16, 3, 3)),
    "small cnn conv 2, 128×16×14×14 → 32": ((128, 16, 14, 14), (32, 16, 3, 3)),
    "small cnn conv 1, 128×1×28×28 → 16": ((128, 1, 28, 28), (16, 1, 3, 3)),
}


class Phases:
    """Seconds spent per named phase, accumulated between calls of ``lap``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock, self.seconds, self.last = clock, {}, clock()

    def lap(self, name: str | None = None) -> None:
        now = self.clock()
        if name is not None:
            self.seconds[name] = self.seconds.get(name, 0.0) + now - self.last
        self.last = now


class _NoPhases:
    def lap(self, name: str | None = None) -> None:
        pass


class WinogradConv2d:
    """conv2d with a 3×3 kernel, stride 1, dilation 1, groups 1 by F(2×2, 3×3), on raw arrays (see the module
    docstring). ``padding`` is ((top, bottom), (left, right)); ``chunk`` images are transformed at a time."""

    def __init__(self, x_shape, w_shape, padding, dtype, chunk: int = 4, phases=None) -> None:
        self.n, self.c, self.h, self.w = x_shape
        self.o = w_shape[0]
        (self.top, self.bottom), (self.left, self.right) = padding
        self.out_h = self.h + self.top + self.bottom - 2
        self.out_w = self.w + self.left + self.right - 2
        self.ty, self.tx = -(-self.out_h // 2), -(-self.out_w // 2)
        self.row = self.tx + 1  # the width of a parity plane
        self.plane = (self.ty + 1) * self.row  # the numbers of one parity plane of one channel of one image
        self.dtype = dtype
        self.chunk = min(chunk, self.n)
        self.chunks = [(start, min(self.chunk, self.n - start)) for start in range(0, self.n, self.chunk)]
        self.margin = self.row + 1  # the largest shift a tile entry reads past its run
        self.phases = phases if phases is not None else _NoPhases()

    # --------------------------------------------------------------------------------------- parity planes
    def _parity_ranges(self, r: int, s: int) -> tuple:
        """For parity plane (r, s), per axis: the first plane row (column) holding input, the input row (column)
        it holds, and how many."""
        ranges = []
        for parity, before, size, tiles in ((r, self.top, self.h, self.ty), (s, self.left, self.w, self.tx)):
            first = max(0, -(-(before - parity) // 2))
            source = 2 * first + parity - before
            count = min(tiles + 1 - first, -(-(size - source) // 2)) if source < size else 0
            ranges.append((first, source, count))
        return tuple(ranges)

    def _planes(self, flat: np.ndarray, n: int) -> np.ndarray:
        """The (2, 2, C, n, Ty + 1, Tx + 1) view of the flat parity planes of a chunk of n images."""
        return flat[:, :, : self.c * n * self.plane].reshape(2, 2, self.c, n, self.ty + 1, self.row)

    def _to_planes(self, x: np.ndarray) -> np.ndarray:
        """The parity planes of the padded input, chunk by chunk: (chunks, 2, 2, C·chunk·plane + margin)."""
        planes = np.zeros((len(self.chunks), 2, 2, self.c * self.chunk * self.plane + self.margin), self.dtype)
        for k, (start, n) in enumerate(self.chunks):
            view = self._planes(planes[k], n)
            for r in range(2):
                for s in range(2):
                    (p0, h0, rows), (q0, w0, cols) = self._parity_ranges(r, s)
                    source = x[start : start + n, :, h0 : h0 + 2 * rows - 1 : 2, w0 : w0 + 2 * cols - 1 : 2]
                    view[r, s, :, :, p0 : p0 + rows, q0 : q0 + cols] = source.transpose(1, 0, 2, 3)
        return planes

    def _from_planes(self, planes: np.ndarray, n: int, gx: np.ndarray) -> None:
        """Copy the input positions of a chunk's parity planes into gx (n, C, H, W)."""
        view = self._planes(planes, n)
        for r in range(2):
            for s in range(2):
                (p0, h0, rows), (q0, w0, cols) = self._parity_ranges(r, s)
                target = gx[:, :, h0 : h0 + 2 * rows - 1 : 2, w0 : w0 + 2 * cols - 1 : 2]
                np.copyto(target, view[r, s, :, :, p0 : p0 + rows, q0 : q0 + cols].transpose(1, 0, 2, 3))

    # --------------------------------------------------------------------------------------- transforms
    def _input_transform(self, planes: np.ndarray, n: int, rows: np.ndarray, v: np.ndarray) -> None:
        """v (4, 4, L) = Bᵀ d B of every tile of a chunk, L = C·n·plane: rows first (shift one plane row), then
        columns (shift 1). ``rows`` is a (4, 2, L + 1) scratch whose last column stays 0."""
        length, w = self.c * n * self.plane, self.row
        even, odd = planes[0], planes[1]  # the rows 2p and 2p + 1 of xp, both column parities: (2, L + margin)
        np.subtract(even[:, :length], even[:, w : w + length], out=rows[0, :, :length])
        np.add(odd[:, :length], even[:, w : w + length], out=rows[1, :, :length])
        np.subtract(even[:, w : w + length], odd[:, :length], out=rows[2, :, :length])
        np.subtract(odd[:, :length], odd[:, w : w + length], out=rows[3, :, :length])
        even, odd = rows[:, 0], rows[:, 1]  # the columns 2q and 2q + 1 of each transformed row: (4, L + 1)
        np.subtract(even[:, :length], even[:, 1 : length + 1], out=v[:, 0])
        np.add(odd[:, :length], even[:, 1 : length + 1], out=v[:, 1])
        np.subtract(even[:, 1 : length + 1], odd[:, :length], out=v[:, 2])
        np.subtract(odd[:, :length], odd[:, 1 : length + 1], out=v[:, 3])

    def _input_adjoint(self, dv: np.ndarray, n: int, rows: np.ndarray, planes: np.ndarray) -> None:
        """planes (2, 2, L + margin) = the adjoint of _input_transform applied to dv (4, 4, L): each shifted read
        of the forward becomes a shifted add. ``rows`` is a (4, 2, L + 1) scratch."""
        length, w = self.c * n * self.plane, self.row
        even, odd = rows[:, 0, : length + 1], rows[:, 1, : length + 1]
        np.copyto(even[:, :length], dv[:, 0])
        even[:, length] = 0
        even[:, 1:] -= dv[:, 0]
        even[:, 1:] += dv[:, 1]
        even[:, 1:] += dv[:, 2]
        np.subtract(dv[:, 1], dv[:, 2], out=odd[:, :length])
        odd[:, :length] += dv[:, 3]
        odd[:, length] = 0
        odd[:, 1:] -= dv[:, 3]
        rows = rows[:, :, :length]
        even, odd = planes[0, :, : length + w], planes[1, :, : length + w]
        np.copyto(even[:, :length], rows[0])
        even[:, length:] = 0
        even[:, w:] -= rows[0]
        even[:, w:] += rows[1]
        even[:, w:] += rows[2]
        np.subtract(rows[1], rows[2], out=odd[:, :length])
        odd[:, :length] += rows[3]
        odd[:, length:] = 0
        odd[:, w:] -= rows[3]

    def _tiles(self, y: np.ndarray) -> np.ndarray:
        """The (2, 2, O, n, Ty, Tx) view of the 2×2 output tiles of y (n, O, 2 Ty, 2 Tx)."""
        n = y.shape[0]
        return y.reshape(n, self.o, self.ty, 2, self.tx, 2).transpose(3, 5, 1, 0, 2, 4)

    # --------------------------------------------------------------------------------------- forward, backward
    def forward(self, x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        c, o, ty, tx, dtype = self.c, self.o, self.ty, self.tx, self.dtype
        u = np.einsum("ki,ocij,lj->kloc", G, weight, G).reshape(16, o, c)
        self.u = np.ascontiguousarray(u, dtype=dtype)
        self.phases.lap()
        self.planes = self._to_planes(x)
        self.phases.lap("forward: parity planes")
        y = np.empty((self.n, o, 2 * ty, 2 * tx), dtype)
        rows = np.zeros((4, 2, c * self.chunk * self.plane + 1), dtype)
        v_buffer = np.empty((4, 4, c * self.chunk * self.plane), dtype)
        m_buffer = np.empty(16 * o * self.chunk * self.plane, dtype)
        for k, (start, n) in enumerate(self.chunks):
            columns = n * self.plane
            v = v_buffer[:, :, : c * columns]
            self._input_transform(self.planes[k], n, rows, v)
            self.phases.lap("forward: input transform")
            m = np.matmul(self.u, v.reshape(16, c, columns), out=m_buffer[: 16 * o * columns].reshape(16, o, columns))
            self.phases.lap("forward: products")
            m = m.reshape(4, 4, o, columns)
            if bias is not None:
                np.add(m[1, 1], bias.reshape(o, 1), out=m[1, 1])
            m[0] += m[1]  # rows of Aᵀ: (1, 1, 1, 0) into m[0], (0, 1, −1, −1) into m[1]
            m[0] += m[2]
            m[1] -= m[2]
            m[1] -= m[3]
            m[:2, 0] += m[:2, 1]  # columns, the last pass straight into the output
            m[:2, 1] -= m[:2, 2]
            tiles = m[:2].reshape(2, 4, o, n, ty + 1, self.row)[..., :ty, :tx]
            out = self._tiles(y[start : start + n])
            np.add(tiles[:, 0], tiles[:, 2], out=out[:, 0])
            np.subtract(tiles[:, 1], tiles[:, 3], out=out[:, 1])
            self.phases.lap("forward: output transform")
        if (2 * ty, 2 * tx) == (self.out_h, self.out_w):
            return y
        return np.ascontiguousarray(y[:, :, : self.out_h, : self.out_w])

    def backward(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c, o, ty, tx, dtype = self.c, self.o, self.ty, self.tx, self.dtype
        if (2 * ty, 2 * tx) != (self.out_h, self.out_w):
            padded = np.zeros((self.n, o, 2 * ty, 2 * tx), dtype)
            padded[:, :, : self.out_h, : self.out_w] = g
            g = padded
        signs = np.outer(SIGNS, SIGNS).reshape(16, 1, 1).astype(dtype)
        u_t = np.ascontiguousarray(self.u.transpose(0, 2, 1)) * signs
        size = c * self.chunk * self.plane
        m_buffer = np.zeros(16 * o * self.chunk * self.plane, dtype)  # junk columns stay 0
        du = np.zeros((16, o, c), dtype)
        rows = np.zeros((4, 2, size + 1), dtype)
        v_buffer, dv_buffer = np.empty((4, 4, size), dtype), np.empty(16 * size, dtype)
        planes = np.empty((2, 2, size + self.margin), dtype)
        gx = np.empty((self.n, c, self.h, self.w), dtype)
        for k, (start, n) in enumerate(self.chunks):
            self.phases.lap()
            columns = n * self.plane
            m = m_buffer[: 16 * o * columns].reshape(4, 4, o, columns)
            corners = m.reshape(4, 4, o, n, ty + 1, self.row)[0::3, 0::3, ..., :ty, :tx]
            np.copyto(corners, self._tiles(g[start : start + n]))  # s ⊙ M̄ = (A with its sign dropped) Ȳ (...)ᵀ
            np.add(m[0::3, 0], m[0::3, 3], out=m[0::3, 1])
            np.subtract(m[0::3, 0], m[0::3, 3], out=m[0::3, 2])
            np.add(m[0], m[3], out=m[1])
            np.subtract(m[0], m[3], out=m[2])
            m = m.reshape(16, o, columns)
            self.phases.lap("backward: output adjoint")
            v = v_buffer[:, :, : c * columns]
            self._input_transform(self.planes[k], n, rows, v)
            self.phases.lap("backward: input transform again")
            du += np.matmul(m, v.reshape(16, c, columns).transpose(0, 2, 1))
            dv = np.matmul(u_t, m, out=dv_buffer[: 16 * c * columns].reshape(16, c, columns))
            self.phases.lap("backward: products")
            self._input_adjoint(dv.reshape(4, 4, -1), n, rows, planes)
            self._from_planes(planes, n, gx[start : start + n])
            self.phases.lap("backward: input adjoint")
        du = (du * signs).reshape(4, 4, o, c)
        gw = np.einsum("ki,kloc,lj->ocij", G, du, G).astype(dtype, copy=False)
        return gx, gw, g.sum(axis=(0, 2, 3), dtype=dtype)


# ------------------------------------------------------------------------------------------------ measurements
def _arrays(x_shape, w_shape, dtype=np.float32, seed: int = 6):
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(w_shape[1] * 9)
    x = rng.standard_normal(x_shape)
    w, b = rng.uniform(-bound, bound, w_shape), rng.uniform(-bound, bound, w_shape[0])
    g = rng.standard_normal((x_shape[0], w_shape[0], x_shape[2], x_shape[3]))
    return tuple(a.astype(dtype) for a in (x, w, b, g))


def im2col_step(x, w, b, g) -> tuple:
    """The library's Conv2d (padding 1) on raw arrays: output and the three gradients."""
    fn = Conv2d()
    fn.parents = (True, True, True)
    y = fn.forward(x, w, b, stride=(1, 1), padding=((1, 1), (1, 1)), dilation=(1, 1), groups=1)
    return (y, *fn.backward(g))


def winograd_step(x, w, b, g, phases=None) -> tuple:
    conv = WinogradConv2d(x.shape, w.shape, ((1, 1), (1, 1)), x.dtype, phases=phases)
    y = conv.forward(x, w, b)
    return (y, *conv.backward(g))


def alternate(candidates: dict, clock: Callable[[], float], repeats: int) -> dict[str, float]:
    """Median seconds per call of each candidate, timed A, B, A, B, … after two warm calls each."""
    for fn in candidates.values():
        fn()
        fn()
    samples = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = clock()
            fn()
            samples[name].append(clock() - start)
    return {name: float(np.median(values)) for name, values in samples.items()}


def relative_errors(x_shape, w_shape) -> dict[str, list[float]]:
    """max |err| / max |truth| of y, dx, dw, db in float32 against the float64 im2col result, per path."""
    truth = im2col_step(*_arrays(x_shape, w_shape, np.float64))
    arrays = _arrays(x_shape, w_shape)
    results = {"im2col": im2col_step(*arrays), "winograd": winograd_step(*arrays)}
    return {
        name: [float(np.abs(r - t).max() / np.abs(t).max()) for r, t in zip(result, truth)]
        for name, result in results.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (1: per-thread CPU time)")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    # With one BLAS thread, all the work is on this thread: its CPU time ignores the other jobs of a shared
    # machine. With more, only wall time counts them all.
    clock = time.thread_time if args.threads == 1 else time.perf_counter
    with threadpool_limits(limits=args.threads):
        for label, (x_shape, w_shape) in SHAPES.items():
            arrays = _arrays(x_shape, w_shape)
            times = alternate(
                {"im2col": lambda a=arrays: im2col_step(*a), "winograd": lambda a=arrays: winograd_step(*a)},
                clock,
                args.repeats,
            )
            phases = Phases(clock)
            for _ in range(args.repeats):
                winograd_step(*arrays, phases=phases)
            shares = ", ".join(f"{k} {v / args.repeats * 1e3:.2f}" for k, v in phases.seconds.items())
            print(f"{label}: im2col {times['im2col'] * 1e3:.1f} ms, winograd {times['winograd'] * 1e3:.1f} ms")
            print(f"    winograd phases (ms): {shares}")
    for label, (x_shape, w_shape) in list(SHAPES.items())[:2]:
        errors = relative_errors(x_shape, w_shape)
        for name, values in errors.items():
            print(
                f"{label}, {name} float32 max relative error (y, dx, dw, db): " + ", ".join(f"{e:.1e}" for e in values)
            )


if __name__ == "__main__":
    main()
