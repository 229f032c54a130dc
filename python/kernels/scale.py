"""STREAM scale, out[i] = q*a[i], on the Python rungs (hpclab's src/kernels/stream/scale.rs).

python: the loop as the textbooks write it, over Python floats (f64). q and a[i] are f32 values,
        so their product (at most 48 significant bits) is exact in f64, and the one rounding to
        f32 when the result is stored is the kernel's one-rounding bound (it equals the f32 product).
numpy:  one vectorized expression on the float32 array (q as float32, so NumPy stays in f32).
numba:  the same loop as python, compiled by @njit, into an output allocated once (elementwise.py);
        the parallel variant splits the loop with prange.
"""

from kernels import elementwise


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


def build(parallel):
    import numba

    @numba.njit(parallel=parallel)
    def scale(out, a, q):
        for i in numba.prange(a.shape[0]):
            out[i] = q * a[i]

    return scale


def make_numba(inputs, params, variant):
    import numpy as np

    loop = elementwise.compiled("scale", variant == "parallel", build)
    return elementwise.into_output(loop, [inputs["a"]], np.float32(params["q"]))


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
