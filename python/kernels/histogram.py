"""Byte histogram, 256 counts of n bytes, on the Python rungs (hpclab's src/kernels/histogram/mod.rs).

Counts are integers: every rung must match hpclab's reference exactly (returned as uint32).

python: the loop as the textbooks write it, one increment of a list element per byte.
numpy:  np.bincount(data, minlength=256): NumPy's counting loop in C.
numba:  the loop of python compiled by @njit. The parallel variant cannot share one table
        between threads (two threads incrementing one bin would lose counts): like hpclab's
        rayon loop, each chunk of the bytes gets a private table in a prange loop, and the
        tables are added at the end.
"""

BINS = 256


def make_python(inputs, params, variant):
    data = inputs["data"]

    def run():
        counts = [0] * BINS
        for byte in data:
            counts[byte] += 1
        return counts

    return run


def make_numpy(inputs, params, variant):
    import numpy as np

    data = inputs["data"]

    def run():
        return np.bincount(data, minlength=BINS)

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        if parallel:

            @numba.njit(parallel=True)
            def histogram(data):
                n = data.shape[0]
                chunks = numba.get_num_threads()
                tables = np.zeros((chunks, BINS), dtype=np.int64)
                for chunk in numba.prange(chunks):
                    for i in range(chunk * n // chunks, (chunk + 1) * n // chunks):
                        tables[chunk, data[i]] += 1
                counts = np.zeros(BINS, dtype=np.int64)
                for chunk in range(chunks):
                    for value in range(BINS):
                        counts[value] += tables[chunk, value]
                return counts

        else:

            @numba.njit
            def histogram(data):
                counts = np.zeros(BINS, dtype=np.int64)
                for i in range(data.shape[0]):
                    counts[data[i]] += 1
                return counts

        _COMPILED[parallel] = histogram
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    data = inputs["data"]
    histogram = compiled(variant == "parallel")

    def run():
        return histogram(data)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
