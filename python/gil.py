"""hpclab gil: one escape-time image (julia or mandelbrot) split into row chunks over N workers,
to show what the global interpreter lock does to Python threads.

Modes (each a way to run the same rows on N workers):
  threads-python    threading, pure-Python rows: the GIL lets one thread run Python at a time
  processes-python  multiprocessing, pure-Python rows: no shared GIL, but processes to start and
                    every chunk's rows pickled back to the parent
  threads-numpy     threading, NumPy rows: NumPy releases the GIL inside its loops
  threads-numba     threading, rows compiled by Numba with nogil=True
hpclab runs threads-python again on a free-threaded CPython (3.13t or later) where one is found.

Rows are dealt round-robin (row r to worker r mod N) so that every worker gets rows of every cost.
Pure Python computes in Python floats (f64), NumPy and Numba in float32, with the operation order
of hpclab's escape-time kernel (src/kernels/fractal/mod.rs, ITERATION), so hpclab checks the image
with the kernel's own check.
"""

import time
from concurrent.futures import ThreadPoolExecutor

MODES = ("threads-python", "processes-python", "threads-numpy", "threads-numba")


def coordinates(params):
    """Pixel-centre coordinates as Grid::x and Grid::y compute them, in f64 from the f32 a, b, step."""
    n, a, b, step = params["n"], params["a"], params["b"], params["step"]
    xs = [(col + a) * step for col in range(n)]
    ys = [(b - row) * step for row in range(n)]
    return xs, ys


def escape_count(x, y, cx, cy, max_iter):
    for count in range(max_iter):
        x2 = x * x
        y2 = y * y
        if x2 + y2 > 4.0:
            return count
        xy = x * y
        x = x2 - y2 + cx
        y = xy + xy + cy
    return max_iter


def python_rows(params, rows):
    """Escape counts of `rows` in pure Python: a list of (row, counts)."""
    xs, ys = coordinates(params)
    max_iter = params["max_iter"]
    julia = params["set"] == "julia"
    cx, cy = params["c"]
    done = []
    for row in rows:
        y = ys[row]
        if julia:
            counts = [escape_count(x, y, cx, cy, max_iter) for x in xs]
        else:
            counts = [escape_count(0.0, 0.0, x, y, max_iter) for x in xs]
        done.append((row, counts))
    return done


def timed_python_rows(params, worker, workers):
    """One process's share, with the seconds it computed (for the overhead of the others)."""
    start = time.perf_counter()
    rows = python_rows(params, range(worker, params["n"], workers))
    return rows, time.perf_counter() - start


def numpy_rows(np, params, rows):
    """Escape counts of `rows` as a float32 NumPy computation: an array of len(rows) × n counts."""
    f32 = np.float32
    n = params["n"]
    cols = np.arange(n, dtype=f32)
    xs = (cols + f32(params["a"])) * f32(params["step"])
    ys = (f32(params["b"]) - np.asarray(rows, dtype=f32)) * f32(params["step"])
    px, py = np.meshgrid(xs, ys)
    if params["set"] == "julia":
        x, y = px.copy(), py.copy()
        cx, cy = f32(params["c"][0]), f32(params["c"][1])
    else:
        x, y = np.zeros_like(px), np.zeros_like(py)
        cx, cy = px, py
    counts = np.full(px.shape, params["max_iter"], dtype=np.uint32)
    active = np.ones(px.shape, dtype=bool)
    for count in range(params["max_iter"]):
        x2 = x * x
        y2 = y * y
        escaped = active & (x2 + y2 > f32(4.0))
        counts[escaped] = count
        active &= ~escaped
        if not active.any():
            break
        xy = x * y
        # Escaped points keep their values (frozen), so they never overflow.
        x = np.where(active, x2 - y2 + cx, x)
        y = np.where(active, xy + xy + cy, y)
    return counts


_NUMBA_ROWS = []


def numba_rows():
    """The rows' loop compiled by Numba with nogil=True (once per process)."""
    if not _NUMBA_ROWS:
        import numba
        import numpy as np

        @numba.njit(nogil=True)
        def rows_nogil(out, first, stride, n, a, b, step, julia, cx, cy, max_iter):
            for row in range(first, n, stride):
                y0 = (b - np.float32(row)) * step
                for col in range(n):
                    x0 = (np.float32(col) + a) * step
                    if julia:
                        x, y, ccx, ccy = x0, y0, cx, cy
                    else:
                        x, y, ccx, ccy = np.float32(0.0), np.float32(0.0), x0, y0
                    count = max_iter
                    for done in range(max_iter):
                        x2 = x * x
                        y2 = y * y
                        if x2 + y2 > np.float32(4.0):
                            count = done
                            break
                        xy = x * y
                        x = x2 - y2 + ccx
                        y = xy + xy + ccy
                    out[row, col] = count

        _NUMBA_ROWS.append(rows_nogil)
    return _NUMBA_ROWS[0]


class GilRun:
    """One mode, loaded: its imports and compilation done before any sample."""

    def __init__(self, command):
        self.mode = command["mode"]
        self.params = command["params"]
        self.imports_s = []
        self.first_call_s = None
        self.np = None
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}; the modes are {', '.join(MODES)}")
        if self.mode in ("threads-numpy", "threads-numba"):
            import importlib

            start = time.perf_counter()
            self.np = importlib.import_module("numpy")
            self.imports_s.append(["numpy", time.perf_counter() - start])
        if self.mode == "threads-numba":
            import importlib

            start = time.perf_counter()
            importlib.import_module("numba")
            self.imports_s.append(["numba", time.perf_counter() - start])
            start = time.perf_counter()
            out = self.np.zeros((1, 1), dtype=self.np.uint32)
            self.call_numba(out, 0, 1, 1)
            self.first_call_s = time.perf_counter() - start

    def call_numba(self, out, first, stride, n):
        f32 = self.np.float32
        p = self.params
        numba_rows()(out, first, stride, n, f32(p["a"]), f32(p["b"]), f32(p["step"]),
                     p["set"] == "julia", f32(p["c"][0]), f32(p["c"][1]), p["max_iter"])

    def sample(self, workers):
        """Runs the image on `workers` workers; returns (image as a flat list or array, timings)."""
        n = self.params["n"]
        timings = {"start_s": None, "busiest_s": None}
        if self.mode == "processes-python":
            import multiprocessing

            start = time.perf_counter()
            pool = multiprocessing.Pool(workers)
            pool.map(abs, range(workers))  # every process is up before the clock starts
            timings["start_s"] = time.perf_counter() - start
            try:
                start = time.perf_counter()
                shares = pool.starmap(
                    timed_python_rows, [(self.params, w, workers) for w in range(workers)]
                )
                seconds = time.perf_counter() - start
            finally:
                pool.close()
                pool.join()
            image = [None] * n
            for rows, _ in shares:
                for row, counts in rows:
                    image[row] = counts
            timings["busiest_s"] = max(busy for _, busy in shares)
            return [count for counts in image for count in counts], seconds, timings
        if self.mode == "threads-python":
            start = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                shares = list(pool.map(
                    lambda w: python_rows(self.params, range(w, n, workers)), range(workers)
                ))
            seconds = time.perf_counter() - start
            image = [None] * n
            for rows in shares:
                for row, counts in rows:
                    image[row] = counts
            return [count for counts in image for count in counts], seconds, timings
        np = self.np
        image = np.zeros((n, n), dtype=np.uint32)
        if self.mode == "threads-numpy":
            def share(w):
                rows = list(range(w, n, workers))
                if rows:
                    image[w::workers] = numpy_rows(np, self.params, rows)
        else:
            def share(w):
                self.call_numba(image, w, workers, n)
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(share, range(workers)))
        seconds = time.perf_counter() - start
        return image, seconds, timings
