"""STREAM triad, out[i] = a[i] + q*b[i], on the Python rungs (hpclab's src/kernels/stream/triad.rs).

python: the loop as the textbooks write it, over Python floats (f64; the one rounding to f32 when
        the result is stored is within the kernel's two-rounding bound).
numpy:  one vectorized expression on float32 arrays (q as float32, so NumPy stays in f32).
numba:  the same loop as python, compiled by @njit, into an output allocated once (as the
        compiled backends write theirs); the parallel variant splits the loop with prange.
"""

from kernels import elementwise


def make_python(inputs, params, variant):
    a, b, q = inputs["a"], inputs["b"], params["q"]

    def run():
        out = [0.0] * len(a)
        for i in range(len(a)):
            out[i] = a[i] + q * b[i]
        return out

    return run


def make_numpy(inputs, params, variant):
    import numpy as np

    a, b, q = inputs["a"], inputs["b"], np.float32(params["q"])

    def run():
        return a + q * b

    return run


def build(parallel):
    import numba

    @numba.njit(parallel=parallel)
    def triad(out, a, b, q):
        for i in numba.prange(a.shape[0]):
            out[i] = a[i] + q * b[i]

    return triad


def make_numba(inputs, params, variant):
    import numpy as np

    loop = elementwise.compiled("triad", variant == "parallel", build)
    return elementwise.into_output(loop, [inputs["a"], inputs["b"]], np.float32(params["q"]))


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
