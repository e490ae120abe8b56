r"""The ResNet annex: residual networks keep their input gradients correlated, their loss surfaces are more convex,
and a good initialization can stand in for the skips ("Rien ne sert de courir", annexes;
:mod:`neurones.analysis.landscape`).

**Shattered gradients** (Balduzzi et al. 2017). A scalar input on 256 points of [−2, 2], width 200, He-initialized
hidden layers; the input gradient g(x) = ∂f/∂x along the grid, and its lag-1 autocorrelation ρ (centred along the
line, :func:`~neurones.analysis.landscape.input_gradient_autocorrelation`), averaged over draws, for depths L up to
50 and four networks: the plain network with BatchNorm before each ReLU (Balduzzi et al.'s feed-forward net), the
same without BatchNorm, the residual network with BatchNorm in each branch h + W·ReLU(BN(h)) (their ResNet) and the
residual network with branches scaled by 1/√L and no normalization. Claims:

- ``002.resnet.gradient-correlation[plain]``: ρ(L_max) ≤ 0.1 for the plain BatchNorm network (white-noise gradients);
- ``002.resnet.gradient-correlation[residual-bn]`` and ``[residual-scaled]``: ρ(L_max) ≥ 0.5;
- ``002.resnet.shattering-rate[plain]``: the decay is exponential, slope of log ρ against L ≤ −0.3 per layer on the
  depths where ρ ≥ 0.1 (Balduzzi et al.: 2^{−L}, a slope of −0.69);
- ``002.resnet.shattering-rate[residual-bn]``: the decay is sublinear, log–log slope of ρ against L in
  [−0.8, −0.2] (Balduzzi et al.: 1/√L, a slope of −½).

**Loss surfaces** (Li et al. 2018). A 20-layer width-64 MLP with and without skips (h + W·GELU(h)/√L), trained by
Adam on MNIST-1D; at five points of a filter-normalized plane through the trained weights (the centre and (±½, ±½))
the Hessian's extreme eigenvalues by Lanczos (:func:`~neurones.func.hessian_extreme_eigenvalues`), and
Li et al.'s convexity statistic |λ_min/λ_max|. GELU, not ReLU: our Hessian-vector products are central differences
of gradients, and a ReLU network's gradient jumps at every activation-pattern change inside the 10⁻⁵ step — the
differences read those jumps as spikes of curvature (measured: λ_min ≈ −800 at a trained ReLU network's minimum),
where Li et al.'s double backward sees only the curvature inside one linear region. Claim:

- ``002.resnet.surface-convexity``: mean |λ_min/λ_max| of the plain network ≥ 2 × the residual network's.

**Initialization instead of skips** (Pennington, Schoenholz & Ganguli 2017; Xiao et al. 2018). A 32-layer tanh MLP
of width 128 without biases after a Linear(40, 128) input layer: Gaussian weights N(0, 1/n) (σ_w² = 1, the critical
point), orthogonal weights (gain 1), and the residual network h + tanh(W h)/√L with Gaussian W. At initialization,
the spread (standard deviation) of the log singular values of the input–output Jacobian ∂h_L/∂h₀, at MNIST-1D
inputs; then Adam (lr 1e-4: at 1e-3 both plain networks diverge, measured) on MNIST-1D. Claims:

- ``002.init-replaces-skips.isometry[orthogonal]``: spread ≤ 0.25; ``[gaussian]``: spread ≥ 1;
- ``002.init-replaces-skips.trainability[vs-residual]``: acc(orthogonal) − acc(residual) ≥ −5 points;
  ``[vs-gaussian]``: acc(orthogonal) − acc(Gaussian) ≥ 5 points.

Pennington et al.'s isometry of tanh networks needs small pre-activations (q* → 0) as well as orthogonal weights;
the table ``isometry`` gives the spread with the input layer scaled by 1, ½ and ¼, and the claim is made at the
network as built (scale 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
import neurones.functional as F
from neurones import nn, optim
from neurones.analysis.landscape import filter_normalized_direction, input_gradient_autocorrelation, loss_slice
from neurones.data.mnist1d import load_mnist1d
from neurones.func import hessian_extreme_eigenvalues, model_loss
from neurones.lab.claims import at_least, at_most, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import bootstrap_stderr, loglog_slope, mean_and_stderr, ratio_of_means
from neurones.lab.sweep import sweep
from neurones.train import evaluate

SOURCE = "lopes-quintas-2025, annexes (ResNets)"
SHATTER_KINDS = ("plain-bn", "plain", "residual-bn", "residual-scaled")
GRID_POINTS = 256
PLANE_POINTS = ((0.0, 0.0), (0.5, 0.5), (-0.5, 0.5), (0.5, -0.5), (-0.5, -0.5))
HESSIAN_EXAMPLES = 512
SLICE = np.linspace(-1.0, 1.0, 41)
INIT_KINDS = ("gaussian", "orthogonal", "residual")
INPUT_SCALES = (1.0, 0.5, 0.25)
BATCH = 128
ADAM_NOTE = ("Pennington et al. and Xiao et al. trained with SGD; Adam divides each parameter's step by its own "
             "gradient scale, which may hide part of the Gaussian network's ill-conditioning (a hypothesis, not "
             "measured here).")


@scales(quick=dict(shatter_draws=10, landscape_seeds=1, landscape_steps=1000, train_steps=600, isometry_inputs=16,
                   train_seeds=1),
        smoke=dict(shatter_depths=(2, 4, 8), shatter_width=16, shatter_draws=3, landscape_depth=3,
                   landscape_width=8, landscape_seeds=1, landscape_steps=10, isometry_depth=4, isometry_width=8,
                   isometry_inputs=4, train_steps=5, train_seeds=1))
@dataclass(frozen=True)
class ResNetAnnexConfig:
    shatter_depths: tuple[int, ...] = (2, 4, 8, 16, 32, 50)
    shatter_width: int = 200
    shatter_draws: int = 50
    landscape_depth: int = 20
    landscape_width: int = 64
    landscape_seeds: int = 3
    landscape_steps: int = 3000
    isometry_depth: int = 32
    isometry_width: int = 128
    isometry_inputs: int = 128
    train_steps: int = 1000
    train_seeds: int = 5

    def __post_init__(self) -> None:
        if len(self.shatter_depths) < 3 or min(self.shatter_depths) < 1 or self.shatter_draws < 2:
            raise ValueError("at least three depths ≥ 1 and two draws are required for the gradient correlation")
        if min(self.landscape_depth, self.landscape_width, self.landscape_seeds, self.landscape_steps,
               self.isometry_depth, self.isometry_width, self.isometry_inputs, self.train_steps,
               self.train_seeds, self.shatter_width) < 1:
            raise ValueError("sizes, seeds and steps must be positive")


# --- shattered gradients -----------------------------------------------------------------------------------------

def _shatter_network(kind: str, depth: int, width: int, rng: np.random.Generator) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(1, width, rng=rng, dtype=np.float64)]
    for _ in range(depth):
        linear = nn.Linear(width, width, rng=rng, dtype=np.float64)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", rng=rng)
        nn.init.zeros_(linear.bias)
        norm = [nn.BatchNorm1d(width, dtype=np.float64)] if kind.endswith("-bn") else []
        if kind.startswith("residual"):
            layers.append(nn.Residual(nn.Sequential(*norm, nn.ReLU(), linear),
                                      scale=1.0 if kind == "residual-bn" else 1 / np.sqrt(depth)))
        else:
            layers += [*norm, nn.ReLU(), linear]
    return nn.Sequential(*layers, nn.ReLU(), nn.Linear(width, 1, rng=rng, dtype=np.float64))


def _gradient_correlation(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Lag-1 autocorrelation of the input gradient of each network kind at one depth, one draw each."""
    values = {}
    for kind in SHATTER_KINDS:
        model = _shatter_network(kind, point["depth"], point["width"], rng)  # BatchNorm in training mode, as theirs
        values[kind] = float(input_gradient_autocorrelation(
            model, np.array([-2.0]), np.array([1.0]), GRID_POINTS, 4.0 / (GRID_POINTS - 1))[0])
    return {"depth": point["depth"], **values}


def _semilog_slope(depths, values) -> float:
    return float(np.polyfit(np.asarray(depths, dtype=np.float64), np.log(values), 1)[0])


def _shattering_claims(result: Result, config: ResNetAnnexConfig, rng: np.random.Generator) -> np.ndarray:
    depths = config.shatter_depths
    points = [{"depth": d, "width": config.shatter_width} for _ in range(config.shatter_draws) for d in depths]
    runs = sweep(_gradient_correlation, points, rng, desc="input-gradient correlations")
    result.table("gradient_correlation", runs)
    rho = {kind: np.array([[r[kind] for r in runs if r["depth"] == d] for d in depths]).T for kind in SHATTER_KINDS}
    deepest = depths[-1]
    setting = (f"the input gradient along 256 points of [−2, 2] (scalar input, width {config.shatter_width}, He "
               f"initialization, {config.shatter_draws} draws)")
    mean, stderr = mean_and_stderr(rho["plain-bn"][:, -1])
    result.claim(at_most(
        "002.resnet.gradient-correlation[plain]",
        f"A plain ReLU network with BatchNorm of depth {deepest} shatters {setting}: lag-1 autocorrelation ≤ 0.1.",
        SOURCE, high=0.1, measured=mean, stderr=stderr,
    ))
    for kind, what in (("residual-bn", "h + W·ReLU(BN(h))"), ("residual-scaled", "h + W·ReLU(h)/√L")):
        mean, stderr = mean_and_stderr(rho[kind][:, -1])
        result.claim(at_least(
            f"002.resnet.gradient-correlation[{kind}]",
            f"A residual network ({what}) of depth {deepest} keeps {setting} correlated: lag-1 autocorrelation "
            f"≥ 0.5.",
            SOURCE, low=0.5, measured=mean, stderr=stderr,
        ))
    window = [i for i, d in enumerate(depths) if rho["plain-bn"][:, i].mean() >= 0.1]
    if len(window) >= 2:
        chosen = [depths[i] for i in window]

        def plain_slope(values):
            return _semilog_slope(chosen, np.clip(values[:, window].mean(axis=0), 1e-12, None))

        slope = plain_slope(rho["plain-bn"])
        stderr = bootstrap_stderr(plain_slope, [rho["plain-bn"]], rng)
    else:
        chosen, slope, stderr = [depths[i] for i in window], float("nan"), float("nan")
    result.claim(at_most(
        "002.resnet.shattering-rate[plain]",
        f"Balduzzi et al.: the gradient correlation of a plain network decays exponentially, like 2^{{−L}}: the "
        f"slope of log ρ against depth L, on the depths where ρ ≥ 0.1 ({chosen}), is ≤ −0.3 per layer.",
        SOURCE, high=-0.3, measured=slope, stderr=stderr,
        notes="Balduzzi et al.'s rate is for the correlation of gradients at distinct inputs, whose activation "
              "patterns they treat as independent; neighbouring grid points share most of their patterns, and "
              "their correlation falls more slowly at first.",
    ))

    def residual_slope(values):
        return loglog_slope(depths, np.clip(values.mean(axis=0), 1e-12, None))[0]

    result.claim(band(
        "002.resnet.shattering-rate[residual-bn]",
        "Balduzzi et al.: the gradient correlation of a ResNet with BatchNorm decays sublinearly (like 1/√L): "
        "log–log slope of ρ against depth in [−0.8, −0.2].",
        SOURCE, low=-0.8, high=-0.2, measured=residual_slope(rho["residual-bn"]),
        stderr=bootstrap_stderr(residual_slope, [rho["residual-bn"]], rng),
    ))
    return np.array([rho[kind].mean(axis=0) for kind in SHATTER_KINDS])


# --- loss surfaces ---------------------------------------------------------------------------------------------------

def _landscape_network(residual: bool, depth: int, width: int, rng: np.random.Generator) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(40, width, rng=rng)]
    for _ in range(depth):
        linear = nn.Linear(width, width, rng=rng)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", rng=rng)
        nn.init.zeros_(linear.bias)
        if residual:
            layers.append(nn.Residual(nn.Sequential(nn.GELU(), linear), scale=1 / np.sqrt(depth)))
        else:
            layers += [nn.GELU(), linear]
    return nn.Sequential(*layers, nn.GELU(), nn.Linear(width, 10, rng=rng))


def _train_adam(model, steps: int, lr: float, rng: np.random.Generator) -> None:
    x, y = load_mnist1d()[0].tensors
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        batch = rng.integers(0, x.shape[0], BATCH)
        optimizer.zero_grad()
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()


def _test_accuracy(model) -> float:
    return evaluate(model, [load_mnist1d()[1].tensors])["accuracy"]


def _curvature(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    """Train one network, then |λ_min/λ_max| at the points of a filter-normalized plane and a 1-D slice."""
    model = _landscape_network(point["residual"], point["depth"], point["width"],
                               np.random.default_rng(point["init_seed"]))
    _train_adam(model, point["steps"], 1e-3, rng)
    test_accuracy = _test_accuracy(model)
    model.double()
    x, y = load_mnist1d(dtype=np.float64)[0].tensors
    x, y = x[:HESSIAN_EXAMPLES], y[:HESSIAN_EXAMPLES]
    names = [name for name, _ in model.named_parameters()]
    first, second = filter_normalized_direction(model, rng), filter_normalized_direction(model, rng)
    base = {name: p.data for name, p in model.named_parameters()}
    loss, _ = model_loss(model, F.cross_entropy, x, y)
    ratios, extremes = [], []
    for a, b in PLANE_POINTS:
        params = [nr.tensor(base[n] + a * first[n] + b * second[n]) for n in names]
        low, high = hessian_extreme_eigenvalues(loss, params, rng, tol=1e-3)
        ratios.append(abs(low / high))
        extremes.append((low, high))
    return {"residual": point["residual"], "init_seed": point["init_seed"], "test_accuracy": test_accuracy,
            "ratios": ratios, "extremes": extremes,
            "slice": loss_slice(model, F.cross_entropy, x, y, [first], SLICE).tolist()}


def _convexity_claim(result: Result, config: ResNetAnnexConfig, rng: np.random.Generator) -> list[dict]:
    seeds = [int(s) for s in rng.integers(2**31, size=config.landscape_seeds)]
    points = [{"residual": residual, "init_seed": seed, "depth": config.landscape_depth,
               "width": config.landscape_width, "steps": config.landscape_steps}
              for seed in seeds for residual in (False, True)]
    runs = sweep(_curvature, points, rng, desc="curvature of trained networks")
    plain = np.concatenate([r["ratios"] for r in runs if not r["residual"]])
    residual = np.concatenate([r["ratios"] for r in runs if r["residual"]])
    ratio, stderr = ratio_of_means(plain, residual, rng)
    result.claim(at_least(
        "002.resnet.surface-convexity",
        f"Li et al.: the loss surface of a deep plain network is less convex than a ResNet's: at {len(PLANE_POINTS)} "
        f"points of a filter-normalized plane through the trained weights ({config.landscape_depth}-layer width-"
        f"{config.landscape_width} GELU MLPs, Adam {config.landscape_steps} steps, {config.landscape_seeds} "
        f"seed(s)), mean |λ_min/λ_max| of the plain network / the residual network's ≥ 2.",
        SOURCE, low=2.0, measured=ratio, stderr=stderr,
    ))
    result.table("curvature", [
        {"residual": r["residual"], "init_seed": r["init_seed"], "a": a, "b": b, "lambda_min": low,
         "lambda_max": high, "ratio": ratio_ab, "test_accuracy": r["test_accuracy"]}
        for r in runs for (a, b), (low, high), ratio_ab in zip(PLANE_POINTS, r["extremes"], r["ratios"])
    ])
    return runs


# --- initialization instead of skips ---------------------------------------------------------------------------------

def _init_network(kind: str, depth: int, width: int, rng: np.random.Generator) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(40, width, rng=rng)]
    for _ in range(depth):
        linear = nn.Linear(width, width, bias=False, rng=rng)
        if kind == "orthogonal":
            nn.init.orthogonal_(linear.weight, rng=rng)
        else:
            nn.init.normal_(linear.weight, std=1 / np.sqrt(width), rng=rng)
        if kind == "residual":
            layers.append(nn.Residual(nn.Sequential(linear, nn.Tanh()), scale=1 / np.sqrt(depth)))
        else:
            layers += [linear, nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 10, rng=rng))


def _jacobian_log_spread(model: nn.Sequential, inputs: np.ndarray, input_scale: float) -> float:
    """Mean over inputs of the standard deviation of log singular values of ∂h_L/∂h₀, h₀ = ``input_scale`` × the
    input layer's output: the product of the layers' Jacobians W_l, diag(tanh′(a)) and I + s·diag(tanh′(W h)) W,
    in float64."""
    first, *hidden, _ = list(model)
    with nr.no_grad():
        starts = input_scale * np.asarray(first(nr.tensor(inputs)).data, dtype=np.float64)
    spreads = []
    for h in starts:
        jacobian = np.eye(h.size)
        for layer in hidden:
            if isinstance(layer, nn.Linear):
                weight = np.asarray(layer.weight.data, dtype=np.float64)
                h, jacobian = weight @ h, weight @ jacobian
            elif isinstance(layer, nn.Tanh):
                h, jacobian = np.tanh(h), (1 - np.tanh(h) ** 2)[:, None] * jacobian
            else:  # Residual(Sequential(Linear, Tanh), scale)
                weight = np.asarray(layer.branch[0].weight.data, dtype=np.float64)
                a = weight @ h
                h, jacobian = (h + layer.scale * np.tanh(a),
                               jacobian + layer.scale * (1 - np.tanh(a) ** 2)[:, None] * (weight @ jacobian))
        spreads.append(float(np.std(np.log(np.linalg.svd(jacobian, compute_uv=False)))))
    return float(np.mean(spreads))


def _init_training(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    model = _init_network(point["kind"], point["depth"], point["width"], np.random.default_rng(point["init_seed"]))
    _train_adam(model, point["steps"], 1e-4, rng)
    return {"kind": point["kind"], "init_seed": point["init_seed"], "test_accuracy": _test_accuracy(model)}


def _isometry_claims(result: Result, config: ResNetAnnexConfig, rng: np.random.Generator) -> dict[str, list]:
    inputs = np.asarray(load_mnist1d()[0].tensors[0].data[:config.isometry_inputs])
    models = {kind: _init_network(kind, config.isometry_depth, config.isometry_width, rng) for kind in INIT_KINDS}
    rows = [{"kind": kind, "input_scale": scale, "spread": _jacobian_log_spread(models[kind], inputs, scale)}
            for kind in INIT_KINDS for scale in INPUT_SCALES]
    result.table("isometry", rows)
    spread = {r["kind"]: r["spread"] for r in rows if r["input_scale"] == 1.0}
    where = (f"∂h_L/∂h₀ of a {config.isometry_depth}-layer tanh MLP of width {config.isometry_width} at "
             f"{config.isometry_inputs} MNIST-1D inputs")
    result.claim(at_most(
        "002.init-replaces-skips.isometry[orthogonal]",
        f"With orthogonal weights the network is dynamically isometric: the spread (sd) of the log singular values "
        f"of {where} is ≤ 0.25.",
        SOURCE, high=0.25, measured=spread["orthogonal"], stderr=0.0,
        notes="Pennington et al.'s isometry for tanh also needs small pre-activations (q* → 0): the table "
              "'isometry' gives the spread with the input layer scaled down.",
    ))
    result.claim(at_least(
        "002.init-replaces-skips.isometry[gaussian]",
        f"With Gaussian weights at the critical point σ_w² = 1 it is not: the spread of the log singular values of "
        f"{where} is ≥ 1.",
        SOURCE, low=1.0, measured=spread["gaussian"], stderr=0.0,
    ))
    seeds = [int(s) for s in rng.integers(2**31, size=config.train_seeds)]
    runs = sweep(_init_training, [{"kind": kind, "init_seed": seed, "depth": config.isometry_depth,
                                   "width": config.isometry_width, "steps": config.train_steps}
                                  for seed in seeds for kind in INIT_KINDS], rng, desc="deep tanh networks")
    result.table("trainability", runs)
    accuracies = {kind: np.array([r["test_accuracy"] for r in runs if r["kind"] == kind]) for kind in INIT_KINDS}
    trained = (f"after {config.train_steps} Adam steps (lr 1e-4, {config.train_seeds} seed(s)) on MNIST-1D, the "
               f"{config.isometry_depth}-layer tanh MLP")
    for claim_id, other, low, text in (
        ("002.init-replaces-skips.trainability[vs-residual]", "residual", -0.05,
         "with orthogonal weights trains about as well as the residual network: acc(orthogonal) − acc(residual) "
         "≥ −5 points"),
        ("002.init-replaces-skips.trainability[vs-gaussian]", "gaussian", 0.05,
         "with orthogonal weights trains better than with Gaussian ones: acc(orthogonal) − acc(Gaussian) ≥ 5 points"),
    ):
        mean, stderr = mean_and_stderr(accuracies["orthogonal"] - accuracies[other]) if config.train_seeds > 1 else (
            float(accuracies["orthogonal"][0] - accuracies[other][0]), 0.0)
        result.claim(at_least(claim_id, f"{trained.capitalize()} {text}.", SOURCE, low=low, measured=mean,
                              stderr=stderr, notes=ADAM_NOTE))
    return {"isometry": rows, "trainability": runs}


@experiment(
    "resnet-annex",
    config=ResNetAnnexConfig,
    title="ResNets keep gradients correlated and surfaces convex; orthogonal initialization replaces skips",
    source=SOURCE,
)
def run(config: ResNetAnnexConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    load_mnist1d()
    load_mnist1d(dtype=np.float64)
    correlations = _shattering_claims(result, config, rng)
    curvature = _convexity_claim(result, config, rng)
    init = _isometry_claims(result, config, rng)
    fig = result.figure(
        "gradients-surfaces-isometry",
        "Left: lag-1 autocorrelation of the input gradient against depth, for the four networks (mean over draws). "
        "Middle: the training loss along one filter-normalized direction through the trained weights, plain "
        "(solid) and residual (dashed) networks. Right: spread of the log singular values of ∂h_L/∂h₀ against the "
        "input layer's scale, for the three deep tanh networks (log scale).",
    )
    left, middle, right = fig.subplots(1, 3)
    for kind, values in zip(SHATTER_KINDS, correlations):
        left.plot(config.shatter_depths, values, marker="o", label=kind)
    left.set(xlabel="depth L", ylabel="lag-1 autocorrelation ρ", xscale="log")
    left.legend(fontsize=7)
    for r in curvature:
        middle.plot(SLICE, r["slice"], color="C1" if r["residual"] else "C0",
                    linestyle="--" if r["residual"] else "-")
    middle.set(xlabel="α along d", ylabel="training loss", yscale="log")
    for kind in INIT_KINDS:
        rows = [r for r in init["isometry"] if r["kind"] == kind]
        right.plot([r["input_scale"] for r in rows], [r["spread"] for r in rows], marker="o", label=kind)
    right.set(xlabel="input-layer scale", ylabel="sd of log singular values", yscale="log")
    right.legend(fontsize=7)
    return result
