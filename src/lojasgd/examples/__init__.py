r"""The book's worked examples, each with its landscape and every exact or certified result about it.

* :mod:`lojasgd.examples.hyperbola` — :math:`F(a,b) = (ab-1)^2/2` (chapters 1–3, 6): closed-form α,
  Chatterjee's criterion, certified constants of Theorem 3.1 over grids (Lemma 6.3);
* :mod:`lojasgd.examples.valley` — the flat valley :math:`F = \theta_1^2/2` (Theorem 4.1,
  Example 4.2, Proposition 6.1): exact laws under machine-learning and bounded noise;
* :mod:`lojasgd.examples.plateau` — the plateau valley (chapter 4);
* :mod:`lojasgd.examples.linear` — linear regression (chapter 5);
* :mod:`lojasgd.examples.tanh_network` — the deep tanh network of chapter 5 with proved ball
  bounds at a Chatterjee-style start.
"""

from . import hyperbola, linear, plateau, tanh_network, valley
from .hyperbola import Hyperbola
from .linear import LinearRegression
from .plateau import PlateauValley
from .tanh_network import TanhNetwork
from .valley import FlatValley

__all__ = [
    "hyperbola",
    "valley",
    "plateau",
    "linear",
    "tanh_network",
    "Hyperbola",
    "FlatValley",
    "PlateauValley",
    "LinearRegression",
    "TanhNetwork",
]
