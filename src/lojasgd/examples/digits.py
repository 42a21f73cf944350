r"""Real data and standard networks for chapter 7: scikit-learn's bundled digits and plain MLPs.

* :func:`load` — seeded subsets of the 1797 handwritten digits of ``sklearn.datasets.load_digits``
  (8 × 8 images, d = 64, pixel values divided by 16 so that :math:`x \in [0, 1]^{64}`), with the
  two-class coding :math:`y = +1` for the digits 0–4 and :math:`y = -1` for 5–9 (the scalar
  form of one-hot regression: a network with one output fitted by squared loss);
* :func:`with_conflicts` — the label-noise contrast: a seeded fraction of the samples appears a
  second time with the opposite label, so that :math:`\min F \ge 2m/(N+m)` for m duplicates and
  F cannot reach 0;
* :func:`mlp` — ``torch.nn.Sequential`` MLPs of a given depth (number of linear layers) and width
  with a smooth activation (tanh, softplus, GELU) or ReLU, Glorot (Xavier) or He (Kaiming)
  normal initialisation and zero biases, in float64;
* :func:`regression` — the two together as a :class:`~lojasgd.landscapes.ModuleRegression` and its
  starting point θ₀.

The data ship inside the scikit-learn wheel: nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import validation
from ..landscapes import ModuleRegression

__all__ = ["N_DIGITS", "ACTIVATIONS", "load", "with_conflicts", "mlp", "regression"]

#: number of images in the bundled data set
N_DIGITS = 1797
#: the activations :func:`mlp` knows
ACTIVATIONS = {"tanh": torch.nn.Tanh, "softplus": torch.nn.Softplus, "gelu": torch.nn.GELU, "relu": torch.nn.ReLU}


def load(n: int, *, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    r"""A seeded subset of n digits: inputs (n, 64) in [0, 1], targets ±1 (+1 for 0–4), and the digit labels.

    The subset is the first n entries of a permutation of the 1797 images drawn by
    ``numpy.random.default_rng(seed)``; n = 1797 gives all of them (permuted).
    """
    from sklearn.datasets import load_digits

    n = validation.integer("n", n, low=1, high=N_DIGITS)
    seed = validation.seed("seed", seed)
    data = load_digits()
    order = np.random.default_rng(seed).permutation(N_DIGITS)[:n]
    X = torch.as_tensor(data.data[order] / 16.0, dtype=torch.float64)
    labels = data.target[order]
    y = torch.as_tensor(np.where(labels < 5, 1.0, -1.0), dtype=torch.float64)
    return X, y, labels


def with_conflicts(X: torch.Tensor, y: torch.Tensor, fraction: float, *, seed: int = 0
                   ) -> tuple[torch.Tensor, torch.Tensor, float]:
    r"""Append a seeded fraction of the samples again with the opposite label: F can no longer vanish.

    With m = round(fraction·N) duplicated pairs :math:`(x, y), (x, -y)`, each pair contributes at
    least :math:`\min_t \frac12(t-y)^2 + \frac12(t+y)^2 = y^2 = 1` to :math:`\sum_i f_i`, so
    :math:`F \ge m/(N+m)` everywhere.

    Returns:
        the inputs (N + m, d), the targets (N + m,), and the lower bound :math:`m/(N+m)` on F.
    """
    fraction = validation.in_range("fraction", fraction, 0.0, 1.0, open_low=True)
    N = X.shape[0]
    m = max(1, round(fraction * N))
    pick = torch.as_tensor(np.random.default_rng(validation.seed("seed", seed)).permutation(N)[:m])
    return torch.cat([X, X[pick]]), torch.cat([y, -y[pick]]), m / (N + m)


def mlp(d: int, width: int, depth: int, *, activation: str = "tanh", init: str = "glorot", seed: int = 0
        ) -> torch.nn.Sequential:
    r"""An MLP :math:`x \mapsto W_D\,\phi(\cdots\phi(W_1x + b_1)\cdots) + b_D` with D = ``depth`` linear layers, scalar output.

    Args:
        d: input dimension.
        width: hidden width h (every hidden layer).
        depth: number of linear layers D ≥ 2 (D − 1 hidden layers).
        activation: ``"tanh"``, ``"softplus"``, ``"gelu"`` or ``"relu"``.
        init: ``"glorot"`` (Xavier normal, gain of the activation) or ``"he"`` (Kaiming normal,
            fan-in); biases are zero.
        seed: seed of the weights (``torch.Generator``).
    """
    d = validation.integer("d", d, low=1)
    width = validation.integer("width", width, low=1)
    depth = validation.integer("depth", depth, low=2)
    activation = validation.choice("activation", activation, tuple(ACTIVATIONS))
    init = validation.choice("init", init, ("glorot", "he"))
    gen = torch.Generator().manual_seed(validation.seed("seed", seed))
    sizes = [d] + [width] * (depth - 1) + [1]
    layers: list[torch.nn.Module] = []
    gain_name = {"tanh": "tanh", "relu": "relu"}.get(activation, "linear")
    for k in range(depth):
        lin = torch.nn.Linear(sizes[k], sizes[k + 1], dtype=torch.float64)
        fan_in, fan_out = sizes[k], sizes[k + 1]
        if init == "glorot":
            std = torch.nn.init.calculate_gain(gain_name) * (2.0 / (fan_in + fan_out)) ** 0.5
        else:
            std = (2.0 / fan_in) ** 0.5
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen, dtype=torch.float64) * std)
            lin.bias.zero_()
        layers.append(lin)
        if k < depth - 1:
            layers.append(ACTIVATIONS[activation]())
    return torch.nn.Sequential(*layers)


def regression(n: int, width: int, depth: int, *, activation: str = "tanh", init: str = "glorot", data_seed: int = 0,
               seed: int = 0, conflicts: float | None = None) -> tuple[ModuleRegression, torch.Tensor]:
    r"""The digits subset of size n and an MLP as a :class:`~lojasgd.landscapes.ModuleRegression`, with its θ₀.

    With ``conflicts`` a fraction in (0, 1], the data get :func:`with_conflicts` duplicates
    (seeded by ``data_seed``), so that F is bounded away from 0.
    """
    X, y, _ = load(n, seed=data_seed)
    if conflicts is not None:
        X, y, _ = with_conflicts(X, y, conflicts, seed=data_seed)
    module = mlp(X.shape[1], width, depth, activation=activation, init=init, seed=seed)
    land = ModuleRegression(module, X, y)
    return land, land.theta_of_module()
