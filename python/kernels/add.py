"""STREAM add, out[i] = a[i] + b[i], on the Python rungs (hpclab's src/kernels/stream/add.rs).

python: the loop as the textbooks write it, over Python floats (f64). a[i] and b[i] are f32
        multiples of 2^-24 in [0, 1), so their sum (25 significant bits at most) is exact in f64,
        and the one rounding to f32 when the result is stored is the kernel's one-rounding bound.
numpy:  one vectorized expression on float32 arrays.
numba:  the same loop as python, compiled by @njit, into an output allocated once (elementwise.py);
        the parallel variant splits the loop with prange.
"""

from kernels import elementwise


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


def build(parallel):
    import numba

    @numba.njit(parallel=parallel)
    def add(out, a, b):
        for i in numba.prange(a.shape[0]):
            out[i] = a[i] + b[i]

    return add


def make_numba(inputs, params, variant):
    loop = elementwise.compiled("add", variant == "parallel", build)
    return elementwise.into_output(loop, [inputs["a"], inputs["b"]])


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
