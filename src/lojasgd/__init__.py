r"""lojasgd: the executable companion to An & Lu (2025), *Convergence of SGD under a local
Łojasiewicz condition for deep neural networks*.

The layout, by idea:

* the library —
  :mod:`lojasgd.landscapes` (the base classes and wrappers for your own loss:
  :class:`~lojasgd.landscapes.TorchLandscape`, :class:`~lojasgd.landscapes.TorchFiniteSum`,
  :class:`~lojasgd.landscapes.ModuleRegression`),
  :mod:`lojasgd.noise` (machine-learning noise, bounded noise, mini-batches),
  :mod:`lojasgd.sgd` (:func:`~lojasgd.sgd.simulate`, schedules, one-step expectations, the small-step SDE,
  gradient flow),
  :mod:`lojasgd.estimate` (α, L, σ, G on a ball, :func:`~lojasgd.estimate.check_assumptions`, ball infima and
  certified circle maxima),
  :mod:`lojasgd.theory` (the constants and bounds of Theorem 3.1, Corollary 3.5, Proposition 3.7),
  :mod:`lojasgd.stats` (Wilson and Clopper–Pearson intervals),
  :mod:`lojasgd.rademacher` (laws of random signed series),
  :mod:`lojasgd.sweeps` (parameter grids and exit sweeps as one batched run),
  :mod:`lojasgd.planning` (:func:`~lojasgd.planning.plan`: η_max, the best step and Theorem 3.1's bound on a ball, or the assumption that fails),
  :mod:`lojasgd.diagnostics` (the ratio :math:`|\nabla F|^2/F`, the noise ratio and the top Hessian eigenvalue at checkpoints of a run),
  :mod:`lojasgd.validation` (the one place where arguments are checked);
* the worked examples — :mod:`lojasgd.examples` (``hyperbola``, ``valley``, ``plateau``,
  ``linear``, ``tanh_network``), each landscape with every exact or certified result about it;
* the book's presentation helpers — :mod:`lojasgd.book` (figure style, phase diagrams,
  throughput tables).

``import lojasgd`` gives the names a user needs: ``lojasgd.simulate``, the schedules, the
landscapes and wrappers, the noise models, ``lojasgd.check_assumptions`` and the interval
helpers.
"""

from importlib.metadata import PackageNotFoundError, version

from . import estimate, examples, landscapes, noise, rademacher, sgd, stats, sweeps, theory, validation
from .estimate import AssumptionReport, Estimate, check_assumptions
from .landscapes import FiniteSum, Landscape, ModuleRegression, SquaredLossModel, TorchFiniteSum, TorchLandscape
from .noise import BoundedNoise, MiniBatch, MLNoise, Noise
from .sgd import Schedule, SGDResult, constant, robbins_monro, simulate, warmup
from .stats import Interval, clopper_pearson, wilson
from . import diagnostics, planning
from .planning import Plan, plan

try:
    __version__ = version("lojasgd")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

_MODULES = ["estimate", "examples", "landscapes", "noise", "rademacher", "sgd", "stats", "sweeps", "theory", "validation"]
_SIMULATION = ["simulate", "SGDResult", "Schedule", "constant", "robbins_monro", "warmup"]
_LANDSCAPES = ["Landscape", "FiniteSum", "SquaredLossModel", "TorchLandscape", "TorchFiniteSum", "ModuleRegression"]
_NOISE = ["Noise", "MLNoise", "BoundedNoise", "MiniBatch"]
_ASSUMPTIONS = ["check_assumptions", "AssumptionReport", "Estimate"]
_INTERVALS = ["Interval", "wilson", "clopper_pearson"]
__all__ = _MODULES + _SIMULATION + _LANDSCAPES + _NOISE + _ASSUMPTIONS + _INTERVALS + ["__version__"]
__all__ += ["diagnostics", "planning", "plan", "Plan"]
