r"""The mean-field limit of two-layer networks: a deterministic limit with fluctuations of order 1/√N, neurons that
move by Θ(1), and global convergence (seed 000 §8; Mei, Montanari & Nguyen 2018; Sirignano & Spiliopoulos 2020;
Chizat & Bach 2018, 2020).

A network f(x) = (1/N) Σ_j a_j ReLU(w_j·x) (:class:`~neurones.nn.MeanFieldTwoLayer`, w_j ~ N(0, I_d), a_j ~ N(0, 1))
is a function of the empirical measure of its N neurons; gradient descent with the per-neuron step N·η follows,
as N → ∞, a deterministic flow of that measure. The task: a 3-neuron ReLU teacher on inputs uniform on the sphere
of ℝ^d (:func:`~neurones.data.two_layer_relu_teacher`), ½·mean squared error, full-batch gradient descent for
``steps`` steps (:func:`~neurones.train.full_batch_gd`), ``seeds`` independent networks trained at once (stacked
restarts), on the same data. The same networks in the NTK scaling ((1/√N) Σ, step η) are the contrast. Claims:

- ``000.mean-field.fluctuations``: the variance over seeds of the trained function (mean over test inputs) is the
  variance of an average of N weakly dependent neurons, O(1/N): log–log slope against N in [−1.2, −0.8];
- ``000.mean-field.limit``: the mean trained function converges as N doubles: the RMS difference between the
  seed-averaged functions at the two largest widths is at most half that at the two smallest (a bias O(1/N) and a
  noise O((N·seeds)^{−1/2}) both shrink);
- ``000.mean-field.features-move[mean-field]``: the mean displacement of a neuron, ‖θ_j(T) − θ_j(0)‖, stays Θ(1):
  slope against N in [−0.15, 0.15]; ``[ntk]``: in the NTK scaling it is O(N^{−1/2}): slope in [−0.65, −0.35];
- ``000.mean-field.global``: at the largest N, the training loss falls below 10⁻³ of its initial value;
- ``000.mean-field.feature-learning`` (full scale; Chizat & Bach 2020's task y = sign(x₁x₂) with the logistic loss,
  x ~ N(0, I_d)): ``[both]`` training both layers keeps the test error within 5 points of its value at the
  smallest dimension, ``[output-only]`` training only the output layer (random features) loses at least 10 points
  between the smallest and largest dimension.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import neurones as nr
import neurones.functional as F
from neurones import nn
from neurones.data import two_layer_relu_teacher
from neurones.lab.claims import at_least, at_most, band
from neurones.lab.config import scales
from neurones.lab.registry import experiment
from neurones.lab.result import Result
from neurones.lab.statistics import bootstrap_stderr, loglog_slope, mean_and_stderr, mean_loglog_slope
from neurones.lab.sweep import sweep
from neurones.train import full_batch_gd

SOURCE = "merad-2020, §8 (Mei, Montanari & Nguyen 2018)"
SOURCE_CB = "merad-2020, §8 (Chizat & Bach 2020)"
TEACHER_NEURONS = 3
LR = 0.5
GLOBAL_FRACTION = 1e-3
FEATURE_BOTH_MARGIN, FEATURE_OUTPUT_LOSS = 0.05, 0.10


@scales(quick=dict(widths=(32, 64, 128, 256, 512), steps=2000, classification_dimensions=()),
        smoke=dict(widths=(8, 16, 32, 64), seeds=3, steps=20, train_points=20, test_points=20,
                   classification_dimensions=(2, 4), classification_width=16, classification_steps=10))
@dataclass(frozen=True)
class MeanFieldConfig:
    widths: tuple[int, ...] = (32, 64, 128, 256, 512, 1024, 2048, 4096)
    seeds: int = 8
    steps: int = 4000
    dimension: int = 10
    train_points: int = 100
    test_points: int = 200
    classification_dimensions: tuple[int, ...] = (5, 10, 20, 40)
    classification_width: int = 512
    classification_steps: int = 20_000
    classification_points: int = 256

    def __post_init__(self) -> None:
        if len(self.widths) < 4 or list(self.widths) != sorted(self.widths) or self.widths[0] < 1:
            raise ValueError("at least four increasing widths are required")
        if self.seeds < 3 or self.steps < 1 or self.dimension < 1:
            raise ValueError("seeds ≥ 3, steps ≥ 1 and dimension ≥ 1 are required")
        if self.classification_dimensions and (len(self.classification_dimensions) < 2
                                               or min(self.classification_dimensions) < 2):
            raise ValueError("classification_dimensions: none, or at least two dimensions ≥ 2")


def _per_restart_half_mse(output, target):
    return ((output - target) ** 2).mean(dim=(1, 2)) / 2


def _per_restart_logistic(output, target):
    return F.softplus(-(output * target)).mean(dim=(1, 2))


def _regression(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    train, test = two_layer_relu_teacher(point["train_points"], point["dimension"], TEACHER_NEURONS,
                                         np.random.default_rng(point["data_seed"]), n_test=point["test_points"],
                                         dtype=np.float64)
    model = nn.MeanFieldTwoLayer(point["dimension"], point["width"], scaling=point["scaling"],
                                 restarts=point["seeds"], dtype=np.float64, rng=rng)
    w0, a0 = model.weight.data.copy(), model.output.data.copy()
    history = full_batch_gd(model, *train.tensors, LR, point["steps"], loss_fn=_per_restart_half_mse,
                            param_groups=model.param_groups(LR), record_every=max(1, point["steps"] // 50))
    with nr.no_grad():
        functions = model(test.tensors[0]).data[..., 0]  # (seeds, test points)
    moved = np.sqrt(np.sum((model.weight.data - w0) ** 2, axis=-1) + (model.output.data - a0) ** 2)  # (seeds, N)
    losses = np.array(history.losses)  # (records, seeds)
    return {"scaling": point["scaling"], "width": point["width"], "functions": functions,
            "neuron_displacement": moved.mean(axis=1), "initial_loss": losses[0], "final_loss": losses[-1],
            "steps": np.array(history.steps), "losses": losses.mean(axis=1),
            # the particles (‖w_j‖, a_j) of the first network, before and after training
            "particles": np.stack([np.linalg.norm(w0[0], axis=-1), a0[0],
                                   np.linalg.norm(model.weight.data[0], axis=-1), model.output.data[0]])}


def _xor_data(n: int, d: int, rng: np.random.Generator):
    x = rng.standard_normal((n, d))
    return nr.tensor(x), nr.tensor(np.sign(x[:, :1] * x[:, 1:2]))


def _classification(point: Mapping[str, Any], rng: np.random.Generator) -> dict[str, Any]:
    data = np.random.default_rng(point["data_seed"])
    (x, y), (x_test, y_test) = (_xor_data(point["points"], point["dimension"], data),
                                _xor_data(4 * point["points"], point["dimension"], data))
    model = nn.MeanFieldTwoLayer(point["dimension"], point["width"], restarts=point["seeds"], dtype=np.float64,
                                 rng=rng)
    groups = (model.param_groups(LR) if point["layers"] == "both"
              else [{"params": [model.output], "lr": LR * model.N}])
    full_batch_gd(model, x, y, LR, point["steps"], loss_fn=_per_restart_logistic, param_groups=groups,
                  record_every=point["steps"])
    with nr.no_grad():
        errors = np.mean(np.sign(model(x_test).data) != y_test.data, axis=(1, 2))
    return {"layers": point["layers"], "dimension": point["dimension"], "test_error": errors}


@experiment(
    "mean-field",
    config=MeanFieldConfig,
    title="The mean-field limit: fluctuations of order 1/√N, neurons that move by Θ(1), global convergence",
    source=SOURCE,
)
def run(config: MeanFieldConfig, rng: np.random.Generator) -> Result:
    result = Result(config)
    data_seed = int(rng.integers(2**31))
    base = {"seeds": config.seeds, "steps": config.steps, "dimension": config.dimension, "data_seed": data_seed,
            "train_points": config.train_points, "test_points": config.test_points}
    runs = sweep(_regression, [{**base, "scaling": scaling, "width": width}
                               for scaling in ("mean-field", "ntk") for width in config.widths],
                 rng, desc="widths")
    mf = [r for r in runs if r["scaling"] == "mean-field"]
    ntk = [r for r in runs if r["scaling"] == "ntk"]
    widths = list(config.widths)
    setting = (f"two-layer ReLU networks (1/N output, step N·η), a {TEACHER_NEURONS}-neuron teacher on the sphere of "
               f"ℝ^{config.dimension}, {config.train_points} training points, {config.steps} GD steps, "
               f"{config.seeds} seeds, N ∈ {widths}")
    # Fluctuations: per-input variance over seeds, averaged over inputs; bootstrap over seeds.
    variances = np.array([r["functions"].var(axis=0, ddof=1).mean() for r in mf])

    def variance_slope(*per_width):  # a resample drawing one seed only has variance 0: floor it for the log
        return loglog_slope(widths, [max(f.var(axis=0, ddof=1).mean(), np.finfo(float).tiny) for f in per_width])[0]

    result.claim(band(
        "000.mean-field.fluctuations",
        f"For {setting}, the variance over seeds of the trained function decays like 1/N: log–log slope in "
        f"[−1.2, −0.8].",
        SOURCE, low=-1.2, high=-0.8, measured=variance_slope(*[r["functions"] for r in mf]),
        stderr=bootstrap_stderr(variance_slope, [r["functions"] for r in mf], rng),
    ))
    means = [r["functions"].mean(axis=0) for r in mf]
    steps_between = [float(np.sqrt(np.mean((b - a) ** 2))) for a, b in itertools.pairwise(means)]

    def last_over_first(*per_width):
        averaged = [f.mean(axis=0) for f in per_width]
        return (float(np.sqrt(np.mean((averaged[-1] - averaged[-2]) ** 2)))
                / float(np.sqrt(np.mean((averaged[1] - averaged[0]) ** 2))))

    result.claim(at_most(
        "000.mean-field.limit",
        f"For {setting}, the seed-averaged trained function converges as N doubles: its RMS change between the two "
        f"largest widths is at most half its change between the two smallest (changes: "
        f"{', '.join(f'{c:.3g}' for c in steps_between)}).",
        SOURCE, high=0.5, measured=last_over_first(*[r["functions"] for r in mf]),
        stderr=bootstrap_stderr(last_over_first, [r["functions"] for r in mf], rng),
    ))
    for group, low, high, text in (
        (mf, -0.15, 0.15, "in the mean-field scaling neurons move by Θ(1) (features are learned)"),
        (ntk, -0.65, -0.35, "in the NTK scaling ((1/√N) Σ, step η) they move by O(N^(−1/2))"),
    ):
        slope, stderr = mean_loglog_slope(widths, np.array([r["neuron_displacement"] for r in group]).T, rng)
        result.claim(band(
            f"000.mean-field.features-move[{group[0]['scaling']}]",
            f"For {setting}, {text}: log–log slope of the mean ‖θ_j(T) − θ_j(0)‖ against N in [{low}, {high}].",
            SOURCE, low=low, high=high, measured=slope, stderr=stderr,
        ))
    ratios = mf[-1]["final_loss"] / mf[-1]["initial_loss"]
    mean, stderr = mean_and_stderr(ratios)
    result.claim(at_most(
        "000.mean-field.global",
        f"For {setting}, gradient descent converges to a global minimum at large N: at N = {widths[-1]} the training "
        f"loss falls below {GLOBAL_FRACTION:g} of its initial value.",
        SOURCE, high=GLOBAL_FRACTION, measured=mean, stderr=stderr,
    ))
    result.table("regression", [
        {"scaling": r["scaling"], "width": r["width"], "variance": float(r["functions"].var(axis=0, ddof=1).mean()),
         "neuron_displacement": float(r["neuron_displacement"].mean()),
         "final_over_initial_loss": float(np.mean(r["final_loss"] / r["initial_loss"]))} for r in runs])
    classification = _feature_learning(result, config, rng)
    fig = result.figure(
        "mean-field",
        "Left: training loss over the steps for each width N (mean-field scaling, mean over seeds). Middle left: "
        "variance over seeds of the trained function against N, with the 1/N slope dashed. Middle right: mean "
        "displacement of a neuron against N, mean-field scaling and NTK scaling. Right: the particles (‖w_j‖, a_j) "
        "of one network at the largest N before (grey) and after training, in the mean-field scaling (blue) and in "
        "the NTK scaling (orange; a network of its own, drawn from the same distribution).",
    )
    left, middle, right, particles = fig.subplots(1, 4)
    for r in mf:
        left.plot(r["steps"], r["losses"], label=f"N = {r['width']}")
    left.set(yscale="log", xlabel="step", ylabel="training loss")
    left.legend(fontsize=6)
    middle.plot(widths, variances, marker="o")
    middle.plot(widths, variances[0] * widths[0] / np.array(widths), "k--")
    middle.set(xscale="log", yscale="log", xlabel="N", ylabel="variance over seeds")
    for group, label in ((mf, "mean field"), (ntk, "NTK")):
        right.plot(widths, [r["neuron_displacement"].mean() for r in group], marker="o", label=label)
    right.set(xscale="log", yscale="log", xlabel="N", ylabel="‖θ_j(T) − θ_j(0)‖")
    right.legend(fontsize=7)
    before = mf[-1]["particles"]
    particles.scatter(before[0], before[1], s=2, color="0.7", label="initialization")
    for r, color in ((mf[-1], "C0"), (ntk[-1], "C1")):
        particles.scatter(r["particles"][2], r["particles"][3], s=2, color=color, label=r["scaling"])
    particles.set(xlabel="‖w_j‖", ylabel="a_j")
    particles.legend(fontsize=6, markerscale=4)
    if classification:
        fig = result.figure(
            "feature-learning",
            "Chizat & Bach's task y = sign(x₁x₂): test error against the input dimension, training both layers or "
            "the output layer only (mean over seeds).",
        )
        ax = fig.subplots()
        for layers in ("both", "output-only"):
            rows = [r for r in classification if r["layers"] == layers]
            ax.plot([r["dimension"] for r in rows], [r["test_error"].mean() for r in rows], marker="o", label=layers)
        ax.set(xlabel="dimension d", ylabel="test error")
        ax.legend(fontsize=7)
    return result


def _feature_learning(result: Result, config: MeanFieldConfig, rng: np.random.Generator) -> list[dict]:
    if not config.classification_dimensions:
        return []
    data_seed = int(rng.integers(2**31))
    runs = sweep(_classification, [
        {"layers": layers, "dimension": d, "width": config.classification_width, "seeds": config.seeds,
         "steps": config.classification_steps, "points": config.classification_points, "data_seed": data_seed}
        for layers in ("both", "output-only") for d in config.classification_dimensions], rng, desc="dimensions")
    result.table("classification", [{"layers": r["layers"], "dimension": r["dimension"],
                                     "test_error": float(r["test_error"].mean())} for r in runs])
    low_d, high_d = config.classification_dimensions[0], config.classification_dimensions[-1]
    setting = (f"Chizat & Bach's task y = sign(x₁x₂), x ~ N(0, I_d), {config.classification_points} training points, "
               f"N = {config.classification_width}, logistic loss, {config.classification_steps} GD steps, "
               f"{config.seeds} seeds")
    for layers, claim in (("both", "feature-learning[both]"), ("output-only", "feature-learning[output-only]")):
        rows = {r["dimension"]: r["test_error"] for r in runs if r["layers"] == layers}
        mean, stderr = mean_and_stderr(rows[high_d] - rows[low_d])
        if layers == "both":
            result.claim(at_most(
                f"000.mean-field.{claim}",
                f"In {setting}, training both layers learns the two relevant directions: the test error at d = "
                f"{high_d} exceeds that at d = {low_d} by at most {FEATURE_BOTH_MARGIN:.0%}.",
                SOURCE_CB, high=FEATURE_BOTH_MARGIN, measured=mean, stderr=stderr,
                notes=("Chizat & Bach's dimension-free guarantee is for the max-margin classifier of the "
                       "variation norm, which gradient flow on the logistic loss reaches only as t → ∞; the "
                       "table 'classification' compares both trainings at each dimension at the step budget "
                       "used."),
            ))
        else:
            result.claim(at_least(
                f"000.mean-field.{claim}",
                f"In {setting}, training the output layer only (random features) degrades with the dimension: the "
                f"test error at d = {high_d} exceeds that at d = {low_d} by at least {FEATURE_OUTPUT_LOSS:.0%}.",
                SOURCE_CB, low=FEATURE_OUTPUT_LOSS, measured=mean, stderr=stderr,
            ))
    return runs
