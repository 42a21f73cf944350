r"""SGD, simulated: many trajectories as one program, step-size schedules, the limits η → 0.

* ``lojasgd.sgd.simulate`` — :func:`simulate` runs M independent trajectories
  :math:`\theta_{k+1} = \theta_k - \eta_k g(\theta_k;\xi_k)` at once and records exits from the
  ball, path lengths, losses (:class:`SGDResult`, :class:`StepRecord`);
* ``lojasgd.sgd.schedules`` — :class:`Schedule`, :func:`constant`, :func:`robbins_monro`,
  :func:`warmup`;
* ``lojasgd.sgd.onestep`` — exact one-step expectations for noise with finitely many values
  (:func:`one_step`, Lemmas 3.2–3.4);
* ``lojasgd.sgd.sde`` — the small-step SDE by Euler–Maruyama (:func:`euler_maruyama`);
* ``lojasgd.sgd.flow`` — gradient flow, the η → 0 limit of gradient descent (:func:`gradient_flow`).
"""

from .flow import GradientFlow, gradient_flow
from .onestep import OneStep, direction_atoms, one_step
from .schedules import Schedule, constant, robbins_monro, warmup
from .sde import euler_maruyama
from .simulate import BACKENDS, STREAMS, SGDResult, StepRecord, merge_results, simulate

__all__ = [
    "simulate",
    "merge_results",
    "STREAMS",
    "SGDResult",
    "StepRecord",
    "BACKENDS",
    "Schedule",
    "constant",
    "robbins_monro",
    "warmup",
    "one_step",
    "OneStep",
    "direction_atoms",
    "euler_maruyama",
    "gradient_flow",
    "GradientFlow",
]
