"""Presentation helpers of the book: figure style, phase-diagram drawing, throughput tables.

Not part of the library a user needs: :mod:`lojasgd.book.plotting` (the book's figure style
and plots), :mod:`lojasgd.book.phase` (heat maps and region boundaries of chapter 6's phase
diagrams), :mod:`lojasgd.book.throughput` (reading and tabulating the benchmark results).
"""

from . import phase, plotting, throughput

__all__ = ["plotting", "phase", "throughput"]
