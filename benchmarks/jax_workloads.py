"""The compiled anchor: the MLP step and the deep narrow ResNets written in JAX and compiled with ``jax.jit`` (CPU).

PyTorch eager runs the same Python-level graph as neurones; XLA instead compiles the whole step (forward, backward,
update) into one program, with fused elementwise loops and no per-op dispatch. It is the fair upper bound for
"faster than the peers". Each step is built from the same initial weights and data as the other two libraries
(the same seeds through ``workloads``) and computes the same numbers (``tests/benchmarks`` checks them):

* ``mlp sgd step``: 784-256-256-10, batch 128, mean cross-entropy, plain SGD at lr 1e-3; the updated parameters
  are the step's result (XLA has no in-place update to time otherwise);
* ``resnet D``: the gradients of sum(B h_D) with respect to A, B and every block's V and W, where
  h_0 = A x and h_{k+1} = h_k + α V_k relu(W_k h_k), the D blocks run by ``lax.scan`` over stacked weights, so
  that the compiled program has one loop body rather than D copies.

JAX is an optional dependency of the ``bench`` extra: without it ``neurones bench`` leaves its column out.
XLA sizes its CPU thread pool when it starts, so JAX is timed at its default threads only.
"""

from __future__ import annotations

import numpy as np

from neurones import nn

LIBRARY = "jax"


def available() -> bool:
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def _blocking(step):
    """``step`` made synchronous: JAX dispatches asynchronously, so a timer must wait for the result."""
    import jax

    def run():
        return jax.block_until_ready(step())

    return run


def mlp_sgd_step(weights: list[np.ndarray], biases: list[np.ndarray], x_np: np.ndarray, y_np: np.ndarray,
                 lr: float):
    """One SGD step of the MLP on a fixed batch; ``run.parameters()`` are the current [(W, b), ...] as arrays."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, y):
        h = x
        for k, (w, b) in enumerate(params):
            h = h @ w.T + b
            if k < len(params) - 1:
                h = jax.nn.relu(h)
        logits = h - jax.scipy.special.logsumexp(h, axis=1, keepdims=True)
        return -jnp.mean(jnp.take_along_axis(logits, y[:, None], axis=1))

    @jax.jit
    def update(params, x, y):
        grads = jax.grad(loss)(params, x, y)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)

    state = {"params": [(jnp.asarray(w), jnp.asarray(b)) for w, b in zip(weights, biases)]}
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)

    def step():
        state["params"] = update(state["params"], x, y)
        return state["params"]

    run = _blocking(step)
    run.parameters = lambda: [np.asarray(a) for pair in state["params"] for a in pair]
    return run


def resnet_gradients(net: nn.ScaledResNet, x_np: np.ndarray):
    """The gradients of sum(B h_D) for ``net``'s weights, as one compiled program; ``run()`` returns
    (dA, dB, dV stacked over blocks, dW stacked over blocks)."""
    import jax
    import jax.numpy as jnp

    alpha = float(net.alpha)

    def output_sum(params, x):
        A, B, V, W = params

        def block(h, weights):
            v, w = weights
            return h + alpha * jax.nn.relu(h @ w.T) @ v.T, None

        h, _ = jax.lax.scan(block, x @ A.T, (V, W))
        return jnp.sum(h @ B.T)

    gradients = jax.jit(jax.grad(output_sum))
    params = (
        jnp.asarray(net.A.data),
        jnp.asarray(net.B.data),
        jnp.asarray(np.stack([block.V.data for block in net.blocks])),
        jnp.asarray(np.stack([block.W.data for block in net.blocks])),
    )
    x = jnp.asarray(x_np)
    return _blocking(lambda: gradients(params, x))

