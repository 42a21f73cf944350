r"""Chapter 5's deep tanh network: the landscape, certified constants on a ball, and the step they dictate.

The network is :class:`TanhNetwork`,
:math:`\hat y(x;\theta) = v^\top\tanh(W_{D-1}\cdots\tanh(W_2\tanh(W_1x)))`, with the squared loss
:math:`F(\theta) = \frac1{2N}\sum_i(\hat y(x_i;\theta) - y_i)^2` (its loss, gradients and
Hessian-vector products are computed by explicit batched back-propagation). With it:

* :func:`ball_bounds` — *proved* bounds on :math:`\bar B(\theta_0, r)` around a point with
  :math:`W_1 = 0` (Chatterjee-style initialisation, Proposition ``prop-tanh-init``): a lower
  bound on the first-layer sensitivities :math:`\min_i|\delta_i(\theta)|`, hence on the
  Łojasiewicz constant α (Proposition ``prop-tanh-alpha``), and an upper bound Γ on the
  output gradients :math:`|\nabla_\theta\hat y(x_i;\theta)|`, hence on the noise constant
  :math:`\sigma = 2\Gamma^2/b` (Proposition ``prop-tanh-noise``);
* :func:`hessian_bounds` — a *proved* upper bound on :math:`\sup\|\nabla^2F\|_2` over
  :math:`\bar B(\theta_0, R)` (Proposition ``prop-tanh-hessian``), hence a Lipschitz constant of
  ∇F on the set U of Assumption 2; :func:`tanh_second_bound` is the bound on
  :math:`|\tanh''|` it uses (Lemma ``lem-tanh-second``);
* :func:`schur_infimum` — the infimum of the pointwise Schur bound over the ball estimated by
  sampling and local optimisation (an *upper* estimate of the infimum), with
  :func:`lojasgd.estimate.inf_over_ball`;
* :func:`ball_plan` — for a Chatterjee-style start: the proved bounds, the step chosen from
  them, and the estimated constants with Theorem 3.1's verdict, for several batch sizes;
* the mini-batch factor :math:`1/b` or :math:`(N-b)/(b(N-1))` is
  :func:`lojasgd.noise.minibatch_variance_factor`, and Theorem 3.1 restarted at the end of a
  finite run is :func:`lojasgd.theory.restart_stay_bound`.

Notation of the bounds (chapter 5). Pre-activations :math:`u_1 = W_1x`,
:math:`u_k = W_kz_{k-1}`, :math:`z_k = \tanh u_k` (:math:`z_0 = x`),
:math:`D_k = \operatorname{diag}(\tanh'(u_k))`, and
:math:`\delta = \partial\hat y/\partial u_1 = D_1W_2^\top D_2\cdots W_{D-1}^\top D_{D-1}v`.
On the ball, with :math:`\chi = \max_i|x_i|`, :math:`\omega_k = \|W_k^0\|_2 + r`,
:math:`\rho_1 = r\chi`, :math:`\rho_k = \omega_k\rho_{k-1}`:
:math:`|u_k| \le \rho_k` and :math:`\|D_k - I\|_2 \le \tanh^2\rho_k`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.func import grad, jvp, vmap

from .. import theory, validation
from ..estimate import AssumptionReport, Estimate, check_assumptions, estimate_L, inf_over_ball
from ..landscapes import SquaredLossModel
from ..noise import MiniBatch, minibatch_variance_factor

__all__ = [
    "TanhNetwork", "TanhBallBounds", "ball_bounds", "tanh_second_bound", "TanhHessianBounds", "hessian_bounds",
    "schur_infimum", "BallPlan", "ball_plan",
]


#: largest batch size for which :meth:`TanhNetwork.batch_grad` uses the numba kernel in float32
_KERNEL_MAX_BATCH_FLOAT32 = 2


class TanhNetwork(SquaredLossModel):
    r"""Deep tanh network :math:`\hat y(x) = v^\top\tanh(W_{D-1}\cdots\tanh(W_2\tanh(W_1x)))` (chapter 5).

    θ is the concatenation of the flattened weights ``W_1`` (h×d), ``W_2, …, W_{D-1}``
    (h×h each) and ``v`` (h), so ``dim = h·d + (D−2)·h² + h``. Depth D ≥ 2 counts the
    weight matrices including v.

    The loss, the full gradient, the per-sample gradients :math:`\nabla f_i`, the output
    gradients :math:`\nabla_\theta\hat y(x_i;\theta)` and the mini-batch gradients are
    computed by explicit back-propagation for many parameter vectors at once: with
    :math:`z_0 = x`, :math:`z_k = \tanh(W_kz_{k-1})`, :math:`S_k = \operatorname{diag}(1 - z_k^2)`,

    .. math:: \frac{\partial\hat y}{\partial v} = z_{D-1},\quad
              \frac{\partial\hat y}{\partial W_k} = \delta^{(k)}z_{k-1}^\top,\quad
              \delta^{(D-1)} = S_{D-1}v,\quad \delta^{(k)} = S_kW_{k+1}^\top\delta^{(k+1)},

    and :math:`\nabla f_i = (\hat y_i - y_i)\nabla\hat y_i`. Everything is written with
    differentiable torch operations, so autograd can differentiate through the gradient (as
    :func:`~lojasgd.estimate.estimate_alpha` does), and Hessian-vector products are
    forward-mode derivatives (``torch.func.jvp``) of the batched gradient. The generic
    ``torch.func`` implementations inherited from :class:`~lojasgd.landscapes.FiniteSum` and
    :class:`~lojasgd.landscapes.SquaredLossModel` stay available as the reference the tests compare with, e.g.
    ``FiniteSum.grad(net, theta)`` or ``SquaredLossModel.output_grads(net, theta)``.

    Args:
        X: inputs, shape (N, d).
        y: targets, shape (N,).
        width: hidden width h.
        depth: D ≥ 2.
    """

    def __init__(self, X, y, width: int, depth: int) -> None:
        super().__init__(X, y)
        width = validation.integer("width", width, low=1)
        depth = validation.integer("depth", depth, low=2)
        self.width, self.depth = width, depth
        d = int(self.X.shape[1])
        self.shapes = [(width, d)] + [(width, width)] * (depth - 2) + [(width,)]
        self.sizes = [math.prod(s) for s in self.shapes]
        self.dim = sum(self.sizes)

    def unflatten(self, theta: Tensor) -> list[Tensor]:
        """Split θ (shape ``(..., dim)``) into ``[W_1, …, W_{D-1}, v]`` with leading axes kept."""
        lead = theta.shape[:-1]
        parts = torch.split(theta, self.sizes, dim=-1)
        return [p.reshape(*lead, *s) for p, s in zip(parts, self.shapes)]

    def flatten(self, weights: Sequence[Tensor]) -> Tensor:
        """Inverse of :meth:`unflatten` for unbatched weights."""
        if len(weights) != len(self.shapes):
            raise ValueError(f"weights must be {len(self.shapes)} tensors, got {len(weights)}")
        for k, (w, s) in enumerate(zip(weights, self.shapes)):
            if tuple(w.shape) != s:
                raise ValueError(f"weights[{k}] must have shape {s}, got {tuple(w.shape)}")
        return torch.cat([w.reshape(-1) for w in weights])

    def predict_one(self, theta: Tensor, x: Tensor) -> Tensor:
        *hidden, v = self.unflatten(theta)
        z = x
        for W in hidden:
            z = torch.tanh(W @ z)
        return v @ z

    # -- explicit back-propagation, batched over M parameter vectors ------------------
    def _forward(self, theta: Tensor, x: Tensor) -> tuple[list[Tensor], list[Tensor], Tensor]:
        """Hidden matrices, states [z_0, …, z_{D−1}] and outputs for θ (M, dim), x (M, b, d)."""
        *hidden, v = self.unflatten(theta)
        zs = [x]
        z = x
        for W in hidden:
            z = torch.tanh(torch.einsum("mij,mbj->mbi", W, z))
            zs.append(z)
        return hidden, zs, torch.einsum("mi,mbi->mb", v, z)

    def _backward(self, theta: Tensor, hidden: list[Tensor], zs: list[Tensor], coef: Tensor, per_sample: bool) -> Tensor:
        r"""Σ_b coef_b ∇ŷ_b (per_sample=False, shape (M, dim)) or each coef_b ∇ŷ_b (shape (M, b, dim))."""
        v = self.unflatten(theta)[-1]
        M, b = coef.shape
        z = zs[-1]
        if per_sample:
            g_v = coef.unsqueeze(-1) * z
        else:
            g_v = torch.einsum("mb,mbi->mi", coef, z)
        delta = coef.unsqueeze(-1) * v.unsqueeze(1) * (1 - z**2)  # coef·∂ŷ/∂u_{D-1}, (M, b, h)
        blocks = [g_v.reshape(M, b, -1) if per_sample else g_v.reshape(M, -1)]
        for k in reversed(range(len(hidden))):
            zin = zs[k]
            if per_sample:
                gW = (delta.unsqueeze(-1) * zin.unsqueeze(-2)).reshape(M, b, -1)
            else:
                gW = torch.einsum("mbi,mbj->mij", delta, zin).reshape(M, -1)
            blocks.append(gW)
            if k > 0:
                delta = torch.einsum("mij,mbi->mbj", hidden[k], delta) * (1 - zin**2)
        return torch.cat(blocks[::-1], dim=-1)

    def _all_data(self, M: int) -> tuple[Tensor, Tensor]:
        return self.X.unsqueeze(0).expand(M, -1, -1), self.y.unsqueeze(0).expand(M, -1)

    def loss(self, theta: Tensor) -> Tensor:
        flat = theta.reshape(-1, self.dim)
        x, y = self._all_data(flat.shape[0])
        _, _, yhat = self._forward(flat, x)
        return 0.5 * ((yhat - y) ** 2).mean(-1).reshape(theta.shape[:-1])

    def value_and_grad(self, theta: Tensor) -> tuple[Tensor, Tensor]:
        flat = theta.reshape(-1, self.dim)
        x, y = self._all_data(flat.shape[0])
        hidden, zs, yhat = self._forward(flat, x)
        res = yhat - y
        g = self._backward(flat, hidden, zs, res / self.n_samples, per_sample=False)
        return 0.5 * (res**2).mean(-1).reshape(theta.shape[:-1]), g.reshape(theta.shape)

    def grad(self, theta: Tensor) -> Tensor:
        return self.value_and_grad(theta)[1]

    def per_sample_grads(self, theta: Tensor) -> Tensor:
        r"""All :math:`\nabla f_i(\theta) = (\hat y_i - y_i)\nabla\hat y_i`: shape ``(..., N, dim)``."""
        flat = theta.reshape(-1, self.dim)
        x, y = self._all_data(flat.shape[0])
        hidden, zs, yhat = self._forward(flat, x)
        g = self._backward(flat, hidden, zs, yhat - y, per_sample=True)
        return g.reshape(*theta.shape[:-1], self.n_samples, self.dim)

    def output_grads(self, theta: Tensor) -> Tensor:
        r""":math:`\nabla_\theta\hat y(x_i;\theta)` for every sample: shape ``(..., N, dim)``."""
        flat = theta.reshape(-1, self.dim)
        x, _ = self._all_data(flat.shape[0])
        hidden, zs, yhat = self._forward(flat, x)
        g = self._backward(flat, hidden, zs, torch.ones_like(yhat), per_sample=True)
        return g.reshape(*theta.shape[:-1], self.n_samples, self.dim)

    def hvp(self, theta: Tensor, v: Tensor) -> Tensor:
        r"""Hessian-vector products :math:`\nabla^2F(\theta)v`: forward-mode AD (``torch.func.jvp``) of the batched gradient."""
        flat_t, flat_v = theta.reshape(-1, self.dim), v.reshape(-1, self.dim)
        return jvp(self.grad, (flat_t,), (flat_v,))[1].reshape(theta.shape)

    def grad_one(self, t: Tensor) -> Tensor:
        return self.grad(t.unsqueeze(0))[0]

    def batch_grad(self, theta: Tensor, idx: Tensor) -> Tensor:
        r"""Mini-batch gradients for M trajectories by explicit back-propagation (fast path).

        Same value as :meth:`lojasgd.landscapes.FiniteSum.batch_grad` (checked in the tests): with
        :math:`z_0 = x`, :math:`z_l = \tanh(W_l z_{l-1})`, :math:`\hat y = v^\top z_{D-1}` and
        :math:`\partial/\partial\hat y_j = (\hat y_j - y_j)/b`, the gradients are
        :math:`\nabla_v = \sum_j \partial_j z_{D-1,j}`, and backwards through the layers
        :math:`u_l = \partial z_l\odot(1-z_l^2)`, :math:`\nabla_{W_l} = \sum_j u_{l,j}z_{l-1,j}^\top`,
        :math:`\partial z_{l-1} = W_l^\top u_l`. Written straight into one (M, dim) tensor:
        about a third faster than ``vmap(grad(...))`` for small networks on a CPU.

        On the CPU, for a float32/float64 θ of shape (M, dim) that autograd need not follow
        (``requires_grad`` off or grad mode off) and integer indices (M, b), the value is computed by
        the compiled kernel :func:`lojasgd.kernels.tanh.tanh_batch_grad` (one trajectory at a time,
        same value up to the order of summation); otherwise, and as the tests' reference, by
        :meth:`batch_grad_torch`. In float32 the kernel is used only for b ≤ 2: its scalar loops beat
        torch's vectorised float32 matmuls only for small batches (measured on chapter 5's network,
        n = 1568, M = 1000: 1.8× at b = 1, 1.3× at b = 2, 1.1× at b = 3, 0.84× at b = 4; in float64
        2.2× at b = 1 down to 1.4× at b = 8).
        """
        if (
            theta.device.type == "cpu" and theta.dtype in (torch.float32, torch.float64) and theta.dim() == 2
            and theta.shape[1] == self.dim
            and not (theta.requires_grad and torch.is_grad_enabled()) and isinstance(idx, Tensor)
            and idx.device.type == "cpu" and idx.dim() == 2 and idx.shape[0] == theta.shape[0]
            and idx.shape[1] >= 1 and not idx.dtype.is_floating_point and not idx.dtype.is_complex
            and idx.dtype != torch.bool and self.X.device.type == "cpu" and self.X.dtype == theta.dtype
            and (theta.dtype == torch.float64 or idx.shape[1] <= _KERNEL_MAX_BATCH_FLOAT32)
        ):
            return self._batch_grad_kernel(theta, idx)
        return self.batch_grad_torch(theta, idx)

    def _batch_grad_kernel(self, theta: Tensor, idx: Tensor) -> Tensor:
        from ..kernels.tanh import tanh_batch_grad

        N = self.n_samples
        if idx.numel() and (int(idx.min()) < -N or int(idx.max()) >= N):
            return self.batch_grad_torch(theta, idx)  # let torch refuse out-of-range indices as before
        idx = torch.where(idx < 0, idx + N, idx).to(torch.int64).contiguous()  # torch's X[idx] wraps -N <= i < 0
        X, y = self.data
        th = theta.detach().contiguous()
        out = torch.empty_like(th, memory_format=torch.contiguous_format)
        tanh_batch_grad(th.numpy(), X.detach().contiguous().numpy(), y.detach().contiguous().numpy(), idx.numpy(),
                        self.width, self.depth, out=out.numpy())
        return out

    def batch_grad_torch(self, theta: Tensor, idx: Tensor) -> Tensor:
        """:meth:`batch_grad` as batched torch operations (differentiable; any device; the kernel's reference)."""
        *hidden, v = self.unflatten(theta)
        X, y = self.data
        x, yb = X[idx], y[idx]  # (M, b, d), (M, b)
        zs = [x]
        for W in hidden:
            zs.append(torch.tanh(torch.matmul(zs[-1], W.transpose(-1, -2))))
        z = zs[-1]
        dout = ((z * v.unsqueeze(-2)).sum(-1) - yb) / idx.shape[-1]  # (M, b)
        blocks = [(dout.unsqueeze(-1) * z).sum(-2)]  # grad_v, then grad_W for the last layer first
        dz = dout.unsqueeze(-1) * v.unsqueeze(-2)  # (M, b, h)
        for layer in range(len(hidden) - 1, -1, -1):
            du = dz * (1 - zs[layer + 1] ** 2)
            blocks.append(torch.matmul(du.transpose(-1, -2), zs[layer]))
            if layer > 0:
                dz = torch.matmul(du, hidden[layer])
        blocks = blocks[::-1]
        if torch.is_grad_enabled() and (theta.requires_grad or self.X.requires_grad or self.y.requires_grad):
            # differentiable: concatenate (in-place copies into views of one tensor do not support autograd)
            return torch.cat([blk.reshape(*theta.shape[:-1], -1) for blk in blocks], dim=-1)
        grad = torch.empty_like(theta)
        for dst, blk in zip(self.unflatten(grad), blocks):
            dst.copy_(blk)
        return grad

    def first_layer_sensitivities(self, theta: Tensor) -> Tensor:
        r""":math:`\delta_i = \partial\hat y(x_i)/\partial(W_1x_i)` for every sample: shape ``(..., N, h)``.

        Since ŷ depends on W_1 only through u = W_1 x, this is the gradient of
        :math:`u\mapsto v^\top\tanh(W_{D-1}\cdots\tanh(u))` at u = W_1 x_i.
        """

        def head(t: Tensor, u: Tensor) -> Tensor:
            _, *rest, v = self.unflatten(t)
            z = torch.tanh(u)
            for W in rest:
                z = torch.tanh(W @ z)
            return v @ z

        def one(t: Tensor, x: Tensor) -> Tensor:
            W1 = self.unflatten(t)[0]
            return grad(head, argnums=1)(t, W1 @ x)

        flat = theta.reshape(-1, self.dim)
        out = vmap(lambda t: vmap(one, in_dims=(None, 0))(t, self.X))(flat)
        return out.reshape(*theta.shape[:-1], self.n_samples, self.width)

    def schur_alpha_bound(self, theta: Tensor) -> Tensor:
        r"""Pointwise first-layer bound :math:`\frac2N\lambda_{\min}(G_X)\min_i|\delta_i(\theta)|^2`.

        Chapter 5: :math:`|\nabla F(\theta)|^2/F(\theta) \ge` this value at θ (Schur's
        inequality for the Hadamard product :math:`\Delta\circ G_X`).
        """
        gram = self.X @ self.X.T
        lam = torch.linalg.eigvalsh(gram)[0].clamp_min(0)
        delta = self.first_layer_sensitivities(theta)
        return 2 / self.n_samples * lam * (delta**2).sum(-1).min(-1).values

    def chatterjee_init(
        self, scale: float, *, generator: torch.Generator | None = None, hidden_scale: float = 1.0
    ) -> Tensor:
        r"""Initialisation in Chatterjee's spirit: W_1 = 0, positive hidden weights, output of size λ.

        Hidden matrices W_2…W_{D−1} have i.i.d. entries uniform on
        ``(0, hidden_scale·2/h)`` (positive, so the signal does not cancel); v has entries
        λ/√h, so :math:`|v| = \lambda`. With W_1 = 0 every input gives the same hidden state and ŷ = 0,
        so F(θ₀) = (1/(2N))Σy_i² whatever λ.

        Args:
            scale: output scale λ > 0.
            generator: torch generator for the hidden weights (seeded by the caller).
            hidden_scale: multiplier for the hidden weights, > 0.
        """
        scale = validation.positive("scale", scale)
        hidden_scale = validation.positive("hidden_scale", hidden_scale)
        if generator is not None:
            validation.instance("generator", generator, torch.Generator)
        dtype, h = self.X.dtype, self.width
        weights = [torch.zeros(self.shapes[0], dtype=dtype)]
        for s in self.shapes[1:-1]:
            u = torch.rand(s, generator=generator, dtype=torch.float64).to(dtype)
            weights.append(u * hidden_scale * 2 / h)
        weights.append(torch.full((h,), scale / math.sqrt(h), dtype=dtype))
        return self.flatten(weights).to(self.X.device)

    def __repr__(self) -> str:
        return (
            f"TanhNetwork(n_samples={self.n_samples}, d={self.X.shape[1]}, width={self.width}, "
            f"depth={self.depth}, dim={self.dim})"
        )


@dataclass(frozen=True)
class TanhBallBounds:
    r"""Proved constants of the deep tanh network on :math:`\bar B(\theta_0, r)`, where :math:`W_1^0 = 0`.

    Attributes:
        r: the radius.
        scale: :math:`\lambda = |v^0|`, the size of the output weights at θ₀.
        delta0: :math:`|\delta_i(\theta_0)| = |W_2^{0\top}\cdots W_{D-1}^{0\top}v^0|` (the same for every i).
        e_scale: (e_scale, e_offset) :math:`|\delta_i(\theta)-\delta_i(\theta_0)| \le \lambda e_1 + r e_2` on the ball.
        e_offset: see ``e_scale``.
        delta_lower: :math:`\max(0, |\delta_0| - \lambda e_1 - re_2) \le \inf_B\min_i|\delta_i|`.
        gram_min: :math:`\lambda_{\min}(G_X)`.
        alpha_lower: :math:`\frac2n\lambda_{\min}(G_X)\,\delta_{\rm lower}^2 \le \alpha(\theta_0, r)`.
        schur_centre: the pointwise Schur bound at θ₀, :math:`\frac2n\lambda_{\min}(G_X)|\delta_0|^2`.
        out_scale: (out_scale, out_offset) :math:`\Gamma^2 \le (\lambda + r)^2 A + B` with A = ``out_scale``, B = ``out_offset``.
        out_offset: see ``out_scale``.
        gamma_upper: that bound on :math:`\Gamma = \sup_B\max_i|\nabla_\theta\hat y(x_i;\theta)|`.
        noise_factor: :func:`~lojasgd.noise.minibatch_variance_factor` of the sampling scheme.
        sigma_upper: :math:`2\Gamma^2\times` ``noise_factor`` ≥ the σ of Assumption 4.
        output_upper: :math:`\sup_B\max_i|\hat y(x_i;\theta)| \le (\lambda + r)\min(\rho_{D-1}, \sqrt h)`.
        grad_upper: :math:`G \le (\max_i|y_i| + \text{output\_upper})\,\Gamma`, the largest
            per-sample gradient :math:`|\nabla f_i|` on the ball (so one step moves at most ηG).
        F0: the initial loss :math:`F(\theta_0) = \frac1{2N}\sum_iy_i^2`.
        n_samples: N.
        reach: the radius R of the ball :math:`\bar B(\theta_0, R)` on which ``hessian_upper`` is proved
            (default 2r); it covers the set U of Assumption 2 when :math:`r + \eta G_g \le R`.
        hessian_upper: the proved :math:`L_R \ge \sup_{\bar B(\theta_0, R)}\|\nabla^2F\|_2` of
            :func:`hessian_bounds` (Proposition ``prop-tanh-hessian``), a Lipschitz constant of ∇F there.
    """

    r: float
    scale: float
    delta0: float
    e_scale: float
    e_offset: float
    delta_lower: float
    gram_min: float
    alpha_lower: float
    schur_centre: float
    out_scale: float
    out_offset: float
    gamma_upper: float
    noise_factor: float
    sigma_upper: float
    output_upper: float
    grad_upper: float
    F0: float
    n_samples: int
    reach: float
    hessian_upper: float

    @property
    def proved_step(self) -> float:
        r"""The step :math:`\eta^* = \alpha_\lambda/(L_R(\alpha_\lambda+\sigma_\lambda))` with proved constants only (``0`` if α = 0).

        Theorem 3.1 applies with it when :math:`r + \eta^*G_g \le R` (``reach_covered``).
        """
        if self.alpha_lower <= 0:
            return 0.0
        return theory.optimal_step(self.alpha_lower, self.hessian_upper, self.sigma_upper)

    @property
    def reach_covered(self) -> bool:
        r"""Whether :math:`U = \bar B(\theta_0, r + \eta^*G_g)` lies in the ball :math:`\bar B(\theta_0, R)` where L is proved."""
        return self.r + self.proved_step * self.grad_upper <= self.reach

    @property
    def K_optimal(self) -> float:
        r"""Path constant at the optimal step, :math:`K(\eta^*) = 4\sqrt{\alpha+\sigma}/\alpha`, with the proved α and σ (``inf`` if α = 0).

        It does not depend on L: any Lipschitz constant L of ∇F on U, with the step
        :math:`\eta^* = \alpha/(L(\alpha+\sigma))`, gives Theorem 3.1 this K.
        """
        if self.alpha_lower <= 0:
            return math.inf
        return 4 * math.sqrt(self.alpha_lower + self.sigma_upper) / self.alpha_lower

    @property
    def stay_probability_bound(self) -> float:
        r"""The guarantee of Theorem 3.1(2) with the proved constants, :math:`1 - \min(1, K(\eta^*)\sqrt{F_0}/r)`."""
        K = self.K_optimal
        return 0.0 if math.isinf(K) else 1 - min(1.0, K * math.sqrt(self.F0) / self.r)

    @property
    def deficit_limit(self) -> float:
        r"""The limit of :math:`\lambda K(\eta^*)\sqrt{F_0}/r` as λ → ∞ with the hidden weights and r fixed.

        With :math:`c = \delta_0/\lambda` and :math:`a = \frac2N\lambda_{\min}(G_X)(|c| - e_1)^2`, it is
        :math:`4\sqrt{F_0}\sqrt{a + 2c_bA}/(a r)` (``inf`` when :math:`|c| \le e_1`): the proved
        guarantee is :math:`1 - \text{deficit\_limit}/\lambda + o(1/\lambda)`.
        """
        slack = self.delta0 / self.scale - self.e_scale
        if slack <= 0:
            return math.inf
        a = 2 / self.n_samples * self.gram_min * slack**2
        return 4 * math.sqrt(self.F0) * math.sqrt(a + 2 * self.noise_factor * self.out_scale) / (a * self.r)


def _chatterjee_centre(net: TanhNetwork, theta0) -> tuple[Tensor, list[Tensor], Tensor, Tensor, Tensor]:
    """θ₀ checked to be a centre with W₁ = 0, split into (θ₀, [W₂ … W_{D−1}], v, X, y) in float64."""
    t0 = validation.theta("theta0", theta0, net.dim, ndim=1, dtype=torch.float64)
    W1, *hidden, v = net.unflatten(t0)
    if bool((W1 != 0).any()):
        raise ValueError("theta0 must have W_1 = 0: the bounds expand around a point where every pre-activation vanishes")
    return t0, hidden, v, net.X.to(torch.float64), net.y.to(torch.float64)


def ball_bounds(
    net: TanhNetwork, theta0, r: float, *, batch_size: int = 1, replace: bool = True, reach: float | None = None
) -> TanhBallBounds:
    r"""Proved bounds on :math:`\inf_B\min_i|\delta_i|`, α, Γ and σ on :math:`B = \bar B(\theta_0, r)` when :math:`W_1^0 = 0`.

    At such a θ₀ every pre-activation vanishes, every :math:`D_k = I` and
    :math:`\delta_i(\theta_0) = \delta_0 = W_2^{0\top}\cdots W_{D-1}^{0\top}v^0`. On the ball,
    the factors of :math:`\delta = X_1X_2\cdots X_m` (:math:`D_1, W_2^\top, D_2, \dots, D_{D-1}, v`)
    obey :math:`\|X_j\|\le\beta_j`, :math:`\|X_j^0\|=\beta_j^0`, :math:`\|X_j-X_j^0\|\le\varepsilon_j`
    with (β, β⁰, ε) = (1, 1, tanh²ρ_k) for :math:`D_k`, (ω_k, ‖W_k⁰‖, r) for :math:`W_k^\top`,
    (λ + r, λ, r) for v, and the telescoping identity gives

    .. math:: |\delta-\delta_0| \le \sum_j\Big(\prod_{i<j}\beta_i\Big)\varepsilon_j\Big(\prod_{i>j}\beta_i^0\Big)
              = \lambda e_1 + re_2 .

    The output gradients obey :math:`|\nabla\hat y|^2 = \sum_k|\delta^{(k)}|^2|z_{k-1}|^2 + |z_{D-1}|^2`
    with :math:`|\delta^{(k)}| \le (\lambda+r)\prod_{j>k}\omega_j`, :math:`|z_0| \le \chi`,
    :math:`|z_k| \le \min(\rho_k, \sqrt h)`, and :math:`|\hat y| = |v^\top z_{D-1}| \le (\lambda+r)|z_{D-1}|`.

    Args:
        net: a :class:`TanhNetwork`.
        theta0: the centre, shape (dim,), with its W₁ block equal to 0.
        r: radius > 0.
        batch_size, replace: the mini-batch scheme for σ (see :func:`~lojasgd.noise.minibatch_variance_factor`).
        reach: radius R ≥ r of the ball on which the Hessian bound of :func:`hessian_bounds` is computed.
            Default: the smallest R in [r, 2r] (to a relative 1e-9, by bisection) with
            :math:`r + \eta^*(L_R)G_g \le R`, so that :math:`U = \bar B(\theta_0, r + \eta^*G_g)` lies in the
            ball where :math:`L_R` is proved; 2r when no such R exists (then ``reach_covered`` is False).

    Returns:
        A :class:`TanhBallBounds`.
    """
    validation.instance("net", net, TanhNetwork)
    r = validation.positive("r", r)
    if reach is not None:
        reach = validation.positive("reach", reach)
        if reach < r:
            raise ValueError(f"reach={reach} must be >= r={r}")
    factor = minibatch_variance_factor(net.n_samples, batch_size, replace)
    t0, hidden, v, X, y = _chatterjee_centre(net, theta0)
    chi = float(torch.linalg.vector_norm(X, dim=1).max())
    lam = float(torch.linalg.vector_norm(v))
    h = net.width

    norms0 = [float(torch.linalg.matrix_norm(W, ord=2)) for W in hidden]
    omegas = [s + r for s in norms0]
    rhos = [r * chi]
    for om in omegas:
        rhos.append(om * rhos[-1])  # rho_1, ..., rho_{D-1}

    # factors of delta: D_1, W_2^T, D_2, ..., W_{D-1}^T, D_{D-1}, then v
    beta, beta0, eps = [1.0], [1.0], [math.tanh(rhos[0]) ** 2]
    for k, (om, s0) in enumerate(zip(omegas, norms0)):
        beta += [om, 1.0]
        beta0 += [s0, 1.0]
        eps += [r, math.tanh(rhos[k + 1]) ** 2]
    m = len(beta)  # the factors before v
    e_scale = 0.0
    for j in range(m):
        e_scale += math.prod(beta[:j]) * eps[j] * math.prod(beta0[j + 1:])
    e_offset = math.prod(beta)  # the v factor: (prod_{i<m} beta_i) * r, divided by r

    delta_vec = v
    for W in reversed(hidden):
        delta_vec = W.T @ delta_vec
    delta0 = float(torch.linalg.vector_norm(delta_vec))
    delta_lower = max(0.0, delta0 - lam * e_scale - r * e_offset)
    gram_min = max(0.0, float(torch.linalg.eigvalsh(X @ X.T)[0]))
    n = net.n_samples

    # output gradients: blocks W_1..W_{D-1} and v
    zeta = [chi] + [min(rho, math.sqrt(h)) for rho in rhos]  # bounds on |z_0|, ..., |z_{D-1}|
    out_scale = 0.0
    for k in range(len(hidden) + 1):  # block W_{k+1}: delta^{(k+1)} z_k^T
        out_scale += math.prod(omegas[k:]) ** 2 * zeta[k] ** 2
    out_offset = zeta[-1] ** 2
    gamma_upper = math.sqrt((lam + r) ** 2 * out_scale + out_offset)
    output_upper = (lam + r) * zeta[-1]
    grad_upper = (float(y.abs().max()) + output_upper) * gamma_upper
    out = TanhBallBounds(
        r=r, scale=lam, delta0=delta0, e_scale=e_scale, e_offset=e_offset, delta_lower=delta_lower,
        gram_min=gram_min, alpha_lower=2 / n * gram_min * delta_lower**2, schur_centre=2 / n * gram_min * delta0**2,
        out_scale=out_scale, out_offset=out_offset, gamma_upper=gamma_upper, noise_factor=factor,
        sigma_upper=2 * gamma_upper**2 * factor, output_upper=output_upper, grad_upper=grad_upper,
        F0=0.5 * float((y**2).mean()), n_samples=n, reach=math.nan, hessian_upper=math.nan,
    )
    if reach is None:
        reach = _self_consistent_reach(net, t0, out)
    return dataclasses.replace(out, reach=reach, hessian_upper=hessian_bounds(net, t0, reach).hessian_upper)


def _self_consistent_reach(net: TanhNetwork, t0: Tensor, bb: TanhBallBounds) -> float:
    """Smallest R in [r, 2r] (bisection) with r + η*(L_R)G_g ≤ R; 2r if there is none or α = 0."""
    r = bb.r

    def covered(R: float) -> bool:
        L = hessian_bounds(net, t0, R).hessian_upper
        return r + theory.optimal_step(bb.alpha_lower, L, bb.sigma_upper) * bb.grad_upper <= R

    lo, hi = r, 2 * r
    if bb.alpha_lower <= 0 or not covered(hi):
        return hi
    while hi - lo > 1e-9 * r:  # r + η*(L_R)G_g decreases in R, so 'covered' is monotone
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if covered(mid) else (mid, hi)
    return hi


def tanh_second_bound(rho) -> float:
    r""":math:`\sup_{|s|\le\rho}|\tanh''(s)| = 2T(1-T^2)` with :math:`T = \tanh\min(\rho, s_*)`, :math:`s_* = \operatorname{artanh}(1/\sqrt3)` (Lemma ``lem-tanh-second``).

    It is at most :math:`\min(2\rho, 4/(3\sqrt3))`; ρ ≥ 0, and ``inf`` gives :math:`4/(3\sqrt3)`.
    """
    if not (isinstance(rho, float) and rho == math.inf):
        rho = validation.nonnegative("rho", rho)
    t = math.tanh(min(rho, math.atanh(1 / math.sqrt(3))))
    return 2 * t * (1 - t * t)


@dataclass(frozen=True)
class TanhHessianBounds:
    r"""Proved bounds on second derivatives of the deep tanh network on :math:`\bar B(\theta_0, R)`, :math:`W_1^0 = 0`.

    Attributes:
        R: the radius.
        form: the symmetric D×D matrix :math:`M_R` with non-negative entries such that
            :math:`|\tfrac{d^2}{dt^2}\hat y(x_i;\theta+t\Theta)|_{t=0}| \le s^\top M_Rs` for
            :math:`s = (|A_1|, \dots, |A_{D-1}|, |a|)`, the block norms of the direction Θ.
        output_hessian_upper: :math:`H_R = \lambda_{\max}(M_R) \ge \sup\max_i\|\nabla^2_\theta\hat y(x_i;\theta)\|_2`.
        gauss_newton_upper: :math:`\frac1N\sup\|J^\top J\|_2 \le \frac1N\Big[(\lambda+R)^2\Big(\lambda_{\max}(G_X)\prod_{j\ge2}\omega_j^2
            + N\sum_{k\ge2}\prod_{j>k}\omega_j^2\,\zeta_{k-1}^2\Big) + N\zeta_{D-1}^2\Big]`.
        residual_mean_upper: :math:`\frac1N\sum_i|y_i| + (\lambda+R)\zeta_{D-1} \ge \sup\frac1N\sum_i|e_i|`.
        hessian_upper: :math:`L_R` = ``gauss_newton_upper`` + ``residual_mean_upper`` · ``output_hessian_upper``
            :math:`\ge \sup_{\bar B(\theta_0,R)}\|\nabla^2F\|_2`.
    """

    R: float
    form: np.ndarray
    output_hessian_upper: float
    gauss_newton_upper: float
    residual_mean_upper: float
    hessian_upper: float


def hessian_bounds(net: TanhNetwork, theta0, R: float) -> TanhHessianBounds:
    r"""Proved upper bound on :math:`\sup_{\bar B(\theta_0, R)}\|\nabla^2F\|_2` when :math:`W_1^0 = 0` (Proposition ``prop-tanh-hessian``).

    With :math:`\chi = \max_i|x_i|`, :math:`\omega_k = \|W_k^0\|_2 + R`, :math:`\rho_1 = R\chi`,
    :math:`\rho_k = \omega_k\rho_{k-1}`, :math:`\zeta_0 = \chi`, :math:`\zeta_k = \min(\rho_k, \sqrt h)`,
    :math:`t_k` = :func:`tanh_second_bound` (ρ_k), and for a direction with block norms
    :math:`s = (s_1, \dots, s_D)` the linear and quadratic forms

    .. math:: P_0 = Q_0 = 0,\quad P_k = \zeta_{k-1}s_k + \omega_kP_{k-1},\quad
              Q_k = 2s_kP_{k-1} + \omega_kQ_{k-1} + t_kP_k^2,\quad
              s^\top M_Rs = 2s_DP_{D-1} + (\lambda+R)Q_{D-1},

    every output Hessian has :math:`\|\nabla^2\hat y_i\|_2 \le H_R = \lambda_{\max}(M_R)`, and

    .. math:: \|\nabla^2F\|_2 \le L_R = \frac1N\Gamma_{\rm GN}^2 + \Big(\frac1N\sum_i|y_i| + (\lambda+R)\zeta_{D-1}\Big)H_R

    on the ball (see :class:`TanhHessianBounds` for :math:`\Gamma_{\rm GN}^2`). The ball is convex, so ∇F
    is :math:`L_R`-Lipschitz on it.

    Args:
        net: a :class:`TanhNetwork`.
        theta0: the centre, shape (dim,), with its W₁ block equal to 0.
        R: radius > 0.

    Returns:
        A :class:`TanhHessianBounds`.
    """
    validation.instance("net", net, TanhNetwork)
    R = validation.positive("R", R)
    t0, hidden, v, X, y = _chatterjee_centre(net, theta0)
    n, h, D = net.n_samples, net.width, net.depth
    chi = float(torch.linalg.vector_norm(X, dim=1).max())
    lam = float(torch.linalg.vector_norm(v))
    gram_max = max(0.0, float(torch.linalg.eigvalsh(X @ X.T)[-1]))
    omegas = [float(torch.linalg.matrix_norm(W, ord=2)) + R for W in hidden]  # omega_2, ..., omega_{D-1}
    rhos = [R * chi]
    for om in omegas:
        rhos.append(om * rhos[-1])  # rho_1, ..., rho_{D-1}
    zeta = [chi] + [min(rho, math.sqrt(h)) for rho in rhos]  # zeta_0, ..., zeta_{D-1}

    # P_k as coefficient vectors and Q_k as symmetric matrices in s = (s_1, ..., s_D)
    def sym(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # s^T sym(a, b) s = (a.s)(b.s)
        return 0.5 * (np.outer(a, b) + np.outer(b, a))

    eye = np.eye(D)
    P, Q = np.zeros(D), np.zeros((D, D))
    for k in range(1, D):  # layer k = 1, ..., D-1
        om = omegas[k - 2] if k >= 2 else 0.0  # P_0 = Q_0 = 0, so omega_1 never enters
        P_new = zeta[k - 1] * eye[k - 1] + om * P
        Q = 2 * sym(eye[k - 1], P) + om * Q + tanh_second_bound(rhos[k - 1]) * np.outer(P_new, P_new)
        P = P_new
    form = 2 * sym(eye[D - 1], P) + (lam + R) * Q
    H = float(np.linalg.eigvalsh(form)[-1])

    prod_after = [math.prod(omegas[k - 1:]) for k in range(1, D)]  # prod_{j>k} omega_j for k = 1, ..., D-1
    gn = (lam + R) ** 2 * (gram_max * prod_after[0] ** 2 + n * sum(prod_after[k - 1] ** 2 * zeta[k - 1] ** 2
                                                                  for k in range(2, D)))
    gn = (gn + n * zeta[-1] ** 2) / n
    res = float(y.abs().mean()) + (lam + R) * zeta[-1]
    return TanhHessianBounds(R=R, form=form, output_hessian_upper=H, gauss_newton_upper=gn,
                             residual_mean_upper=res, hessian_upper=gn + res * H)


def schur_infimum(
    net: TanhNetwork, theta0, r: float, *, n_points: int = 1000, n_starts: int = 2, seed: int = 0, maxiter: int = 50
) -> Estimate:
    r"""Upper estimate of :math:`\inf_{\theta\in B}\frac2n\lambda_{\min}(G_X)\min_i|\delta_i(\theta)|^2` (Proposition ``prop-tanh-alpha``).

    The pointwise bound is :meth:`~TanhNetwork.schur_alpha_bound`; its
    infimum over the ball is a lower bound on α(θ₀, r). This function only *estimates* that
    infimum (from above), see :func:`~lojasgd.estimate.inf_over_ball`; :func:`ball_bounds` gives a proved
    lower bound when :math:`W_1^0 = 0`.
    """
    validation.instance("net", net, TanhNetwork)
    land = net.to(dtype=torch.float64)
    t0 = validation.theta("theta0", theta0, net.dim, ndim=1, dtype=torch.float64)
    return inf_over_ball(land.schur_alpha_bound, t0, r, n_points=n_points, n_starts=n_starts, seed=seed,
                         maxiter=maxiter)


_ESTIMATES = ("alpha", "L", "sigma", "G")


@dataclass(frozen=True)
class BallPlan:
    r"""Everything chapter 5 needs to run SGD from a Chatterjee-style start on :math:`\bar B(\theta_0, r)`.

    Attributes:
        r: the radius.
        reach: radius of the ball :math:`\bar B(\theta_0, \text{reach})` on which L was estimated.
        L: the estimate of :math:`\sup\|\nabla^2F\|_2` on that ball (a lower estimate of a supremum).
        L_proved: the proved upper bound :math:`L_R` on that supremum (:func:`hessian_bounds` with R = reach).
        proved_L: whether the steps use ``L_proved`` (True) or the estimate ``L`` (False).
        schur: the estimate of :math:`\inf_B\frac2N\lambda_{\min}(G_X)\min_i|\delta_i|^2` (an upper estimate).
        bounds: batch size b ↦ :class:`TanhBallBounds` (proved constants).
        eta: b ↦ the step :math:`\eta_b = \eta^*(\alpha_{\rm lower}, L, \sigma_{\rm upper}(b))` with
            L = ``L_proved`` or the estimate, as ``proved_L`` says.
        report: b ↦ the :class:`~lojasgd.estimate.AssumptionReport` with the estimated α, σ, G at step η_b,
            and the L the step used.
    """

    r: float
    reach: float
    L: Estimate
    L_proved: float
    proved_L: bool
    schur: Estimate
    bounds: dict[int, TanhBallBounds]
    eta: dict[int, float]
    report: dict[int, AssumptionReport]


def ball_plan(
    net: TanhNetwork,
    theta0,
    r: float,
    batch_sizes: tuple[int, ...] = (1,),
    *,
    reach: float | None = None,
    n_points: int = 400,
    n_starts: int = 2,
    maxiter: int = 30,
    L_points: int = 32,
    seed: int = 0,
    proved_L: bool = True,
) -> BallPlan:
    r"""Proved bounds, the step they dictate, and the estimated constants, for SGD from θ₀ (with :math:`W_1^0 = 0`).

    For each batch size b (indices drawn with replacement):

    1. :func:`ball_bounds` gives the proved :math:`\alpha_{\rm lower}` and :math:`\sigma_{\rm upper}(b)`
       and the bound :math:`G_g` on the per-sample gradients;
    2. L on :math:`\bar B(\theta_0, \text{reach})` is bounded by the proved
       :math:`L_{\rm reach}` of :func:`hessian_bounds` (Proposition ``prop-tanh-hessian``), and also
       estimated by sampling (a lower estimate of the supremum);
    3. the step is :math:`\eta_b = \alpha/(L(\alpha+\sigma))` with the proved α, σ and, with
       ``proved_L=True`` (the default), the proved L: then every constant behind the step and the
       guarantee is proved. With ``proved_L=False`` the estimated L is used, and the guarantee holds
       only if the estimate is not below the true supremum. The step must satisfy
       :math:`r + \eta_bG_g \le \text{reach}` (so that L covers the set U of Assumption 2), else
       ``ValueError``. Default reach: with the proved L, the largest over b of the smallest
       self-consistent radius of :func:`ball_bounds` (so every η_b is covered); with the estimated L, 2r;
    4. α, σ(1), G are estimated on the ball once (:func:`~lojasgd.estimate.check_assumptions`), and
       :math:`\hat\sigma(b) = \hat\sigma(1)\cdot c_b` by the exact identity of
       :func:`~lojasgd.noise.minibatch_variance_factor`; each report uses the step η_b.

    The estimator options are those of :func:`~lojasgd.estimate.check_assumptions` (``n_starts``, ``maxiter``) and
    ``L_points`` points for L; ``schur`` uses the same ``n_points``.
    """
    validation.instance("net", net, TanhNetwork)
    r = validation.positive("r", r)
    proved_L = validation.flag("proved_L", proved_L)
    if reach is not None:
        reach = validation.positive("reach", reach)
        if reach <= r:
            raise ValueError(f"reach={reach} must be > r={r}")
    elif not proved_L:
        reach = 2 * r
    if isinstance(batch_sizes, (str, bytes)) or not isinstance(batch_sizes, Sequence):
        raise TypeError(f"batch_sizes={batch_sizes!r} must be a tuple of integers >= 1")
    if not batch_sizes:
        raise ValueError(f"batch_sizes={batch_sizes!r} must be a non-empty tuple of integers >= 1")
    batch_sizes = tuple(validation.integer(f"batch_sizes[{k}]", b, low=1) for k, b in enumerate(batch_sizes))
    t0 = validation.theta("theta0", theta0, net.dim, ndim=1, dtype=torch.float64)
    if reach is None:  # proved L: the smallest ball that contains U for every batch size
        reach = max(ball_bounds(net, t0, r, batch_size=b).reach for b in batch_sizes)
    bounds = {b: ball_bounds(net, t0, r, batch_size=b, reach=reach) for b in batch_sizes}
    land = net.to(dtype=torch.float64)
    L = estimate_L(land, t0, reach, n_points=L_points, n_iter=30, n_starts=1, maxiter=10, seed=seed)
    L_proved = bounds[batch_sizes[0]].hessian_upper
    L_step = L_proved if proved_L else L
    eta = {}
    for b, bb in bounds.items():
        if bb.alpha_lower <= 0:
            raise ValueError(f"the proved lower bound on alpha is 0 at r={r}: the scale is too small for this radius")
        eta[b] = theory.optimal_step(bb.alpha_lower, float(L_step), bb.sigma_upper)
        if r + eta[b] * bb.grad_upper > reach:
            raise ValueError(
                f"r + eta*G_g = {r + eta[b] * bb.grad_upper:.4g} exceeds reach={reach:.4g} for batch size {b}: "
                "increase reach"
            )
    opts = dict(n_points=n_points, n_starts=n_starts, maxiter=maxiter, seed=seed)
    first = check_assumptions(land, MiniBatch(1), t0, r, eta[batch_sizes[0]], known={"L": L_step}, reach=reach,
                              **opts)
    report = {}
    for b in batch_sizes:
        sig = first.sigma
        sig_b = Estimate(sig.value * minibatch_variance_factor(net.n_samples, b), sig.point, sig.kind, sig.evaluations)
        report[b] = check_assumptions(
            land, MiniBatch(b), t0, r, eta[b], known={"alpha": first.alpha, "L": L_step, "G": first.G, "sigma": sig_b},
            reach=reach,
        )
    schur = schur_infimum(land, t0, r, n_points=n_points, n_starts=1, maxiter=20, seed=seed)
    return BallPlan(r=r, reach=reach, L=L, L_proved=L_proved, proved_L=proved_L, schur=schur, bounds=bounds, eta=eta,
                    report=report)
