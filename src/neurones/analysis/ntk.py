r"""The neural tangent kernel: empirical, at infinite width, and the predictions of kernel gradient descent.

Gradient descent on θ with the loss L = ½ Σᵢ ‖f(xᵢ; θ) − yᵢ‖² moves the outputs, to first order in the step η, by

    f(x; θ_{t+1}) − f(x; θ_t) = −η Σᵢ K_θ(x, xᵢ) (f(xᵢ; θ_t) − yᵢ),    K_θ(x, x′) = Σ_p ∂_p f(x; θ) ∂_p f(x′; θ)ᵀ,

kernel gradient descent with the neural tangent kernel ("Théorie de l'Apprentissage par Réseaux de Neurones",
§6, eq. (4)). :func:`empirical_ntk` computes K_θ of any module from its per-example Jacobians
(:class:`neurones.func.PerExampleJacobian`).

For a fully connected network in the NTK parameterization (:class:`neurones.nn.NTKLinear`) the kernel at
initialization converges as the widths grow to a deterministic Θ, and the output to a Gaussian process with
covariance Σ (Jacot, Gabriel & Hongler 2018; Lee et al. 2018), given by the recursion over layers

    Σ¹(x, x′) = σ_w² x·x′/d + σ_b²,                    Θ¹ = Σ¹,
    Σ^{h+1} = σ_w² E[φ(u)φ(v)] + σ_b²,   Σ̇^{h+1} = σ_w² E[φ′(u)φ′(v)],
    (u, v) ~ N(0, [[Σʰ(x, x), Σʰ(x, x′)], [Σʰ(x′, x), Σʰ(x′, x′)]]),
    Θ^{h+1} = Θʰ Σ̇^{h+1} + Σ^{h+1}.

:func:`infinite_width_kernels` evaluates it in closed form for ReLU (the arc-cosine kernel of Cho & Saul 2009),
leaky ReLU, erf (Williams 1997) and the identity, and by a two-dimensional quadrature for the other activations.

Under the same loss, the linearized model f_lin(x; θ) = f(x; θ₀) + J₀(x)(θ − θ₀) (:func:`linearize`) follows
kernel gradient descent with the fixed K = K_{θ₀} exactly, in closed form (:func:`gradient_descent_mse`):

    f_t(X) = y + (I − ηK)ᵗ (f₀(X) − y),     f_t(x) = f₀(x) − K(x, X) K⁻¹ (I − (I − ηK)ᵗ) (f₀(X) − y),

and e^{−ηtK} in place of (I − ηK)ᵗ for gradient flow; as t → ∞ from f₀ = 0, kernel regression
(:func:`kernel_regression`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
from scipy import linalg

from neurones.autodiff.function import Function
from neurones.autodiff.tensor import Tensor
from neurones.data.synthetic import unit_sphere
from neurones.errors import ShapeError
from neurones.func.per_example_jacobian import PerExampleJacobian
from neurones.nn.module import Module
from neurones.ops.activations import KERNELS, array_activation_and_slope

CLOSED_FORMS = ("relu", "leaky_relu", "erf", "identity")
"""Activations whose Gaussian expectations :func:`infinite_width_kernels` evaluates in closed form."""

ACTIVATIONS = tuple(dict.fromkeys(CLOSED_FORMS + tuple(KERNELS)))
"""Every activation :func:`infinite_width_kernels` accepts: the closed forms and, by quadrature, the others."""

Z_RANGE = 10.0
"""The quadrature grid covers |z| ≤ Z_RANGE standard deviations: the Gaussian weight beyond is below 2e-22."""

_JACOBIAN_CACHE_BYTES = 256 << 20


# ------------------------------------------------------------------------------------------------ empirical NTK
def _as_batch(x, what: str) -> np.ndarray:
    data = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    if data.ndim < 1 or data.shape[0] == 0:
        raise ShapeError(f"empirical_ntk: {what} must be a non-empty batch (n, ...), got shape {data.shape}")
    return data


def _chunks(x: np.ndarray, size: int):
    return [(start, x[start : start + size]) for start in range(0, x.shape[0], size)]


def empirical_ntk(model, x1, x2=None, *, chunk_size: int = 256) -> np.ndarray:
    r"""K_θ(x1ᵢ, x2ⱼ) = Σ_p ∂_p f(x1ᵢ; θ) ∂_p f(x2ⱼ; θ)ᵀ at the model's current parameters, in float64.

    Shape (n1, n2) for a model with one output, (n1, n2, k, k) for k outputs (the trailing output dimensions
    flattened); ``x2`` defaults to ``x1``. Only the parameters that require grad count. Works on any module that
    processes examples independently; linear layers are contracted in factored form, convolutions and other
    parameters from their per-example gradients (see :mod:`neurones.func.per_example_jacobian`).

    Memory: the examples are processed ``chunk_size`` at a time. The factors of one chunk are its activations and
    k cotangents per linear layer, plus k per-example gradients of every other parameter; the factors of all of
    ``x2``'s chunks are kept while they fit in 256 MiB (recomputed per chunk of ``x1`` otherwise), so the peak is
    the result, plus about (chunk_size + min(n2, cache)) · k · (Σ widths + dense parameters) numbers.
    """
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"empirical_ntk: {type(model).__name__} has no parameter that requires grad")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"empirical_ntk: chunk_size must be an integer ≥ 1, got {chunk_size!r}")
    a = _as_batch(x1, "x1")
    b = a if x2 is None else _as_batch(x2, "x2")
    if a.shape[1:] != b.shape[1:]:
        raise ShapeError(f"empirical_ntk: x1 {a.shape} and x2 {b.shape} have different example shapes")
    cached: dict[int, PerExampleJacobian] = {}
    kept = 0

    def jacobian(start: int, part: np.ndarray) -> PerExampleJacobian:
        """The chunk of x2 starting at ``start``, from the cache while it fits in its budget."""
        nonlocal kept
        if start in cached:
            return cached[start]
        computed = PerExampleJacobian(model, part)
        if kept + computed.nbytes <= _JACOBIAN_CACHE_BYTES:
            cached[start], kept = computed, kept + computed.nbytes
        return computed

    result = None
    for start1, part1 in _chunks(a, chunk_size):
        jac1 = jacobian(start1, part1) if x2 is None else PerExampleJacobian(model, part1)
        if result is None:
            result = np.zeros((a.shape[0], b.shape[0], jac1.k, jac1.k))
        rows = slice(start1, start1 + part1.shape[0])
        for start2, part2 in _chunks(b, chunk_size):
            if x2 is None and start2 < start1:  # symmetric: the block was filled from the other side
                continue
            block = jac1.gram(jac1 if x2 is None and start2 == start1 else jacobian(start2, part2))
            columns = slice(start2, start2 + part2.shape[0])
            result[rows, columns] = block
            if x2 is None and start2 > start1:
                result[columns, rows] = block.transpose(1, 0, 3, 2)
    return result[:, :, 0, 0] if result.shape[2] == 1 else result


# ------------------------------------------------------------------------------------------- infinite width
def sphere_points(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """n points drawn uniformly on the sphere of radius √d in ℝᵈ, the inputs of the kernel theorems: there
    x·x/d = 1, so the first layer's variance Σ¹(x, x) = σ_w² + σ_b² is the same at every dimension."""
    return unit_sphere(n, d, rng) * np.sqrt(d)


def _relu(s11, s22, s12):
    norms = np.sqrt(s11 * s22)
    rho = np.clip(np.divide(s12, norms, out=np.ones_like(norms), where=norms > 0), -1.0, 1.0)
    theta = np.arccos(rho)
    return norms * (np.sin(theta) + (np.pi - theta) * rho) / (2 * np.pi), (np.pi - theta) / (2 * np.pi)


def _leaky_relu(s11, s22, s12, slope):
    # φ(u) = a·u + (1 − a)·relu(u), and E[u·relu(v)] = Σ12/2.
    relu_pp, relu_dd = _relu(s11, s22, s12)
    return (slope * s12 + (1 - slope) ** 2 * relu_pp, slope + (1 - slope) ** 2 * relu_dd)


def _erf(s11, s22, s12):
    spread = (1 + 2 * s11) * (1 + 2 * s22)
    value = 2 / np.pi * np.arcsin(np.clip(2 * s12 / np.sqrt(spread), -1.0, 1.0))
    return value, 4 / np.pi / np.sqrt(spread - 4 * s12**2)


def _identity(s11, s22, s12):
    return s12.copy(), np.ones_like(s12)


def gaussian_pair_expectations(name: str, s11, s22, s12, negative_slope: float = 0.01) -> tuple:
    """(E[φ(u)φ(v)], E[φ′(u)φ′(v)]) for (u, v) centred Gaussian with Var u = s11, Var v = s22, Cov = s12
    (arrays, broadcast together): in closed form for :data:`CLOSED_FORMS`, by quadrature otherwise."""
    s11, s22, s12 = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (s11, s22, s12)))
    if name == "relu":
        return _relu(s11, s22, s12)
    if name == "leaky_relu":
        return _leaky_relu(s11, s22, s12, negative_slope)
    if name == "erf":
        return _erf(s11, s22, s12)
    if name == "identity":
        return _identity(s11, s22, s12)
    if name in KERNELS:
        return quadrature_pair_expectations(array_activation_and_slope(name, negative_slope), s11, s22, s12)
    raise ValueError(f"infinite_width_kernels: activation must be one of {ACTIVATIONS}, got {name!r}")


def quadrature_pair_expectations(activation_and_slope: Callable, s11, s22, s12, step: float | None = None):
    r"""(E[φ(u)φ(v)], E[φ′(u)φ′(v)]) by the trapezoidal rule on a product grid of z ∈ [−10, 10]², with
    u = √s11 z₁, v = √s22 (ρ z₁ + √(1−ρ²) z₂).

    For a Gaussian-weighted integrand analytic in the strip |Im z| < a, the trapezoidal rule's error decays like
    e^{−2πa/h} in the step h. tanh(√q z) has its poles at a = π/(2√q), so the default step h = min(0.2,
    0.3/√q_max) (q_max the largest variance) makes the error about e^{−π²/0.3} ≈ 1e-14 for tanh, and smaller for
    the sigmoid (poles twice as far) and GELU (entire). Gauss–Hermite rules lose that accuracy as q grows (64
    nodes: 1e-3 relative for tanh′ at q = 3). At a kink (ReLU-type activations) the rule is only second order.
    """
    shape = np.broadcast_shapes(np.shape(s11), np.shape(s22), np.shape(s12))
    s11, s22, s12 = (np.ravel(v) for v in np.broadcast_arrays(s11, s22, s12))
    if step is None:
        step = min(0.2, 0.3 / math.sqrt(max(float(np.max(s11, initial=0.0)), float(np.max(s22, initial=0.0)), 1e-12)))
    z = np.linspace(-Z_RANGE, Z_RANGE, 2 * math.ceil(Z_RANGE / step) + 1)
    w = np.exp(-0.5 * z * z)
    first, second = np.repeat(z, z.size)[None, :], np.tile(z, z.size)[None, :]  # the product grid, flattened
    weights = np.outer(w, w).ravel() / w.sum() ** 2
    both, slopes = np.empty(s11.size), np.empty(s11.size)
    chunk = max(1, (1 << 22) // weights.size)  # about 4 million evaluations at a time
    for start in range(0, s11.size, chunk):
        part = slice(start, start + chunk)
        root1, root2 = np.sqrt(s11[part])[:, None], np.sqrt(s22[part])[:, None]
        norms = root1 * root2
        rho = np.clip(np.divide(s12[part][:, None], norms, out=np.zeros_like(norms), where=norms > 0), -1, 1)
        phi_u, slope_u = activation_and_slope(root1 * first)
        phi_v, slope_v = activation_and_slope(root2 * (rho * first + np.sqrt(1 - rho**2) * second))
        both[part] = (phi_u * phi_v) @ weights
        slopes[part] = (slope_u * slope_v) @ weights
    return both.reshape(shape), slopes.reshape(shape)


def infinite_width_kernels(
    x1,
    x2=None,
    *,
    depth: int,
    activation: str = "relu",
    weight_std: float = 1.0,
    bias_std: float = 0.0,
    negative_slope: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    r"""(Σ, Θ): the NNGP covariance and the neural tangent kernel, each (n1, n2), of a fully connected network with
    ``depth`` hidden layers of infinite width in the NTK parameterization (``nn.NTKLinear(…, weight_std,
    bias_std)`` for every layer, the readout included), by the recursion of the module docstring, in float64.

    ``depth`` counts the nonlinearities: depth 1 is Linear–φ–Linear, whose kernels are Σ² and Θ²; depth 0 is the
    linear model, Σ¹ = Θ¹. ``x2`` defaults to ``x1``; inputs are (n, d).
    """
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
        raise ValueError(f"infinite_width_kernels: depth must be an integer ≥ 0, got {depth!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"infinite_width_kernels: activation must be one of {ACTIVATIONS}, got {activation!r}")
    a = np.asarray(x1.data if isinstance(x1, Tensor) else x1, dtype=np.float64)
    b = a if x2 is None else np.asarray(x2.data if isinstance(x2, Tensor) else x2, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ShapeError(f"infinite_width_kernels: inputs must be (n1, d) and (n2, d), got {a.shape} and {b.shape}")
    w2, b2 = float(weight_std) ** 2, float(bias_std) ** 2
    d = a.shape[1]
    cross = w2 * (a @ b.T) / d + b2
    diag1 = w2 * np.einsum("ij,ij->i", a, a) / d + b2
    diag2 = w2 * np.einsum("ij,ij->i", b, b) / d + b2
    ntk = cross.copy()
    for _ in range(depth):
        both, slopes = gaussian_pair_expectations(activation, diag1[:, None], diag2[None, :], cross, negative_slope)
        ntk = ntk * (w2 * slopes) + (w2 * both + b2)
        cross = w2 * both + b2
        diag1 = w2 * gaussian_pair_expectations(activation, diag1, diag1, diag1, negative_slope)[0] + b2
        diag2 = w2 * gaussian_pair_expectations(activation, diag2, diag2, diag2, negative_slope)[0] + b2
    return cross, ntk


def residual_features_kernel(x, *, depth: int, activation: str = "relu", weight_std: float = math.sqrt(2)):
    r"""E[φ(h_L(x))·φ(h_L(x′))] (n, n): the Gram matrix of the last features of the residual network
    h₀ = σ_w W₀x/√d, h_{l+1} = h_l + (σ_w/√(L·m)) W_{l+1} φ(h_l) (l < L = ``depth``) at infinite width m, the matrix
    whose smallest eigenvalue enters Du et al.'s (2019) width bound for ResNets. Each block adds an independent
    zero-mean term, so K₀ = σ_w² x x′/d and K_{l+1} = K_l + (σ_w²/L) E[φ(u)φ(v)], (u, v) ~ N(0, K_l): with the 1/√L
    branch scale the recursion is an Euler scheme whose limit, as L → ∞, is a flow that stays non-degenerate.
    (For the plain network the same Gram is ``infinite_width_kernels(...)[0] / σ_w²``.)"""
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"residual_features_kernel: depth must be an integer ≥ 1, got {depth!r}")
    a = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ShapeError(f"residual_features_kernel: inputs must be a non-empty (n, d) batch, got shape {a.shape}")
    w2 = float(weight_std) ** 2
    kernel = w2 * (a @ a.T) / a.shape[1]
    for _ in range(depth):
        diagonal = np.diag(kernel)
        kernel = kernel + w2 / depth * gaussian_pair_expectations(activation, diagonal[:, None], diagonal[None, :],
                                                                  kernel)[0]
    diagonal = np.diag(kernel)
    return gaussian_pair_expectations(activation, diagonal[:, None], diagonal[None, :], kernel)[0]


def _window_average(values: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """(1/q) Σ_a values[..., s·j − p + a] over the q = ``kernel`` offsets of each output position j, zeros outside
    the input: what a convolution does to a per-position covariance along the diagonal (i, i)."""
    widths = [(0, 0)] * (values.ndim - 1) + [(padding, padding)]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(values, widths), kernel, axis=-1)
    return windows[..., ::stride, :].mean(axis=-1)


def infinite_width_conv_kernels(
    x1,
    x2=None,
    *,
    layers,
    activation: str = "relu",
    weight_std: float = 1.0,
    bias_std: float = 0.0,
    negative_slope: float = 0.01,
    chunk_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""(Σ, Θ), each (n1, n2): the NNGP and the tangent kernel of a 1-D convolutional network whose channel counts
    tend to infinity (Arora et al. 2019, the "vanilla" CNTK), in the NTK parameterization: convolutions
    z_j = (σ_w/√(C q)) Σ_{c,a} W_{c,a} x_{c, s·j−p+a} + σ_b b with zero padding, φ after each, then a dense readout
    of the flattened last layer, (σ_w/√(C P_L)) Σ w·x + σ_b b.

    ``layers`` lists (kernel_size, stride, padding) per convolution; inputs are (n, C, P) (or (n, P), one channel).
    A convolution averages a covariance over its window along the diagonal, K_{jj′} ← (1/q) Σ_a S_{s j−p+a, s j′−p+a},
    so the offset j′ − j is preserved (times the stride), and the flattened readout only needs the diagonal j = j′:
    at every layer the recursion of :func:`infinite_width_kernels` runs on the P positions of each pair (x, x′),

        K^h_j = σ_w² (1/q) Σ_a S^{h−1}_{s j−p+a} + σ_b²,   Θ_z^h_j = σ_w² (1/q) Σ_a Θ^{h−1}_{s j−p+a} + K^h_j,
        S^h_j = E[φ(u)φ(v)],   Θ^h_j = Θ_z^h_j E[φ′(u)φ′(v)],   (u, v) ~ the covariance of K^h at position j,

    from S⁰_i = x_i·x′_i/C and Θ⁰ = 0, and the readout gives Σ = σ_w² mean_j S^L_j + σ_b² and
    Θ = σ_w² mean_j (Θ^L_j + S^L_j) + σ_b². The cost is O(n1·n2·P) per layer; ``chunk_size`` rows of x1 at a time
    (default: about 4 million pair-positions per chunk).
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"infinite_width_conv_kernels: activation must be one of {ACTIVATIONS}, got {activation!r}")
    a = np.asarray(x1.data if isinstance(x1, Tensor) else x1, dtype=np.float64)
    b = a if x2 is None else np.asarray(x2.data if isinstance(x2, Tensor) else x2, dtype=np.float64)
    a, b = (v[:, None, :] if v.ndim == 2 else v for v in (a, b))
    if a.ndim != 3 or b.ndim != 3 or a.shape[1:] != b.shape[1:]:
        raise ShapeError(
            f"infinite_width_conv_kernels: inputs must be (n1, C, P) and (n2, C, P), got {a.shape} and {b.shape}"
        )
    layers = [tuple(int(v) for v in layer) for layer in layers]
    length = a.shape[2]
    for kernel, stride, padding in layers:
        if kernel < 1 or stride < 1 or padding < 0 or length + 2 * padding < kernel:
            raise ValueError(f"infinite_width_conv_kernels: layer {(kernel, stride, padding)} does not fit length "
                             f"{length}")
        length = (length + 2 * padding - kernel) // stride + 1
    w2, b2 = float(weight_std) ** 2, float(bias_std) ** 2
    channels = a.shape[1]

    def expectations(s11, s22, s12):
        return gaussian_pair_expectations(activation, s11, s22, s12, negative_slope)

    def diagonal_path(x):  # the per-position variances of each example, layer by layer
        variances, path = np.einsum("ncp,ncp->np", x, x) / channels, []
        for kernel, stride, padding in layers:
            pre = w2 * _window_average(variances, kernel, stride, padding) + b2
            path.append(pre)
            variances = expectations(pre, pre, pre)[0]
        return path

    path1, path2 = diagonal_path(a), diagonal_path(b)
    rows = chunk_size or max(1, (1 << 22) // max(1, b.shape[0] * a.shape[2]))
    nngp, ntk = np.empty((a.shape[0], b.shape[0])), np.empty((a.shape[0], b.shape[0]))
    for start in range(0, a.shape[0], rows):
        part = slice(start, start + rows)
        columns = slice(start if x2 is None else 0, None)  # symmetric: the blocks left of the diagonal are mirrored
        covariance = np.einsum("ncp,mcp->nmp", a[part], b[columns]) / channels
        tangent = np.zeros_like(covariance)
        for (kernel, stride, padding), pre1, pre2 in zip(layers, path1, path2):
            pre = w2 * _window_average(covariance, kernel, stride, padding) + b2
            tangent = w2 * _window_average(tangent, kernel, stride, padding) + pre
            covariance, slopes = expectations(pre1[part][:, None, :], pre2[columns][None, :, :], pre)
            tangent = tangent * slopes
        nngp[part, columns] = w2 * covariance.mean(axis=-1) + b2
        ntk[part, columns] = w2 * (tangent + covariance).mean(axis=-1) + b2
        if x2 is None:
            nngp[columns, part], ntk[columns, part] = nngp[part, columns].T, ntk[part, columns].T
    return nngp, ntk


# --------------------------------------------------------------------------------------- kernel predictors
def _training_kernel(k_train_train, y_train, who: str):
    """(K as an (m, m) matrix, y as (m, c), a function that restores y's shape): a (n, n, k, k) kernel acts on the
    n·k output entries; an (n, n) kernel on each of y's columns."""
    kernel = np.asarray(k_train_train, dtype=np.float64)
    y = np.asarray(y_train, dtype=np.float64)
    n = kernel.shape[0]
    if kernel.ndim == 2 and kernel.shape == (n, n) and y.shape[:1] == (n,):
        columns = y.reshape(n, -1)
        return kernel, columns, lambda values: values.reshape(values.shape[:-2] + y.shape)
    if kernel.ndim == 4 and kernel.shape[1] == n and kernel.shape[2] == kernel.shape[3] and y.shape[:1] == (n,):
        k = kernel.shape[2]
        if y.reshape(n, -1).shape[1] != k:
            raise ShapeError(f"{who}: a kernel with {k} outputs against targets of shape {y.shape}")
        flat = kernel.transpose(0, 2, 1, 3).reshape(n * k, n * k)
        return flat, y.reshape(n * k, 1), lambda values: values.reshape(values.shape[:-2] + y.shape)
    raise ShapeError(f"{who}: kernel of shape {kernel.shape} does not fit targets of shape {y.shape}")


def _cross_kernel(k_test_train, n: int, k_outputs: int, who: str) -> np.ndarray:
    kernel = np.asarray(k_test_train, dtype=np.float64)
    if kernel.ndim == 2 and kernel.shape[1] == n:
        return kernel
    if kernel.ndim == 4 and kernel.shape[1] == n and kernel.shape[2:] == (k_outputs, k_outputs):
        return kernel.transpose(0, 2, 1, 3).reshape(kernel.shape[0] * k_outputs, n * k_outputs)
    raise ShapeError(f"{who}: test kernel of shape {kernel.shape} does not fit {n} training points")


def gradient_descent_mse(k_train_train, y_train, learning_rate: float = 1.0, *, flow: bool = False) -> Callable:
    r"""The trajectory of kernel gradient descent under L = ½ Σᵢ ‖f(xᵢ) − yᵢ‖² (sum, not mean: divide η by n for a
    mean loss), as ``predict(t, f0_train=0, k_test_train=None, f0_test=0)``.

    ``predict`` returns f_t on the training set, and also f_t on test points (``(f_train, f_test)``) when
    ``k_test_train`` = K(x_test, X) is given. t counts steps of size η (any real t ≥ 0 with ``flow=True``, the
    gradient flow ḟ = −ηK(f − y) at time t); an array of times gives results stacked along a leading axis. The
    kernel is (n, n), acting on each output column, or (n, n, k, k), coupling the outputs. This is the analog of
    neural-tangents' ``predict.gradient_descent_mse``, in closed form from the eigendecomposition K = V Λ Vᵀ:
    (I − ηK)ᵗ = V (1 − ηλ)ᵗ Vᵀ, and K⁻¹(I − (I − ηK)ᵗ) = V [(1 − (1 − ηλ)ᵗ)/λ] Vᵀ with the limit ηt at λ = 0.
    """
    who = "gradient_descent_mse"
    kernel, y, restore = _training_kernel(k_train_train, y_train, who)
    if not (math.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"{who}: learning_rate must be finite and > 0, got {learning_rate!r}")
    eigenvalues, vectors = np.linalg.eigh(0.5 * (kernel + kernel.T))
    eigenvalues = np.clip(eigenvalues, 0.0, None)  # rounding can leave −1e-16 on a PSD kernel
    eta = float(learning_rate)
    k_outputs = kernel.shape[0] // np.asarray(y_train).shape[0] if np.asarray(k_train_train).ndim == 4 else 1

    def decay_and_integral(t: float) -> tuple[np.ndarray, np.ndarray]:
        if flow:
            decay = np.exp(-eta * t * eigenvalues)
            integral = -np.expm1(-eta * t * eigenvalues)
        else:
            decay = np.power(1 - eta * eigenvalues, t)
            integral = 1 - decay
        tiny = eigenvalues <= 1e-300
        safe = np.where(tiny, 1.0, eigenvalues)
        return decay, np.where(tiny, eta * t, integral / safe)

    def predict(t, f0_train=0.0, k_test_train=None, f0_test=0.0):
        times = np.asarray(t, dtype=np.float64)
        if np.any(times < 0) or not np.all(np.isfinite(times)):
            raise ValueError(f"{who}: times must be finite and ≥ 0, got {t!r}")
        if not flow and np.any(times != np.round(times)):
            raise ValueError(f"{who}: gradient descent takes whole steps (pass flow=True for real times), got {t!r}")
        f0 = np.broadcast_to(np.asarray(f0_train, dtype=np.float64), np.asarray(y_train).shape).reshape(y.shape)
        residual = vectors.T @ (f0 - y)
        cross = None if k_test_train is None else _cross_kernel(k_test_train, kernel.shape[0] // k_outputs,
                                                               k_outputs, who)
        trains, tests = [], []
        for time in times.ravel():
            decay, integral = decay_and_integral(float(time))
            trains.append(y + vectors @ (decay[:, None] * residual))
            if cross is not None:
                tests.append(-cross @ (vectors @ (integral[:, None] * residual)))
        shape = times.shape
        f_train = restore(np.stack(trains).reshape(*shape, *y.shape))
        if cross is None:
            return f_train
        test_shape = (np.asarray(k_test_train).shape[0], *np.asarray(y_train).shape[1:])
        moved = np.stack(tests).reshape(*shape, *test_shape)
        return f_train, np.asarray(f0_test, dtype=np.float64) + moved

    return predict


def kernel_regression(k_train_train, y_train, k_test_train, *, ridge: float = 0.0) -> np.ndarray:
    r"""f(x) = K(x, X) (K(X, X) + λI)⁻¹ y: kernel ridge regression (λ = ``ridge`` ≥ 0), the t → ∞ limit of
    :func:`gradient_descent_mse` from f₀ = 0 when λ = 0. Kernels as in :func:`gradient_descent_mse`; raises
    ``numpy.linalg.LinAlgError`` naming the function when K + λI is not positive definite."""
    who = "kernel_regression"
    if not (math.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"{who}: ridge must be finite and ≥ 0, got {ridge!r}")
    kernel, y, _ = _training_kernel(k_train_train, y_train, who)
    y_shape = np.asarray(y_train).shape
    k_outputs = kernel.shape[0] // y_shape[0] if np.asarray(k_train_train).ndim == 4 else 1
    cross = _cross_kernel(k_test_train, y_shape[0], k_outputs, who)
    try:
        factor = linalg.cho_factor(kernel + ridge * np.eye(kernel.shape[0]))
    except linalg.LinAlgError as error:
        raise np.linalg.LinAlgError(
            f"{who}: the training kernel plus ridge {ridge:g} is not positive definite ({error}); pass ridge > 0"
        ) from None
    prediction = cross @ linalg.cho_solve(factor, y)
    return prediction.reshape((np.asarray(k_test_train).shape[0], *y_shape[1:]))


# ------------------------------------------------------------------------------------------ linearization
class _LinearizedOutput(Function):
    """f₀(x) + J₀(x)(θ − θ₀) from the factored Jacobian at θ₀; backward gives J₀ᵀ g for each parameter."""

    def forward(self, *thetas, jacobian, theta0, output_shape):
        self.jacobian, self.dtypes = jacobian, [theta.dtype for theta in thetas]
        moved = {name: theta - start for name, theta, start in zip(jacobian.names, thetas, theta0)}
        return (jacobian.outputs + jacobian.jvp(moved)).reshape(output_shape)

    def backward(self, g):
        grads = self.jacobian.vjp(g.reshape(self.jacobian.n, self.jacobian.k))
        return tuple(grads[name].astype(dtype, copy=False) for name, dtype in zip(self.jacobian.names, self.dtypes))


class Linearized(Module):
    r"""The first-order model of a network around θ₀: f_lin(x; θ) = f(x; θ₀) + J₀(x)(θ − θ₀) (Lee et al. 2019).

    Its parameters θ are those of a copy of the network (``network``), starting at θ₀, so it trains in the same
    loop as the network (``optimizer = SGD(linearized.parameters(), …)``), and the network given is left alone.
    f(x; θ₀) and the factored Jacobian J₀(x) are computed once per distinct input batch and cached (the four most
    recent batches); each forward is then one JVP, each backward one VJP. Outputs are float64.
    """

    def __init__(self, model, params0: dict | None = None):
        super().__init__()
        self.network = copy.deepcopy(model)
        if params0 is not None:
            self.network.load_state_dict({**self.network.state_dict(), **params0})
        self._names = tuple(name for name, p in self.network.named_parameters() if p.requires_grad)
        if not self._names:
            raise ValueError(f"linearize: {type(model).__name__} has no parameter that requires grad")
        self._theta0 = {name: Tensor(np.array(p.data, dtype=np.float64))
                        for name, p in self.network.named_parameters() if p.requires_grad}
        self._cache: dict = {}

    def _jacobian(self, x: np.ndarray) -> PerExampleJacobian:
        key = (x.shape, x.dtype.str, hash(x.tobytes()))
        if key not in self._cache:
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = PerExampleJacobian(self.network, x, params=self._theta0)
        return self._cache[key]

    def forward(self, x):
        data = np.asarray(x.data if isinstance(x, Tensor) else x)
        jacobian = self._jacobian(data)
        named = dict(self.network.named_parameters())
        thetas = [named[name] for name in self._names]
        theta0 = [self._theta0[name].data for name in self._names]
        return _LinearizedOutput.apply(*thetas, jacobian=jacobian, theta0=theta0, output_shape=jacobian.output_shape)


def linearize(model, params0: dict | None = None) -> Linearized:
    """f_lin(x; θ) = f(x; θ₀) + J₀(x)(θ − θ₀) as a trainable :class:`Linearized` module, around the model's current
    parameters or ``params0`` (a state-dict-like ``{name: tensor}``)."""
    return Linearized(model, params0)
