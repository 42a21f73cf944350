r"""Linear regression (chapter 5): the one finite-width model whose Łojasiewicz constant is global.

:math:`F(w) = \frac1{2N}\sum_i (w\cdot x_i - y_i)^2`; with linearly independent inputs (d ≥ N) the
residual ranges over all of ℝᴺ and :math:`\alpha = 2\lambda_{\min}(XX^\top)/N` on every ball.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..landscapes import SquaredLossModel

__all__ = ["LinearRegression"]


class LinearRegression(SquaredLossModel):
    r"""Linear regression :math:`\hat y = w\cdot x` (chapter 5); global α = 2λ_min(G_X)/N when d ≥ N.

    Here :math:`G_X = XX^\top` is the Gram matrix of the inputs; with linearly independent
    inputs the residual r = Xw − y ranges over all of ℝᴺ, :math:`|\nabla F|^2 = \frac1{N^2}r^\top G_X r`
    and :math:`F = |r|^2/(2N)`, whence the constant.
    """


    def fused_spec(self) -> tuple[str, dict | None]:
        """The fused kernel of :func:`lojasgd.sgd.simulate` for this landscape (name, parameters)."""
        return "linear_regression", dict(X=self.X.detach().cpu().double().numpy(), y=self.y.detach().cpu().double().numpy())

    def __init__(self, X, y) -> None:
        super().__init__(X, y)
        self.dim = int(self.X.shape[1])

    def predict_one(self, theta: Tensor, x: Tensor) -> Tensor:
        return theta @ x

    def gram_alpha(self) -> float:
        r"""The global Łojasiewicz constant :math:`2\lambda_{\min}(G_X)/N` (0 if the inputs are dependent)."""
        gram = self.X @ self.X.T
        lam = float(torch.linalg.eigvalsh(gram.to(torch.float64))[0])
        return max(lam, 0.0) * 2 / self.n_samples
