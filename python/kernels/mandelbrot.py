"""The Mandelbrot set on the Python rungs (hpclab's src/kernels/fractal/mod.rs, Set::Mandelbrot).

The iteration, the grid and the three rungs are escape.py's, shared with the other escape-time
kernel exactly as hpclab shares one body between mandelbrot and julia; hpclab's params say which
set ("set": "mandelbrot").
"""

from .escape import RUNGS

__all__ = ["RUNGS"]
