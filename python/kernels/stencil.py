"""2-D diffusion on the Python rungs (hpclab's src/kernels/stencil/mod.rs and cpu.rs).

Gorelick & Ozsvald's diffusion equation (High Performance Python, ch. 6), with hpclab's zero
(Dirichlet) rim instead of the book's wrap-around: `steps` explicit 5-point Jacobi steps

    u'[i, j] = u[i, j] + D * ((u[i, j-1] + u[i, j+1]) + (u[i-1, j] + u[i+1, j]) - 4 * u[i, j])

where a neighbour outside the n x n grid reads 0. D arrives as the f32 value widened to f64.

python: the book's evolve() loop over a list of lists of Python floats (f64); the field is stored
        in f32 once, at the end.
numpy:  the vectorized step on float32 arrays: the field sits inside a zero border one point
        wide, and each step is one expression of shifted slices (the book's np.roll, without
        the wrap).
numba:  the python loop compiled by @njit on float32 arrays; the parallel variant takes the rows
        of each step with prange (the steps stay in order).
"""


def make_python(inputs, params, variant):
    n, steps, d = params["n"], params["steps"], params["diffusion"]
    initial = inputs["u"]

    def evolve(grid):
        new_grid = [[0.0] * n for _ in range(n)]
        for i in range(n):
            for j in range(n):
                centre = grid[i][j]
                left = grid[i][j - 1] if j > 0 else 0.0
                right = grid[i][j + 1] if j + 1 < n else 0.0
                up = grid[i - 1][j] if i > 0 else 0.0
                down = grid[i + 1][j] if i + 1 < n else 0.0
                new_grid[i][j] = centre + d * ((left + right) + (up + down) - 4.0 * centre)
        return new_grid

    def run():
        grid = [initial[i * n:(i + 1) * n] for i in range(n)]
        for _ in range(steps):
            grid = evolve(grid)
        return [value for row in grid for value in row]

    return run


def make_numpy(inputs, params, variant):
    import numpy as np

    n, steps = params["n"], params["steps"]
    d, four = np.float32(params["diffusion"]), np.float32(4.0)
    initial = inputs["u"]

    def run():
        grid = np.zeros((n + 2, n + 2), dtype=np.float32)
        new_grid = np.zeros_like(grid)
        grid[1:-1, 1:-1] = initial
        for _ in range(steps):
            centre = grid[1:-1, 1:-1]
            laplacian = (grid[1:-1, :-2] + grid[1:-1, 2:]) + (grid[:-2, 1:-1] + grid[2:, 1:-1])
            laplacian -= four * centre
            new_grid[1:-1, 1:-1] = centre + d * laplacian
            grid, new_grid = new_grid, grid
        return grid[1:-1, 1:-1]

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        zero, four = np.float32(0.0), np.float32(4.0)

        @numba.njit(parallel=parallel)
        def evolve(grid, new_grid, d):
            n = grid.shape[0]
            for i in numba.prange(n):
                for j in range(n):
                    centre = grid[i, j]
                    left = grid[i, j - 1] if j > 0 else zero
                    right = grid[i, j + 1] if j + 1 < n else zero
                    up = grid[i - 1, j] if i > 0 else zero
                    down = grid[i + 1, j] if i + 1 < n else zero
                    new_grid[i, j] = centre + d * ((left + right) + (up + down) - four * centre)

        @numba.njit
        def diffuse(initial, steps, d):
            grid = initial.copy()
            new_grid = np.empty_like(grid)
            for _ in range(steps):
                evolve(grid, new_grid, d)
                grid, new_grid = new_grid, grid
            return grid

        _COMPILED[parallel] = diffuse
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    import numpy as np

    steps, d = params["steps"], np.float32(params["diffusion"])
    initial = inputs["u"]
    diffuse = compiled(variant == "parallel")

    def run():
        return diffuse(initial, steps, d)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
