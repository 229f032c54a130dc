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

from kernels import escape

MODES = ("threads-python", "processes-python", "threads-numpy", "threads-numba")


def timed_python_rows(params, worker, workers):
    """One process's share, with the seconds it computed (for the overhead of the others)."""
    start = time.perf_counter()
    rows = escape.python_rows(params, range(worker, params["n"], workers))
    return rows, time.perf_counter() - start


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
            self.numba_rows = escape.compiled_rows(parallel=False, nogil=True)
            self.numba_arguments = escape.numba_arguments(self.np, self.params)
            # The first call compiles: one row, outside every sample.
            first = self.np.zeros((self.params["n"], self.params["n"]), dtype=self.np.uint32)
            self.numba_rows(first, 0, self.params["n"], *self.numba_arguments)
            self.first_call_s = time.perf_counter() - start

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
                    lambda w: escape.python_rows(self.params, range(w, n, workers)),
                    range(workers),
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
                    image[w::workers] = escape.numpy_rows(np, self.params, rows)
        else:
            def share(w):
                self.numba_rows(image, w, workers, *self.numba_arguments)
        start = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(share, range(workers)))
        seconds = time.perf_counter() - start
        return image, seconds, timings
