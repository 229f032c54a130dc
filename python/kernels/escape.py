"""Escape-time fractals (mandelbrot, julia) on the Python rungs: hpclab's src/kernels/fractal/mod.rs.

One body for both sets, as in hpclab: params["set"] picks where z starts ("mandelbrot": z = 0 and
c = the pixel; "julia": z = the pixel and c = params["c"]). The pixel at (row, col) of the n x n
image lies at x = (col + a) * step_x, y = (b - row) * step_y, hpclab's Grid::x and Grid::y; a, b,
the steps and c arrive as f32 values widened to f64.

Every rung runs hpclab's iteration (src/kernels/fractal/mod.rs, ITERATION) in its order:

    x2 = x*x; y2 = y*y; escaped if x2 + y2 > 4; xy = x*y; x = (x2 - y2) + cx; y = (xy + xy) + cy

python: the double loop of Gorelick & Ozsvald (High Performance Python, ch. 2), written over the
        real and imaginary parts in Python floats (f64); hpclab checks it against an f64
        reference of the same operations, since f64 counts differ from f32 ones at boundary
        points.
numpy:  every pixel at once on float32 arrays, the escaped ones dropped from the arrays as they
        escape (the vectorized form of ch. 6); the same f32 operations (NumPy never fuses a
        multiply and an add), so the counts equal the compiled backends'.
numba:  the python loop compiled by @njit in float32 (no fastmath, so LLVM neither fuses nor
        reorders); the parallel variant takes the rows with prange.
"""


def escape_count(x, y, cx, cy, max_iter):
    """Iterations of z <- z^2 + c from z = x + iy before |z| > 2, or max_iter."""
    for count in range(max_iter):
        x2 = x * x
        y2 = y * y
        if x2 + y2 > 4.0:
            return count
        xy = x * y
        x = (x2 - y2) + cx
        y = (xy + xy) + cy
    return max_iter


def python_rows(params, rows):
    """The escape counts of `rows`, in Python floats: a list of (row, counts of that row)."""
    n, max_iter = params["n"], params["max_iter"]
    a, b = params["a"], params["b"]
    step_x, step_y = params["step_x"], params["step_y"]
    julia = params["set"] == "julia"
    c_re, c_im = params["c"]
    done = []
    for row in rows:
        y = (b - row) * step_y
        counts = [0] * n
        for col in range(n):
            x = (col + a) * step_x
            if julia:
                counts[col] = escape_count(x, y, c_re, c_im, max_iter)
            else:
                counts[col] = escape_count(0.0, 0.0, x, y, max_iter)
        done.append((row, counts))
    return done


def make_python(inputs, params, variant):
    n = params["n"]

    def run():
        counts = []
        for _, row_counts in python_rows(params, range(n)):
            counts.extend(row_counts)
        return counts

    return run


def numpy_rows(np, params, rows):
    """The escape counts of `rows` on float32 arrays: an array of len(rows) x n counts."""
    f32 = np.float32
    n, max_iter = params["n"], params["max_iter"]
    a, b = f32(params["a"]), f32(params["b"])
    step_x, step_y = f32(params["step_x"]), f32(params["step_y"])
    julia = params["set"] == "julia"
    c_re, c_im = f32(params["c"][0]), f32(params["c"][1])
    four = f32(4.0)
    # Grid::x and Grid::y, in f32: column and row numbers are exact in float32.
    xs = (np.arange(n, dtype=f32) + a) * step_x
    ys = (b - np.asarray(rows, dtype=f32)) * step_y
    height = len(ys)
    px = np.broadcast_to(xs, (height, n)).ravel()
    py = np.broadcast_to(ys[:, None], (height, n)).ravel()
    if julia:
        x, y = px.copy(), py.copy()
        cx, cy = c_re, c_im
    else:
        x, y = np.zeros(height * n, dtype=f32), np.zeros(height * n, dtype=f32)
        cx, cy = px.copy(), py.copy()
    counts = np.full(height * n, max_iter, dtype=np.uint32)
    # The pixels still iterating: their index in the image, and their x, y (and c).
    where = np.arange(height * n)
    for count in range(max_iter):
        x2 = x * x
        y2 = y * y
        escaped = x2 + y2 > four
        if escaped.any():
            counts[where[escaped]] = count
            going = ~escaped
            where, x, y, x2, y2 = where[going], x[going], y[going], x2[going], y2[going]
            if not julia:
                cx, cy = cx[going], cy[going]
            if where.size == 0:
                break
        xy = x * y
        x = (x2 - y2) + cx
        y = (xy + xy) + cy
    return counts.reshape(height, n)


def make_numpy(inputs, params, variant):
    import numpy as np

    rows = range(params["n"])

    def run():
        return numpy_rows(np, params, rows)

    return run


_COMPILED = {}


def compiled_rows(parallel, nogil=False):
    """The rows' loops compiled by Numba, once per process and flavour: rows(out, first,
    stride, ...) fills rows first, first + stride, ... of out (prange over them when parallel;
    nogil releases the GIL, for the GIL experiment's threads)."""
    key = (parallel, nogil)
    if key not in _COMPILED:
        import numba
        import numpy as np

        @numba.njit(inline="always")
        def count_of(x, y, cx, cy, max_iter):
            for count in range(max_iter):
                x2 = x * x
                y2 = y * y
                if x2 + y2 > np.float32(4.0):
                    return count
                xy = x * y
                x = (x2 - y2) + cx
                y = (xy + xy) + cy
            return max_iter

        @numba.njit(parallel=parallel, nogil=nogil)
        def rows(out, first, stride, n, max_iter, a, b, step_x, step_y, julia, c_re, c_im):
            for k in numba.prange((n - first + stride - 1) // stride):
                row = first + k * stride
                y = (b - np.float32(row)) * step_y
                for col in range(n):
                    x = (np.float32(col) + a) * step_x
                    if julia:
                        out[row, col] = count_of(x, y, c_re, c_im, max_iter)
                    else:
                        out[row, col] = count_of(np.float32(0.0), np.float32(0.0), x, y, max_iter)

        _COMPILED[key] = rows
    return _COMPILED[key]


def numba_arguments(np, params):
    """The scalar arguments of compiled_rows' loop after (out, first, stride), in float32."""
    f32 = np.float32
    return (
        params["n"],
        params["max_iter"],
        f32(params["a"]),
        f32(params["b"]),
        f32(params["step_x"]),
        f32(params["step_y"]),
        params["set"] == "julia",
        f32(params["c"][0]),
        f32(params["c"][1]),
    )


def make_numba(inputs, params, variant):
    """Into an image allocated once, as the compiled backends write theirs."""
    import numpy as np

    n = params["n"]
    out = np.full((n, n), np.iinfo(np.uint32).max, dtype=np.uint32)
    rows = compiled_rows(variant == "parallel")
    arguments = numba_arguments(np, params)

    def run():
        rows(out, 0, 1, *arguments)
        return out

    run.clear = lambda: out.fill(np.iinfo(np.uint32).max)
    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
