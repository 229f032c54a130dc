"""STREAM copy, out[i] = a[i], on the Python rungs (hpclab's src/kernels/stream/copy.rs).

python: the loop as the textbooks write it, over Python floats: each is an f32 value held exactly
        in an f64, so storing it back as f32 is exact (the check is exact).
numpy:  a.copy() on the float32 array (one memcpy-like pass; a fresh array each call).
numba:  the same loop as python, compiled by @njit; the parallel variant splits it with prange.
"""


def make_python(inputs, params, variant):
    a = inputs["a"]

    def run():
        out = [0.0] * len(a)
        for i in range(len(a)):
            out[i] = a[i]
        return out

    return run


def make_numpy(inputs, params, variant):
    a = inputs["a"]

    def run():
        return a.copy()

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        @numba.njit(parallel=parallel)
        def copy(a):
            out = np.empty_like(a)
            for i in numba.prange(a.shape[0]):
                out[i] = a[i]
            return out

        _COMPILED[parallel] = copy
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    a = inputs["a"]
    copy = compiled(variant == "parallel")

    def run():
        return copy(a)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
