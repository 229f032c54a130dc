"""STREAM copy, out[i] = a[i], on the Python rungs (hpclab's src/kernels/stream/copy.rs).

python: the loop as the textbooks write it, over Python floats: each is an f32 value held exactly
        in an f64, so storing it back as f32 is exact (the check is exact).
numpy:  a.copy() on the float32 array (one memcpy-like pass; a fresh array each call).
numba:  the same loop as python, compiled by @njit, into an output allocated once (elementwise.py);
        the parallel variant splits the loop with prange.
"""

from kernels import elementwise


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


def build(parallel):
    import numba

    @numba.njit(parallel=parallel)
    def copy(out, a):
        for i in numba.prange(a.shape[0]):
            out[i] = a[i]

    return copy


def make_numba(inputs, params, variant):
    loop = elementwise.compiled("copy", variant == "parallel", build)
    return elementwise.into_output(loop, [inputs["a"]])


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
