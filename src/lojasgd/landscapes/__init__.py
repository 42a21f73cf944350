r"""Loss landscapes F: ℝⁿ → [0, ∞) with one batched interface.

* ``lojasgd.landscapes.base`` — :class:`Landscape` (loss, gradient, Hessian-vector
  products, batched over leading axes), :class:`FiniteSum` (per-sample losses, mini-batch
  gradients), :class:`SquaredLossModel` (a model's squared loss and output gradients);
* ``lojasgd.landscapes.wrappers`` — your own loss: :class:`TorchLandscape` (a plain
  function of θ), :class:`TorchFiniteSum` (a per-sample function and data tensors),
  :class:`ModuleRegression` (an ``nn.Module`` with data).

The book's worked examples (the hyperbola, the flat and plateau valleys, linear regression,
the tanh network) live in :mod:`lojasgd.examples`, each with its exact results.
"""

from .base import FiniteSum, Landscape, SquaredLossModel, as_point, check_dim
from .wrappers import ModuleRegression, TorchFiniteSum, TorchLandscape

__all__ = [
    "Landscape",
    "FiniteSum",
    "SquaredLossModel",
    "TorchLandscape",
    "TorchFiniteSum",
    "ModuleRegression",
    "as_point",
    "check_dim",
]
