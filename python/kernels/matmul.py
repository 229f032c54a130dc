"""C = A·B for n × n float32 matrices on the Python rungs (hpclab's src/kernels/matmul/mod.rs).

python: the triple loop as the textbooks write it (i-j-k: each element of C a dot product of a
        row of A and a column of B) over lists of rows of Python floats (f64). The lists of rows
        are cut from hpclab's flat row-major lists before the timed call; C is flattened back at
        its end (n² moves next to n³ multiply-adds). Each element is the f64 dot product rounded
        to f32 once: within the kernel's bound for an f32 dot product in any order.
numpy:  a @ b on the float32 arrays: NumPy hands it to BLAS's sgemm (the "library" rung).
numba:  the triple loop compiled by @njit in i-k-j order, as hpclab's scalar loop
        (src/kernels/matmul/cpu.rs): the inner loop is an axpy over a row of B into a row of C,
        unit stride, which LLVM vectorizes; every sum in float32. The parallel variant splits
        the rows of C over threads with prange (each row is written by one thread).
"""


def make_python(inputs, params, variant):
    n = params["n"]
    a = [inputs["a"][i * n : (i + 1) * n] for i in range(n)]
    b = [inputs["b"][i * n : (i + 1) * n] for i in range(n)]

    def run():
        c = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                total = 0.0
                for k in range(n):
                    total += a[i][k] * b[k][j]
                c[i][j] = total
        return [value for row in c for value in row]

    return run


def make_numpy(inputs, params, variant):
    a, b = inputs["a"], inputs["b"]

    def run():
        return a @ b

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        @numba.njit(parallel=parallel)
        def matmul(a, b):
            n = a.shape[0]
            c = np.zeros((n, n), dtype=a.dtype)
            for i in numba.prange(n):
                for k in range(n):
                    aik = a[i, k]
                    for j in range(n):
                        c[i, j] += aik * b[k, j]
            return c

        _COMPILED[parallel] = matmul
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    a, b = inputs["a"], inputs["b"]
    matmul = compiled(variant == "parallel")

    def run():
        return matmul(a, b)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
