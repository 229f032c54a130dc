"""STREAM scale, out[i] = q*a[i], on the Python rungs (hpclab's src/kernels/stream/scale.rs).

python: the loop as the textbooks write it, over Python floats (f64). q and a[i] are f32 values,
        so their product (at most 48 significant bits) is exact in f64, and the one rounding to
        f32 when the result is stored is the kernel's one-rounding bound (it equals the f32 product).
numpy:  one vectorized expression on the float32 array (q as float32, so NumPy stays in f32).
numba:  the same loop as python, compiled by @njit; the parallel variant splits it with prange.
"""


def make_python(inputs, params, variant):
    a, q = inputs["a"], params["q"]

    def run():
        out = [0.0] * len(a)
        for i in range(len(a)):
            out[i] = q * a[i]
        return out

    return run


def make_numpy(inputs, params, variant):
    import numpy as np

    a, q = inputs["a"], np.float32(params["q"])

    def run():
        return q * a

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        @numba.njit(parallel=parallel)
        def scale(a, q):
            out = np.empty_like(a)
            for i in numba.prange(a.shape[0]):
                out[i] = q * a[i]
            return out

        _COMPILED[parallel] = scale
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    import numpy as np

    a, q = inputs["a"], np.float32(params["q"])
    scale = compiled(variant == "parallel")

    def run():
        return scale(a, q)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
