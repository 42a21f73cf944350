r"""Fused kernels and the counter-based random stream.

Self-contained (numpy, numba and torch in, plain arrays out; nothing else from ``lojasgd``):

* :mod:`~lojasgd.kernels.stream` — the random stream: every draw is a function of
  (seed, trajectory m, step k, word j), implemented bit for bit the same in numba and torch;
* :mod:`~lojasgd.kernels.cpu` — :func:`~lojasgd.kernels.cpu.fused_sgd`, all T SGD steps for blocks of trajectories
  in one compiled numba kernel (closed-form landscapes, machine-learning and bounded noise),
  with exact records; :func:`~lojasgd.kernels.cpu.shard_slice`, :func:`~lojasgd.kernels.cpu.save_result`, :func:`~lojasgd.kernels.cpu.load_result` and
  :func:`~lojasgd.kernels.cpu.merge` for sweeps split into shards;
* :mod:`~lojasgd.kernels.cuda` — :func:`~lojasgd.kernels.cuda.fused_sgd_cuda`, the same run as a
  ``numba.cuda`` kernel (one thread per trajectory, float32 or float64, no records or traces);
  not imported here, so that nothing imports ``numba.cuda`` unless a CUDA run is asked for;
* :mod:`~lojasgd.kernels.reference` — :func:`~lojasgd.kernels.reference.reference_sgd`, the same run as a torch tensor
  program on the same stream (the tests' reference).
* :mod:`~lojasgd.kernels.tanh` — :func:`~lojasgd.kernels.tanh.tanh_batch_grad`, the mini-batch
  gradients of chapter 5's tanh network one trajectory at a time (behind
  ``TanhNetwork.batch_grad`` on the CPU); not imported here.
"""

from .cpu import LANDSCAPES, NOISES, KernelResult, exact_sum, fused_sgd, load_result, merge, save_result, shard_slice
from .reference import reference_sgd

__all__ = ["LANDSCAPES", "NOISES", "KernelResult", "fused_sgd", "merge", "shard_slice", "exact_sum", "save_result",
           "load_result", "reference_sgd"]
