"""lojasgd: the executable companion to An & Lu (2025), *Convergence of SGD under a local
Łojasiewicz condition for deep neural networks*.

Modules, one idea each:

* :mod:`lojasgd.landscapes` — loss landscapes F with batched loss, gradient and
  Hessian-vector products; finite sums with mini-batch gradients; wrappers for your own loss.
* :mod:`lojasgd.noise` — stochastic-gradient models: machine-learning noise, bounded noise,
  mini-batches.
* :mod:`lojasgd.assumptions` — estimators of α, L, σ, G on a ball and a check of Theorem 3.1's
  hypotheses.
* :mod:`lojasgd.theory` — the constants of Theorems 3.1 and 4.1.
* :mod:`lojasgd.sgd` — many independent SGD trajectories as one tensor program.
* :mod:`lojasgd.stats` — Wilson and Clopper–Pearson intervals.
* :mod:`lojasgd.plotting` — the book's figure style.
"""

from . import assumptions, landscapes, noise, plotting, sgd, stats, theory

__version__ = "0.1.0"

__all__ = ["assumptions", "landscapes", "noise", "plotting", "sgd", "stats", "theory", "__version__"]
