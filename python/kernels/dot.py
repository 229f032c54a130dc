"""STREAM dot, the sum of a[i]*b[i], on the Python rungs (hpclab's src/kernels/stream/dot.rs).

Each rung sums in its own order, and hpclab checks each against the bound of that order
(DotProblem::python_outputs picks it):

python: the loop as the textbooks write it, over Python floats (f64): each product of two f32
        values is exact in f64, the sum has n - 1 f64 roundings (2^-29 of an f32 rounding each),
        and the result is rounded to f32 once.
numpy:  np.dot on the float32 arrays: BLAS's sdot, whose summation order is the library's
        (accumulators, FMA); hpclab checks it against the bound of any order (n roundings).
numba:  the loop of python on the float32 arrays, compiled by @njit, with an f32 accumulator
        (np.float32(0.0), so that Numba does not widen the sum to float64). The parallel variant
        is a prange reduction: Numba splits the range over its threads, each sums its part in
        order, and the parts are added; whatever the split, no product meets more than n - 1
        additions, so it has the bound of the serial loop.
"""


def make_python(inputs, params, variant):
    a, b = inputs["a"], inputs["b"]

    def run():
        total = 0.0
        for i in range(len(a)):
            total += a[i] * b[i]
        return total

    return run


def make_numpy(inputs, params, variant):
    import numpy as np

    a, b = inputs["a"], inputs["b"]

    def run():
        return np.dot(a, b)

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        @numba.njit(parallel=parallel)
        def dot(a, b):
            total = np.float32(0.0)
            for i in numba.prange(a.shape[0]):
                total += a[i] * b[i]
            return total

        _COMPILED[parallel] = dot
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    a, b = inputs["a"], inputs["b"]
    dot = compiled(variant == "parallel")

    def run():
        return dot(a, b)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
