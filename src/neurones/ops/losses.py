"""Loss functions, each one fused node: the regression loss, and the classification losses through log-sum-exp.

Every loss takes ``reduction`` as in PyTorch: ``"none"`` keeps one loss per sample, ``"sum"`` adds them and
``"mean"`` averages them (for class-index targets with class weights, a weighted average: divided by the total
weight of the samples, PyTorch's definition). Classification losses take scores shaped (N, C) or (N, C, d₁, …)
(the class axis is 1), or an unbatched (C,). Targets are tensors or arrays; class indices are integers and never
receive a gradient, probability targets and regression targets do (as in PyTorch).

Fusing the softmax into the loss is what makes it stable and cheap: log softmax(x)_c = x_c − m − log Σ e^{x−m}
with m the maximum never overflows, and the gradient collapses to softmax(x) − target distribution.
"""

from __future__ import annotations

import warnings

import numpy as np

from neurones.autodiff.function import Function, unbroadcast
from neurones.autodiff.tensor import Tensor
from neurones.errors import DTypeError, ShapeError
from neurones.ops.activations import _logistic

_REDUCTIONS = ("mean", "sum", "none")
_LOG_FLOOR = -100.0  # binary_cross_entropy clamps its logarithms here, as PyTorch does, so log 0 stays finite


def _reduce(loss: np.ndarray, reduction: str, count):
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if count:
        return total / count
    with np.errstate(invalid="ignore", divide="ignore"):  # no sample, or every target ignored: NaN, as PyTorch
        return total / count


def _expand_classes(per_sample):
    """Give a per-sample array (N, d₁, …) the class axis 1 so it broadcasts against scores; scalars pass."""
    return per_sample if np.ndim(per_sample) == 0 else np.expand_dims(per_sample, 1)


def _class_column(class_weight: np.ndarray, ndim: int) -> np.ndarray:
    """Class weights (C,) shaped (1, C, 1, …) to broadcast along the class axis of an ndim-dimensional array."""
    return class_weight.reshape((1, -1) + (1,) * (ndim - 2))


class _TargetClasses:
    """Class-index targets of a score array (N, C, d₁, …): where each sample's class sits, and its weight.

    ``weight`` holds w_{y_i} for every sample (0 where the target is ``ignore_index``), or None when every weight
    is 1; ``denominator`` is what ``reduction="mean"`` divides by: the total weight of the samples.
    """

    def __init__(self, op: str, scores: np.ndarray, target: np.ndarray, class_weight, ignore_index: int):
        n_classes = scores.shape[1]
        valid = target != ignore_index
        self.valid = None if valid.all() else valid
        classes = target if self.valid is None else np.where(valid, target, 0)
        if classes.size and (classes.min() < 0 or classes.max() >= n_classes):
            bad = classes[(classes < 0) | (classes >= n_classes)][0]
            raise IndexError(f"{op}: target class {bad} is out of range for {n_classes} classes")
        if scores.ndim == 2:
            self.rows, self.classes = np.arange(scores.shape[0]), classes
        else:
            self.rows, self.index = None, np.expand_dims(classes, 1)
        if class_weight is not None:
            self.weight = class_weight[classes] if self.valid is None else class_weight[classes] * valid
        else:
            self.weight = None if self.valid is None else valid.astype(scores.dtype)
        self.denominator = target.size if self.weight is None else self.weight.sum()

    def scale(self, g, reduction: str, unbatched: bool):
        """The cotangent of each sample's loss: g itself ("sum"), g per sample ("none"), or g over the mean's
        denominator; zero when every target is ignored (the loss is NaN, but no sample has a gradient, as in
        PyTorch)."""
        if reduction == "mean":
            return g / self.denominator if self.denominator else np.zeros_like(g)
        return g.reshape(1) if unbatched and reduction == "none" else g

    def gather(self, scores: np.ndarray) -> np.ndarray:
        """scores[i, y_i, …] for every sample."""
        if self.rows is not None:
            return scores[self.rows, self.classes]
        return np.take_along_axis(scores, self.index, axis=1)[:, 0]

    def subtract(self, scores: np.ndarray, values) -> None:
        """scores[i, y_i, …] −= values_i, in place."""
        if self.rows is not None:
            scores[self.rows, self.classes] -= values
        else:
            picked = np.take_along_axis(scores, self.index, axis=1)
            picked -= _expand_classes(values)
            np.put_along_axis(scores, self.index, picked, axis=1)


# -------------------------------------------------------------------------------------------------- regression
class MSELoss(Function):
    """ℓ = (x − t)², reduced;  ∂L/∂x = 2 (x − t) g (divided by the number of elements for "mean"),
    ∂L/∂t = −∂L/∂x (summed over broadcast axes)."""

    def forward(self, x, t, reduction):
        try:
            diff = x - t
        except ValueError:
            raise ShapeError(
                f"mse_loss: input of shape {x.shape} and target of shape {t.shape} do not broadcast"
            ) from None
        self.reduction, self.shapes = reduction, (x.shape, t.shape)
        self.save_for_backward(diff)
        return _reduce(diff * diff, reduction, diff.size)

    def backward(self, g):
        (diff,) = self.saved
        scale = g * (2 / diff.size) if self.reduction == "mean" else g * 2
        grad = diff * scale
        px, pt = self.parents
        sx, st = self.shapes
        return (unbroadcast(grad, sx) if px is not None else None, unbroadcast(-grad, st) if pt is not None else None)


# ---------------------------------------------------------------------------------------------- classification
class CrossEntropy(Function):
    """Cross-entropy of softmax(x) against integer classes y, with class weights w and label smoothing ε.

    With log pᵢ = log_softmax(xᵢ) over the C classes:
    ℓᵢ = (1 − ε) w_{yᵢ} (−log p_{i,yᵢ}) + (ε/C) Σ_c w_c (−log p_{i,c}),  and ℓᵢ = 0 where yᵢ = ignore_index.
    Writing ℓᵢ = −Σ_c a_{ic} log p_{ic}, the gradient is ∂ℓᵢ/∂x_{ic} = p_{ic} Σ_c′ a_{ic′} − a_{ic}:
    softmax minus the (weighted, smoothed) target distribution, times the reduction's scale.
    """

    def forward(self, x, target, class_weight, ignore_index, reduction, label_smoothing):
        unbatched = x.ndim == 1
        if unbatched:
            x, target = x[None], target[None]
        classes = _TargetClasses("cross_entropy", x, target, class_weight, ignore_index)
        n_classes = x.shape[1]
        shifted = x - x.max(axis=1, keepdims=True)
        picked = classes.gather(shifted)
        if label_smoothing:
            # Σ_c w_c x̃_c, taken before shifted is overwritten by its exponential
            weighted = shifted if class_weight is None else shifted * _class_column(class_weight, x.ndim)
            smooth_sum = weighted.sum(axis=1)
        exps = np.exp(shifted, out=shifted)
        sum_exp = exps.sum(axis=1, keepdims=True)
        log_z = np.log(sum_exp)[:, 0]
        loss = log_z - picked  # −log p_{i,yᵢ}
        if classes.weight is not None:
            loss *= classes.weight
        if label_smoothing:
            total_weight = n_classes if class_weight is None else class_weight.sum()
            smooth = log_z * total_weight
            smooth -= smooth_sum  # −Σ_c w_c log p_{ic}
            if classes.valid is not None:
                smooth *= classes.valid
            loss *= 1 - label_smoothing
            loss += smooth * (label_smoothing / n_classes)
            self.total_weight = total_weight
        if self.parents is not None:
            exps /= sum_exp
            # The target's array is saved for the in-place check: the class helper's arrays are views of it.
            self.save_for_backward(exps, class_weight, target, classes)
            self.reduction, self.label_smoothing, self.unbatched = reduction, label_smoothing, unbatched
        loss = _reduce(loss, reduction, classes.denominator)
        return loss[0] if unbatched and reduction == "none" else loss

    def backward(self, g):
        probs, class_weight, _, classes = self.saved
        eps = self.label_smoothing
        scale = classes.scale(g, self.reduction, self.unbatched)
        on_target = scale if classes.weight is None else scale * classes.weight
        if eps:
            n_classes = probs.shape[1]
            uniform = scale * (eps / n_classes)
            if classes.valid is not None:
                uniform = uniform * classes.valid
            on_target = on_target * (1 - eps)
            grad = probs * _expand_classes(on_target + uniform * self.total_weight)
            if class_weight is None:
                grad -= _expand_classes(uniform)
            else:
                grad -= _expand_classes(uniform) * _class_column(class_weight, grad.ndim)
        else:
            grad = probs * _expand_classes(on_target)
        classes.subtract(grad, on_target)
        return (grad[0] if self.unbatched else grad,)


class CrossEntropyProbs(Function):
    """Cross-entropy of softmax(x) against target distributions q (same shape as x), with class weights w and
    label smoothing ε:  ℓᵢ = −Σ_c a_{ic} log p_{ic},  a_{ic} = w_c ((1 − ε) q_{ic} + ε/C).

    ∂ℓᵢ/∂x_{ic} = p_{ic} Σ_c′ a_{ic′} − a_{ic};  ∂ℓᵢ/∂q_{ic} = −(1 − ε) w_c log p_{ic}. "mean" divides by the
    number of samples N·d₁⋯ (not by the weights: PyTorch's definition for probability targets).
    """

    def forward(self, x, q, class_weight, reduction, label_smoothing):
        unbatched = x.ndim == 1
        if unbatched:
            x, q = x[None], q[None]
        n_classes = x.shape[1]
        log_probs = x - x.max(axis=1, keepdims=True)
        log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
        target = q * (1 - label_smoothing) + label_smoothing / n_classes if label_smoothing else q
        column = None if class_weight is None else _class_column(class_weight, x.ndim)
        if column is not None:
            target = target * column
        loss = (log_probs * target).sum(axis=1)
        loss *= -1
        self.count = x.size // n_classes
        if self.parents is not None:
            self.save_for_backward(log_probs, target, column)
            self.reduction, self.label_smoothing, self.unbatched = reduction, label_smoothing, unbatched
        loss = _reduce(loss, reduction, self.count)
        return loss[0] if unbatched and reduction == "none" else loss

    def backward(self, g):
        if self.reduction == "mean":
            scale = g / self.count
        else:
            scale = _expand_classes(g.reshape(1) if self.unbatched and self.reduction == "none" else g)
        log_probs, target, column = self.saved
        px, pq = self.parents
        gx = gq = None
        if px is not None:
            gx = np.exp(log_probs)
            gx *= target.sum(axis=1, keepdims=True)
            gx -= target
            gx *= scale
            if self.unbatched:
                gx = gx[0]
        if pq is not None:
            gq = log_probs * (-(1 - self.label_smoothing) * scale)
            if column is not None:
                gq *= column
            if self.unbatched:
                gq = gq[0]
        return gx, gq


class NLLLoss(Function):
    """Negative log-likelihood of given log-probabilities: ℓᵢ = −w_{yᵢ} x_{i,yᵢ} (0 where yᵢ = ignore_index);
    ∂ℓᵢ/∂x_{ic} = −w_{yᵢ} [c = yᵢ]."""

    def forward(self, x, target, class_weight, ignore_index, reduction):
        unbatched = x.ndim == 1
        if unbatched:
            x, target = x[None], target[None]
        classes = _TargetClasses("nll_loss", x, target, class_weight, ignore_index)
        loss = -classes.gather(x)
        if classes.weight is not None:
            loss *= classes.weight
        self.save_for_backward(target, classes)  # the target's array: the class helper's arrays are views of it
        self.reduction, self.unbatched = reduction, unbatched
        self.shape, self.dtype = x.shape, x.dtype
        loss = _reduce(loss, reduction, classes.denominator)
        return loss[0] if unbatched and reduction == "none" else loss

    def backward(self, g):
        _, classes = self.saved
        scale = classes.scale(g, self.reduction, self.unbatched)
        on_target = scale if classes.weight is None else scale * classes.weight
        grad = np.zeros(self.shape, self.dtype)
        classes.subtract(grad, on_target)
        return (grad[0] if self.unbatched else grad,)


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = w [(1 − t) x + (1 + (p − 1) t) softplus(−x)] with p the positive-class weight (1 if not given):
    the cross-entropy of σ(x) against t, written without σ so that it is stable for any x.

    softplus(−x) = max(−x, 0) + log1p(e^{−|x|}) never exponentiates a positive number.
    ∂ℓ/∂x = w [(1 − t) − (1 + (p − 1) t) σ(−x)] (= w (σ(x) − t) when p = 1);  ∂ℓ/∂t = w [(p − 1) softplus(−x) − x].
    """

    def forward(self, x, t, weight, pos_weight, reduction):
        softplus_neg = np.log1p(np.exp(-np.abs(x)))
        softplus_neg += np.maximum(-x, 0)
        if pos_weight is None:
            loss = (1 - t) * x + softplus_neg
        else:
            loss = (1 - t) * x + (1 + (pos_weight - 1) * t) * softplus_neg
        if weight is not None:
            loss = loss * weight
        self.save_for_backward(x, t, softplus_neg, weight, pos_weight)
        self.reduction = reduction
        return _reduce(loss, reduction, loss.size)

    def backward(self, g):
        x, t, softplus_neg, weight, pos_weight = self.saved
        scale = g / x.size if self.reduction == "mean" else g
        if weight is not None:
            scale = scale * weight
        px, pt = self.parents
        gx = gt = None
        if px is not None:
            if pos_weight is None:
                gx = _logistic(x)
                gx -= t
            else:
                gx = (1 - t) - (1 + (pos_weight - 1) * t) * _logistic(-x)
            gx *= scale
        if pt is not None:
            gt = -x if pos_weight is None else (pos_weight - 1) * softplus_neg - x
            gt = gt * scale
        return gx, gt


class BinaryCrossEntropy(Function):
    """ℓ = −w [t log p + (1 − t) log(1 − p)] for probabilities p, each logarithm clamped at −100 (PyTorch);
    ∂ℓ/∂p = w (p − t) / max(p (1 − p), 10⁻¹²);  ∂ℓ/∂t = w [log(1 − p) − log p] with the clamped logarithms,
    the exact derivative of the clamped loss (finite at p ∈ {0, 1}, where PyTorch returns ±∞)."""

    def forward(self, p, t, weight, reduction):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), _LOG_FLOOR)
            log_1mp = np.maximum(np.log1p(-p), _LOG_FLOOR)
        loss = -(log_1mp + t * (log_p - log_1mp))
        if weight is not None:
            loss = loss * weight
        self.save_for_backward(p, t, log_p, log_1mp, weight)
        self.reduction = reduction
        return _reduce(loss, reduction, loss.size)

    def backward(self, g):
        p, t, log_p, log_1mp, weight = self.saved
        scale = g / p.size if self.reduction == "mean" else g
        if weight is not None:
            scale = scale * weight
        pp, pt = self.parents
        gp = gt = None
        if pp is not None:
            gp = (p - t) / np.maximum(p * (1 - p), 1e-12)
            gp *= scale
        if pt is not None:
            gt = (log_1mp - log_p) * scale
        return gp, gt


# ------------------------------------------------------------------------------------------------ public API
def _check_reduction(op: str, reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _float_operand(x, like: Tensor) -> Tensor:
    """A tensor operand (kept as is, so that its gradient flows) or an array-like converted to ``like``'s dtype."""
    if isinstance(x, Tensor):
        return x
    return Tensor(np.asarray(x, dtype=like.data.dtype))


def _optional_array(value, like: Tensor):
    """Weights given as a tensor or an array-like, as an array of ``like``'s dtype (they get no gradient)."""
    if value is None:
        return None
    return np.asarray(value.data if isinstance(value, Tensor) else value, dtype=like.data.dtype)


def _check_scores(op: str, scores: Tensor) -> None:
    if scores.ndim == 0:
        raise ShapeError(f"{op}: input must have a class axis, got shape {scores.shape}")


def _class_weight(op: str, weight, scores: Tensor):
    if weight is None:
        return None
    weight = _optional_array(weight, scores)
    n_classes = scores.shape[0] if scores.ndim == 1 else scores.shape[1]
    if weight.shape != (n_classes,):
        raise ShapeError(
            f"{op}: weight of shape {weight.shape} does not fit {n_classes} classes (input {scores.shape})"
        )
    return weight


def _class_indices(op: str, scores: Tensor, target) -> np.ndarray:
    """Validate integer targets against scores (N, C, d₁, …) → (N, d₁, …), or (C,) → ()."""
    target = np.asarray(target.data if isinstance(target, Tensor) else target)
    if target.dtype.kind not in "iu":
        raise DTypeError(f"{op}: class-index targets must be integers, got dtype {target.dtype}")
    expected = () if scores.ndim == 1 else scores.shape[:1] + scores.shape[2:]
    if target.shape != expected:
        raise ShapeError(
            f"{op}: target of shape {target.shape} does not fit input of shape {scores.shape} (expected {expected})"
        )
    return target


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error (x − t)², reduced. Like PyTorch, a target of another shape is broadcast, with a warning."""
    _check_reduction("mse_loss", reduction)
    target = _float_operand(target, input)
    if target.shape != input.shape:
        warnings.warn(
            f"mse_loss: target shape {target.shape} differs from input shape {input.shape}; they will be "
            f"broadcast, which is rarely what is meant",
            UserWarning,
            stacklevel=2,
        )
    return MSELoss.apply(input, target, reduction=reduction)


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
):
    """Cross-entropy between softmax(input) along axis 1 and the targets, as one stable node.

    ``target`` is either class indices (integers, shape (N, d₁, …) for input (N, C, d₁, …), or () for an
    unbatched (C,)) or class probabilities (floats, the shape of ``input``). ``weight`` (C,) rescales each
    class; targets equal to ``ignore_index`` contribute nothing (class indices only). ``label_smoothing`` = ε
    mixes the target with the uniform distribution: (1 − ε)·target + ε/C, exactly as PyTorch defines it.
    """
    _check_reduction("cross_entropy", reduction)
    _check_scores("cross_entropy", input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_weight = _class_weight("cross_entropy", weight, input)
    target_data = target.data if isinstance(target, Tensor) else np.asarray(target)
    if target_data.dtype.kind == "f":
        if target_data.shape != input.shape:
            raise ShapeError(
                f"cross_entropy: probability target of shape {target_data.shape} must have the shape of the "
                f"input {input.shape}"
            )
        if ignore_index >= 0:
            raise ValueError("cross_entropy: ignore_index is not supported for probability targets")
        return CrossEntropyProbs.apply(
            input,
            target if isinstance(target, Tensor) else Tensor(target_data.astype(input.dtype, copy=False)),
            class_weight=class_weight,
            reduction=reduction,
            label_smoothing=label_smoothing,
        )
    return CrossEntropy.apply(
        input,
        target=_class_indices("cross_entropy", input, target_data),
        class_weight=class_weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood −input[i, yᵢ] of log-probabilities ``input`` (N, C, d₁, …) at integer targets."""
    _check_reduction("nll_loss", reduction)
    _check_scores("nll_loss", input)
    return NLLLoss.apply(
        input,
        target=_class_indices("nll_loss", input, target),
        class_weight=_class_weight("nll_loss", weight, input),
        ignore_index=ignore_index,
        reduction=reduction,
    )


def _binary_operands(op: str, scores: Tensor, target, weight):
    target = _float_operand(target, scores)
    if target.shape != scores.shape:
        raise ShapeError(f"{op}: target of shape {target.shape} must have the shape of the input {scores.shape}")
    weight = _optional_array(weight, scores)
    if weight is not None and np.broadcast_shapes(weight.shape, scores.shape) != scores.shape:
        raise ShapeError(f"{op}: weight of shape {weight.shape} does not broadcast to the input {scores.shape}")
    return target, weight


def binary_cross_entropy_with_logits(
    input,
    target,
    weight=None,
    reduction: str = "mean",
    pos_weight=None,
):
    """Binary cross-entropy of σ(input) against targets in [0, 1], stable for logits of any size.

    ``weight`` rescales each element (broadcast); ``pos_weight`` rescales the positive term t·log σ(x), per
    class along the last axis.
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    target, weight = _binary_operands(op, input, target, weight)
    pos_weight = _optional_array(pos_weight, input)
    if pos_weight is not None and np.broadcast_shapes(pos_weight.shape, input.shape) != input.shape:
        raise ShapeError(f"{op}: pos_weight of shape {pos_weight.shape} does not broadcast to the input {input.shape}")
    return BinaryCrossEntropyWithLogits.apply(input, target, weight=weight, pos_weight=pos_weight, reduction=reduction)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against targets in [0, 1]."""
    op = "binary_cross_entropy"
    _check_reduction(op, reduction)
    target, weight = _binary_operands(op, input, target, weight)
    p = input.data
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{op}: every element of the input must lie in [0, 1] (it is a probability)")
    return BinaryCrossEntropy.apply(input, target, weight=weight, reduction=reduction)
