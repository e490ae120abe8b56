r"""The Jacobian of a network's outputs with respect to its parameters, example by example, in factored form.

For a batch x₁, …, x_n and a model with k outputs, J[i, o] = ∂f_o(xᵢ; θ)/∂θ is one row of the Jacobian per
(example, output) pair. Materializing it costs n·k·P numbers (P parameters: 72 million for a 40-512-512-1 MLP on
256 points), yet what the kernel and linearization instruments need are only three contractions of it:

    the Gram  J(x)·J(x′)ᵀ   (the empirical neural tangent kernel),
    the JVP   J(x)·v        (a linearized model's output),
    the VJP   J(x)ᵀ·g       (its gradient).

A linear layer z = W a + b on inputs aᵢ ∈ ℝ^{in} is where most parameters live, and there the row is an outer
product: ∂f_o(xᵢ)/∂W = δᵢᵒ aᵢᵀ with δᵢᵒ = ∂f_o(xᵢ)/∂zᵢ, ∂f_o(xᵢ)/∂b = δᵢᵒ. The three contractions then never
form it:

    ⟨δᵢᵒ aᵢᵀ, δⱼᵠ aⱼᵀ⟩ = (δᵢᵒ·δⱼᵠ)(aᵢ·aⱼ),    ⟨δᵢᵒ aᵢᵀ, V⟩ = δᵢᵒ·(V aᵢ),    Σᵢₒ gᵢₒ δᵢᵒ aᵢᵀ = (Σₒ gₒ δᵒ)ᵀ a,

at the cost of Gram matrices of activations (Novak et al. 2022 call this the structured derivative). The factors
aᵢ and δᵢᵒ come from one forward pass and k backward passes of the whole batch (one per output, with cotangent eₒ
on every example), captured by the same hooks as :func:`~neurones.func.per_sample_grads`. Other parameters are
kept as dense rows: convolutions and linear layers on sequences from the same batched passes (their per-example
gradients, summed over positions), any other parameter from one backward pass per (example, output) pair, the
only way reverse mode can separate examples that a layer mixes into one parameter gradient.
"""

from __future__ import annotations

import numpy as np

from neurones.autodiff.grad_mode import enable_grad
from neurones.autodiff.tensor import Tensor
from neurones.errors import ShapeError
from neurones.func.functional_call import functional_call
from neurones.func.per_sample import batched_owners, capture_batched_layers, layer_grads
from neurones.nn.linear import Linear


class _OuterRows:
    """Rows ∂f_o(xᵢ)/∂W = δ[o, i] aᵢᵀ and ∂f_o(xᵢ)/∂b = s_b δ[o, i] of one linear layer, kept as a (n, in) (the
    input times the layer's weight multiplier) and δ (k, n, out); ``weight``/``bias`` are the parameter names
    (None when not trainable or absent)."""

    def __init__(self, weight: str | None, bias: str | None, a: np.ndarray, delta: np.ndarray, bias_scale: float):
        self.weight, self.bias, self.a, self.delta, self.bias_scale = weight, bias, a, delta, bias_scale

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name in (self.weight, self.bias) if name is not None)

    def gram(self, other: _OuterRows) -> np.ndarray:
        k, n1, _ = self.delta.shape
        n2 = other.delta.shape[1]
        # D[i, j, o, q] = δ[o, i]·δ′[q, j]
        products = self.delta.reshape(k * n1, -1) @ other.delta.reshape(k * n2, -1).T
        products = products.reshape(k, n1, k, n2).transpose(1, 3, 0, 2)
        factor = np.zeros((n1, n2))
        if self.weight is not None:
            factor += self.a @ other.a.T
        if self.bias is not None:
            factor += self.bias_scale * other.bias_scale
        return products * factor[:, :, None, None]

    def jvp(self, tangents: dict) -> np.ndarray:
        moved = np.zeros(self.delta.shape[1:])
        if self.weight is not None:
            moved += self.a @ tangents[self.weight].T
        if self.bias is not None:
            moved += self.bias_scale * tangents[self.bias]
        return np.einsum("oiu,iu->io", self.delta, moved)

    def vjp(self, cotangent: np.ndarray) -> dict:
        weighted = np.einsum("io,oiu->iu", cotangent, self.delta)
        result = {}
        if self.weight is not None:
            result[self.weight] = weighted.T @ self.a
        if self.bias is not None:
            result[self.bias] = self.bias_scale * weighted.sum(axis=0)
        return result

    def dense(self) -> dict:
        result = {}
        rows = self.delta.transpose(1, 0, 2)  # (n, k, out)
        if self.weight is not None:
            result[self.weight] = rows[:, :, :, None] * self.a[:, None, None, :]
        if self.bias is not None:
            result[self.bias] = self.bias_scale * rows
        return result


class _DenseRows:
    """Rows ∂f_o(xᵢ)/∂θ of one parameter, materialized as an array (n, k, *shape)."""

    def __init__(self, name: str, rows: np.ndarray):
        self.name, self.rows = name, rows

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name,)

    def _flat(self) -> np.ndarray:
        return self.rows.reshape(self.rows.shape[0] * self.rows.shape[1], -1)

    def gram(self, other: _DenseRows) -> np.ndarray:
        n1, k = self.rows.shape[:2]
        n2 = other.rows.shape[0]
        return (self._flat() @ other._flat().T).reshape(n1, k, n2, k).transpose(0, 2, 1, 3)

    def jvp(self, tangents: dict) -> np.ndarray:
        n, k = self.rows.shape[:2]
        return (self._flat() @ tangents[self.name].reshape(-1)).reshape(n, k)

    def vjp(self, cotangent: np.ndarray) -> dict:
        return {self.name: (cotangent.reshape(-1) @ self._flat()).reshape(self.rows.shape[2:])}

    def dense(self) -> dict:
        return {self.name: self.rows}


def _float64_leaf(value) -> Tensor:
    """A constant float64 tensor with the value's data: shared when it already is float64 (no copy of a large
    weight), converted otherwise."""
    if isinstance(value, Tensor) and value.dtype == np.float64:
        return value.detach()
    return Tensor(np.asarray(value.data if isinstance(value, Tensor) else value, dtype=np.float64))


class PerExampleJacobian:
    r"""J[i, o] = ∂f_o(xᵢ; θ)/∂θ for every example xᵢ of ``inputs`` and every output o, at the model's current
    parameters (or ``params``, a ``{name: tensor}`` mapping as :func:`functional_call` takes), kept factored where
    the layer allows (see the module docstring).

    Only parameters that require grad are differentiated (``names``, in ``named_parameters`` order). The model
    must process examples independently and return (n,), (n, k) or (n, …) outputs; k = the product of the
    trailing output dimensions (1 for (n,)). ``outputs`` holds f(x) as an (n, k) float64 array, ``output_shape``
    the model's own output shape.

    * :meth:`gram` gives Σ_p J[i, o, p] J′[j, q, p] as (n, n′, k, k): the empirical neural tangent kernel;
    * :meth:`jvp` gives J·v as (n, k) for tangents ``{name: array}``;
    * :meth:`vjp` gives Jᵀg as ``{name: array}`` for a cotangent g of shape (n, k);
    * :meth:`dense` gives every row, ``{name: (n, k, *shape)}`` (memory n·k·P; for tests and small models).

    Everything is computed in float64 from float64 copies of the parameters and inputs.
    """

    def __init__(self, model, inputs, params: dict | None = None):
        own = dict(model.named_parameters())
        named = {name: p for name, p in own.items() if p.requires_grad}
        if params is not None:
            unknown = sorted(set(params) - set(own))
            if unknown:
                raise KeyError(f"PerExampleJacobian: {type(model).__name__} has no parameters {unknown}")
            named = {name: params.get(name, p) for name, p in named.items()}
        if not named:
            raise ValueError(f"PerExampleJacobian: {type(model).__name__} has no parameter that requires grad")
        data = np.asarray(inputs.data if isinstance(inputs, Tensor) else inputs, dtype=np.float64)
        if data.ndim < 1 or data.shape[0] == 0:
            raise ShapeError(f"PerExampleJacobian: inputs must be a non-empty batch (n, ...), got shape {data.shape}")
        self.names = tuple(named)
        self._leaves = {name: _float64_leaf(p) for name, p in named.items()}
        self.shapes = {name: leaf.shape for name, leaf in self._leaves.items()}
        self.blocks: list = []
        owners = batched_owners(model)
        batched = {name: owners[id(own[name])] for name in self.names if id(own[name]) in owners}
        self.outputs = self._batched_pass(model, data, batched)
        looped = [name for name in self.names if name not in batched]
        if looped:
            self._looped_passes(model, data, looped)

    @property
    def n(self) -> int:
        return self.outputs.shape[0]

    @property
    def k(self) -> int:
        return self.outputs.shape[1]

    @property
    def nbytes(self) -> int:
        """The memory held by the factors and rows."""
        arrays = [getattr(block, field) for block in self.blocks for field in ("a", "delta", "rows")
                  if hasattr(block, field)]
        return sum(array.nbytes for array in arrays) + self.outputs.nbytes

    def _call(self, model, leaves: dict, x: np.ndarray, input_requires_grad: bool = False) -> Tensor:
        out = functional_call(model, leaves, (Tensor(x, requires_grad=input_requires_grad),))
        if not isinstance(out, Tensor) or out.ndim < 1 or out.shape[0] != x.shape[0]:
            shape = getattr(out, "shape", type(out).__name__)
            raise ShapeError(
                f"PerExampleJacobian: the model must return one output row per example, got {shape} for inputs "
                f"{x.shape}"
            )
        return out

    def _batched_pass(self, model, x: np.ndarray, batched: dict) -> np.ndarray:
        """One forward pass, k backward passes: the outputs, and the rows of the batched layers' parameters."""
        captured: dict = {}  # layer -> [(a, δ) per use] for the output being backpropagated

        def record(layer, a, delta):
            captured.setdefault(layer, []).append((a, delta))

        handles = capture_batched_layers({layer for layer, _ in batched.values()}, record)
        per_output: list[dict] = []
        try:
            # Only the cotangents δ at the batched layers are needed, not their parameters' gradients: the graph is
            # recorded from the input instead, so that backward skips the (out × in) weight products.
            leaves = {name: leaf.detach() for name, leaf in self._leaves.items()}
            with enable_grad():
                out = self._call(model, leaves, x, input_requires_grad=bool(batched))
                self.output_shape = out.shape
                flat = out.reshape(x.shape[0], -1)
                values = np.array(flat.data, dtype=np.float64)
                k = values.shape[1]
                for o in range(k if batched else 0):
                    captured.clear()
                    if flat.requires_grad:
                        cotangent = np.zeros_like(flat.data)
                        cotangent[:, o] = 1
                        flat.backward(cotangent, retain_graph=o < k - 1)
                    per_output.append(dict(captured))
        finally:
            for handle in handles:
                handle.remove()
        by_layer: dict = {}
        for name, (layer, attribute) in batched.items():
            by_layer.setdefault(layer, {})[attribute] = name
        for layer, names in by_layer.items():
            uses = [record_.get(layer, []) for record_ in per_output]
            self.blocks.extend(self._layer_blocks(layer, names, uses, values.shape))
        return values

    def _layer_blocks(self, layer, names: dict, uses: list, output_shape) -> list:
        """Factored rows for a linear layer used once on (n, in) inputs; dense rows otherwise."""
        n, k = output_shape
        if all(len(u) == 1 for u in uses) and isinstance(layer, Linear) and uses[0][0][0].ndim == 2:
            s_w, s_b = getattr(layer, "weight_multiplier", 1.0), getattr(layer, "bias_multiplier", 1.0)
            a = s_w * np.asarray(uses[0][0][0], dtype=np.float64)
            delta = np.stack([np.asarray(u[0][1], dtype=np.float64) for u in uses])
            return [_OuterRows(names.get("weight"), names.get("bias"), a, delta, s_b)]
        blocks = []
        for attribute, name in names.items():
            rows = np.zeros((n, k, *self.shapes[name]))
            for o, layer_uses in enumerate(uses):
                for a, delta in layer_uses:  # a layer used twice contributes both uses' rows
                    rows[:, o] += dict(zip(("weight", "bias"), layer_grads(layer, a, delta)))[attribute]
            blocks.append(_DenseRows(name, rows))
        return blocks

    def _looped_passes(self, model, x: np.ndarray, names: list) -> None:
        """One forward pass per example and one backward pass per output: rows of the other parameters."""
        rows = {name: np.zeros((self.n, self.k, *self.shapes[name])) for name in names}
        for i in range(self.n):
            leaves = {name: leaf.detach().requires_grad_(name in rows) for name, leaf in self._leaves.items()}
            with enable_grad():
                flat = self._call(model, leaves, x[i : i + 1]).reshape(1, -1)
                for o in range(self.k if flat.requires_grad else 0):
                    for name in names:
                        leaves[name].grad = None
                    cotangent = np.zeros_like(flat.data)
                    cotangent[0, o] = 1
                    flat.backward(cotangent, retain_graph=o < self.k - 1)
                    for name in names:
                        if leaves[name].grad is not None:
                            rows[name][i, o] = leaves[name].grad.data
        self.blocks.extend(_DenseRows(name, value) for name, value in rows.items())

    # ---------------------------------------------------------------------------------------------- contractions
    def gram(self, other: PerExampleJacobian | None = None) -> np.ndarray:
        """Σ_p J[i, o, p] J′[j, q, p] as an (n, n′, k, k) array; ``other`` defaults to ``self``."""
        other = self if other is None else other
        if other.names != self.names or other.k != self.k:
            raise ShapeError(
                f"PerExampleJacobian.gram: Jacobians of different models (parameters {self.names} with k = "
                f"{self.k} against {other.names} with k = {other.k})"
            )
        result = np.zeros((self.n, other.n, self.k, self.k))
        theirs_by_names = {block.names: block for block in other.blocks}
        for mine in self.blocks:
            theirs = theirs_by_names.get(mine.names)
            if type(theirs) is type(mine):
                result += mine.gram(theirs)
            else:  # the other batch could not factor this layer (inputs of another rank): contract the rows
                their_rows = {name: rows for block in other.blocks for name, rows in block.dense().items()
                              if name in mine.names}
                for name, rows in mine.dense().items():
                    result += _DenseRows(name, rows).gram(_DenseRows(name, their_rows[name]))
        return result

    def jvp(self, tangents: dict) -> np.ndarray:
        """J·v as (n, k), for tangents ``{name: array of the parameter's shape}`` (missing names count as 0)."""
        for name, value in tangents.items():
            if name not in self.shapes or np.shape(value) != self.shapes[name]:
                raise ShapeError(
                    f"PerExampleJacobian.jvp: tangent {name!r} of shape {np.shape(value)} does not match a "
                    f"parameter (shapes {self.shapes})"
                )
        full = {name: np.asarray(tangents.get(name, np.zeros(shape)), dtype=np.float64)
                for name, shape in self.shapes.items()}
        result = np.zeros((self.n, self.k))
        for block in self.blocks:
            result += block.jvp(full)
        return result

    def vjp(self, cotangent) -> dict:
        """Jᵀg as ``{name: array}`` for a cotangent g of shape (n, k)."""
        cotangent = np.asarray(cotangent, dtype=np.float64)
        if cotangent.shape != (self.n, self.k):
            raise ShapeError(
                f"PerExampleJacobian.vjp: cotangent of shape {cotangent.shape}, expected {(self.n, self.k)}"
            )
        result = {}
        for block in self.blocks:
            result.update(block.vjp(cotangent))
        return {name: result[name] for name in self.names}

    def dense(self) -> dict:
        """Every row, ``{name: array (n, k, *shape)}``."""
        result = {}
        for block in self.blocks:
            result.update(block.dense())
        return {name: result[name] for name in self.names}
