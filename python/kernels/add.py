"""STREAM add, out[i] = a[i] + b[i], on the Python rungs (hpclab's src/kernels/stream/add.rs).

python: the loop as the textbooks write it, over Python floats (f64). a[i] and b[i] are f32
        multiples of 2^-24 in [0, 1), so their sum (25 significant bits at most) is exact in f64,
        and the one rounding to f32 when the result is stored is the kernel's one-rounding bound.
numpy:  one vectorized expression on float32 arrays.
numba:  the same loop as python, compiled by @njit; the parallel variant splits it with prange.
"""


def make_python(inputs, params, variant):
    a, b = inputs["a"], inputs["b"]

    def run():
        out = [0.0] * len(a)
        for i in range(len(a)):
            out[i] = a[i] + b[i]
        return out

    return run


def make_numpy(inputs, params, variant):
    a, b = inputs["a"], inputs["b"]

    def run():
        return a + b

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        @numba.njit(parallel=parallel)
        def add(a, b):
            out = np.empty_like(a)
            for i in numba.prange(a.shape[0]):
                out[i] = a[i] + b[i]
            return out

        _COMPILED[parallel] = add
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    a, b = inputs["a"], inputs["b"]
    add = compiled(variant == "parallel")

    def run():
        return add(a, b)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
