"""Fused kernels and the counter-based random stream (self-contained: numpy, numba and torch only)."""
