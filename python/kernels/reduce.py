"""The sum of n float32 values on the Python rungs (hpclab's src/kernels/reduce/mod.rs).

Each rung sums in its own order, and hpclab checks each against the bound of that order
(ReduceProblem::python_outputs picks the strategy):

python: the loop as the textbooks write it, over Python floats (f64). The inputs are multiples
        of 2^-24 below 1, so every partial sum below 2^29 is exact in f64: the result is the exact
        sum rounded to f32 once (the most accurate rung, and the slowest). Not the builtin sum(),
        which compensates its additions from Python 3.12 on.
numpy:  np.sum on the float32 array: NumPy's pairwise sum (8 accumulators over blocks of at
        most 128, the blocks added by recursive halving), in float32. On a contiguous float32
        array it runs over the whole array in one call (python/tests/test_reduce.py checks
        that np.sum is bit for bit that algorithm).
numba:  the loop of python compiled by @njit, with an f32 accumulator (np.float32(0.0), so that
        Numba does not widen the sum to float64): n - 1 additions in order, like hpclab's
        sequential scalar loop. The parallel variant is a prange reduction: Numba splits the
        range over its threads, each sums its part in order, and the parts are added; whatever
        the split, no element meets more than n - 1 additions.
"""


def make_python(inputs, params, variant):
    x = inputs["x"]

    def run():
        total = 0.0
        for value in x:
            total += value
        return total

    return run


def make_numpy(inputs, params, variant):
    import numpy as np

    x = inputs["x"]

    def run():
        return np.sum(x)

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        @numba.njit(parallel=parallel)
        def total(x):
            s = np.float32(0.0)
            for i in numba.prange(x.shape[0]):
                s += x[i]
            return s

        _COMPILED[parallel] = total
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    x = inputs["x"]
    total = compiled(variant == "parallel")

    def run():
        return total(x)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
