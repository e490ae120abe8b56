"""Functional transforms over functions and modules, as ``torch.func`` names them.

* :func:`functional_call` runs a module with other parameters: the network as a function f(θ, x);
* :func:`vjp`, :func:`jacrev`, :func:`grad`, :func:`grad_and_value`: reverse-mode derivatives of functions;
* :func:`per_sample_grads`: the gradient of every example's loss, from one batched backward pass;
* :class:`PerExampleJacobian`: ∂f(xᵢ)/∂θ for every example, factored, with its Gram (the NTK), JVP and VJP;
* :func:`hvp`: Hessian-vector products, by central differences of gradients in float64, and from them
  :func:`hessian_extreme_eigenvalues` and :func:`hessian_max_eigenvalue` by Lanczos; :func:`model_loss` turns a
  module and a loss into the function of the parameters that they take.

These are the tools of the kernel, Fisher-information and loss-landscape instruments in :mod:`neurones.analysis`.
"""

from neurones.func.functional_call import functional_call
from neurones.func.hessian import hessian_extreme_eigenvalues, hessian_max_eigenvalue, hvp, model_loss
from neurones.func.per_example_jacobian import PerExampleJacobian
from neurones.func.per_sample import per_sample_grads
from neurones.func.transforms import grad, grad_and_value, jacrev, vjp

__all__ = [
    "PerExampleJacobian",
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian_extreme_eigenvalues",
    "hessian_max_eigenvalue",
    "hvp",
    "jacrev",
    "model_loss",
    "per_sample_grads",
    "vjp",
]
