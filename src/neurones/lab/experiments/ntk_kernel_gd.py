r"""Gradient descent is kernel gradient descent ("Théorie de l'Apprentissage par Réseaux de Neurones", §6, eq. (3)–(4)).

Linear regression first, as the seed does: for f_θ(x) = xᵀθ and L(θ) = ½‖Xθ − y‖², one step of (3) moves the
residual r = Xθ − y by −ηXXᵀr, so exactly

    r_k = (I − ηXXᵀ)ᵏ r₀,

kernel gradient descent with K = XXᵀ (the seed writes the flow, ∂_t r = −XXᵀr). We train ``nn.Linear`` with the
engine's SGD and claim the trajectory to rounding (``000.ntk.linear-kernel-gd``: max_k ‖r_k − r_kᵖʳᵉᵈ‖/‖r₀‖ ≤
1e-10 in float64). When d < n, K has rank d and the component of r₀ in ker Xᵀ never moves: the loss tends to
½‖P_{ker Xᵀ} r₀‖² (``000.ntk.linear-rank-deficient``, equal to relative 1e-9 once the other modes have decayed by
more than e⁻⁴⁰, which the step count ensures).

Then a network: for f_θ a wide MLP in the NTK parameterization, one step changes the outputs by

    f(x; θ − η∇L) − f(x; θ) = −η Σᵢ K_θ(x, xᵢ)(f(xᵢ; θ) − yᵢ) + O(η²),

the seed's general dynamics, discretized. The relative error of the first-order prediction is therefore linear in
η: ``000.ntk.function-dynamics`` claims the log-log slope of that error against η over the window η·λ_max ∈
[1e-4, 1e-1] is 1 within ±0.1 (per network, mean over the draws). A factor in the kernel (a wrong NTK) would make
the error O(1), flat in η, and fail. The network is a tanh MLP: the Taylor remainder is O(η²) only for a smooth
network. With ReLU each unit whose pre-activation crosses 0 during the step adds an error that starts at a
threshold η_c, so at finite width the error jumps by decades where the first units cross (measured: slope 1 up to
η·λ_max ≈ 1e-3, then ≈ 0.3 above, 1.32 ± 0.13 over the window); it is O(η²) only on average over widths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
from neurones import nn, optim
from neurones.analysis.ntk import empirical_ntk, gradient_descent_mse, sphere_points
from neurones.lab.claims import at_most, band, equality
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import loglog_slope, mean_and_stderr
from neurones.lab.sweep import sweep

SOURCE = "merad-2020, §6, régression linéaire et descente de gradient à noyau"
SOURCE_NETWORK = "merad-2020, §6, dynamique ∂_t f = −Σ K(x, x_i) ∂_y ℓ"
TRAJECTORY_TOLERANCE = 1e-10
FLOOR_TOLERANCE = 1e-9
STEP_WINDOW = (1e-4, 1e-1)  # η·λ_max(K)


@scales(quick=dict(width=512, steps=400, draws=3), smoke=dict(n=8, d_wide=12, d_narrow=3, width=32, steps=60, draws=2,
                                                            step_sizes=4))
@dataclass(frozen=True)
class KernelGDConfig:
    n: int = 32
    d_wide: int = 64  # d > n: K = XXᵀ is positive definite
    d_narrow: int = 8  # d < n: rank d, a floor
    steps: int = 2000
    width: int = 2048
    depth: int = 3
    draws: int = 5
    step_sizes: int = 10

    def __post_init__(self) -> None:
        if not (self.d_narrow < self.n < self.d_wide):
            raise ValueError("need d_narrow < n < d_wide")
        if min(self.steps, self.width, self.depth, self.draws, self.step_sizes) < 1 or self.draws < 2:
            raise ValueError("sizes must be ≥ 1 and draws ≥ 2")


def _linear_regression(n: int, d: int, steps: int, rng: np.random.Generator) -> dict[str, Any]:
    """Train f(x) = xᵀθ by the engine's full-batch gradient descent on ½‖Xθ − y‖²; the residuals and the theory."""
    x, y = rng.standard_normal((n, d)) / np.sqrt(d), rng.standard_normal(n)
    model = nn.Linear(d, 1, bias=False, dtype=np.float64, rng=rng)
    kernel = x @ x.T
    eta = 1.0 / np.linalg.eigvalsh(kernel).max()
    optimizer = optim.SGD(model.parameters(), lr=eta)
    inputs, targets = nr.tensor(x), nr.tensor(y[:, None])
    residuals = []
    for _ in range(steps + 1):
        optimizer.zero_grad()
        output = model(inputs)
        residuals.append(output.data[:, 0] - y)
        (0.5 * ((output - targets) ** 2).sum()).backward()
        optimizer.step()
    residuals = np.array(residuals)
    f0 = residuals[0] + y
    predicted = gradient_descent_mse(kernel, y, eta)(np.arange(steps + 1), f0) - y
    u, singular, _ = np.linalg.svd(x, full_matrices=True)
    null = u[:, int(np.sum(singular > 1e-12 * singular[0])):]  # an orthonormal basis of ker Xᵀ
    floor = 0.5 * float(np.sum((null.T @ residuals[0]) ** 2))
    return {"residuals": residuals, "predicted": predicted, "floor": floor, "eta": eta,
            "loss": 0.5 * np.sum(residuals**2, axis=1)}


def _one_step_errors(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Relative error of the kernel prediction −ηK(f − y) for one GD step, over a geometric range of η."""
    n, d, width, depth = point["n"], 4, point["width"], point["depth"]
    x = sphere_points(n, d, rng)
    y = rng.standard_normal((n, 1))
    net = nn.ntk_mlp([d] + [width] * depth + [1], "tanh", bias_std=0.1, dtype=np.float64, rng=rng)
    kernel = empirical_ntk(net, x)
    inputs = nr.tensor(x)
    f0 = net(inputs).data
    predicted_direction = -kernel @ (f0 - y)  # Δf ≈ η · this
    net.zero_grad()
    (0.5 * ((net(inputs) - nr.tensor(y)) ** 2).sum()).backward()
    start = {name: p.data.copy() for name, p in net.named_parameters()}
    grads = {name: p.grad.data.copy() for name, p in net.named_parameters()}
    top = float(np.linalg.eigvalsh(kernel).max())
    scaled = np.geomspace(*STEP_WINDOW, point["step_sizes"])
    errors = []
    for eta in scaled / top:
        for name, p in net.named_parameters():
            p.data[...] = start[name] - eta * grads[name]
        predicted = eta * predicted_direction
        errors.append(float(np.linalg.norm(net(inputs).data - f0 - predicted) / np.linalg.norm(predicted)))
    return {"scaled_steps": scaled, "errors": np.array(errors)}


@experiment(
    "ntk-kernel-gd",
    config=KernelGDConfig,
    title="Gradient descent is kernel gradient descent: linear regression exactly, a wide network to first order",
    source=SOURCE,
)
def run(config: KernelGDConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    wide = _linear_regression(config.n, config.d_wide, config.steps, rng)
    narrow = _linear_regression(config.n, config.d_narrow, config.steps, rng)
    deviations = [np.max(np.linalg.norm(case["residuals"] - case["predicted"], axis=1))
                  / np.linalg.norm(case["residuals"][0]) for case in (wide, narrow)]
    result.claim(at_most(
        "000.ntk.linear-kernel-gd",
        f"Linear regression $f_\\theta(x) = x^\\top\\theta$, $L = \\frac12\\|X\\theta - y\\|^2$, trained by the "
        f"engine's gradient descent (η = 1/λ_max(XXᵀ), {config.steps} steps, n = {config.n}, d = {config.d_wide} and "
        f"{config.d_narrow}): the residual follows kernel gradient descent with $K = XX^\\top$ exactly, "
        f"$r_k = (I - \\eta XX^\\top)^k r_0$. Measured: the largest $\\|r_k - r_k^{{pred}}\\|/\\|r_0\\|$ over k and "
        f"both data sets, float64.",
        SOURCE,
        high=TRAJECTORY_TOLERANCE, measured=float(max(deviations)), stderr=0.0,
    ))
    final = float(narrow["loss"][-1])
    result.claim(equality(
        "000.ntk.linear-rank-deficient",
        f"With d = {config.d_narrow} < n = {config.n}, $K = XX^\\top$ has rank d: the component of $r_0$ in "
        f"$\\ker X^\\top$ never moves, so the loss tends to $\\frac12\\|P_{{\\ker X^\\top}} r_0\\|^2$ "
        f"= {narrow['floor']:.4g} (computed from the SVD of X). Measured: the final loss over that value, minus 1, "
        f"after {config.steps} steps; tol {FLOOR_TOLERANCE:g}.",
        SOURCE,
        predicted=0.0, measured=final / narrow["floor"] - 1.0, stderr=0.0, tol=FLOOR_TOLERANCE,
    ))
    point = {"n": config.n, "width": config.width, "depth": config.depth, "step_sizes": config.step_sizes}
    steps = sweep(_one_step_errors, [point] * config.draws, rng, desc="one GD step")
    slopes = [loglog_slope(s["scaled_steps"], s["errors"])[0] for s in steps]
    mean, stderr = mean_and_stderr(slopes)
    result.claim(band(
        "000.ntk.function-dynamics",
        f"A tanh MLP in the NTK parameterization ({config.depth} hidden layers of width {config.width}, "
        f"{config.n} points of the sphere, σ_b = 0.1): one GD step of size η changes the outputs by "
        f"$-\\eta K_\\theta(X, X)(f - y) + O(\\eta^2)$, so the relative error of that prediction grows like η: "
        f"log-log slope 1 ± 0.1 over η·λ_max ∈ [{STEP_WINDOW[0]:g}, {STEP_WINDOW[1]:g}] (mean over "
        f"{config.draws} networks).",
        SOURCE_NETWORK,
        low=0.9, high=1.1, measured=mean, stderr=stderr,
    ))
    result.table("one_step_errors", [
        {"draw": draw, "eta_lambda_max": float(eta), "relative_error": float(error)}
        for draw, s in enumerate(steps) for eta, error in zip(s["scaled_steps"], s["errors"])
    ])
    result.table("linear_regression", [
        {"case": name, "d": d, "eta": case["eta"], "final_loss": float(case["loss"][-1]), "floor": case["floor"],
         "max_deviation": float(deviation)}
        for (name, d, case), deviation in zip((("d > n", config.d_wide, wide), ("d < n", config.d_narrow, narrow)),
                                               deviations)
    ])
    fig = result.figure(
        "linear-kernel-gd",
        "Linear regression by the engine's gradient descent (markers) against kernel gradient descent "
        "r_k = (I − ηXXᵀ)^k r₀ (lines): the loss goes to zero when d > n and to ½‖P_ker r₀‖² (dashed) when d < n.",
    )
    ax = fig.subplots()
    steps_axis = np.arange(config.steps + 1)
    every = max(1, config.steps // 40)
    for (label, case), color in zip((("d > n", wide), ("d < n", narrow)), ("C0", "C1")):
        ax.plot(steps_axis, 0.5 * np.sum(case["predicted"] ** 2, axis=1), color=color, label=f"theory, {label}")
        ax.plot(steps_axis[::every], case["loss"][::every], "o", color=color, markersize=3, label=f"engine, {label}")
    ax.axhline(narrow["floor"], color="C1", linestyle="--")
    ax.set(yscale="log", xlabel="step k", ylabel="loss ½‖r_k‖²")
    ax.legend()
    fig = result.figure(
        "one-step-error",
        "Relative error of the kernel prediction of one GD step, ‖Δf + ηK(f − y)‖/‖ηK(f − y)‖, against η·λ_max: "
        "slope 1 (dashed), the O(η²) remainder.",
    )
    ax = fig.subplots()
    for s in steps:
        ax.plot(s["scaled_steps"], s["errors"], marker="o", color="C0", alpha=0.6)
    reference = steps[0]["scaled_steps"]
    ax.plot(reference, steps[0]["errors"][0] * reference / reference[0], "k--", label="slope 1")
    ax.set(xscale="log", yscale="log", xlabel="η · λ_max(K)", ylabel="relative error of −ηK(f − y)")
    ax.legend()
    return result
