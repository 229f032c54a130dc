"""One all-pairs gravitational step on the Python rungs (hpclab's src/kernels/nbody/mod.rs, cpu.rs).

Lanaro's particle simulator (Python High Performance, ch. 1) with gravity, as hpclab computes it:

    a_i = sum_j m_j (r_j - r_i) / (|r_j - r_i|^2 + eps^2)^(3/2),  v_i += a_i dt,  x_i += v_i dt

(the j = i term is zero). The output is hpclab's layout, shape (2, n, 4): (x', y', z', m) of
every body, then (vx', vy', vz', 0). eps^2 and dt arrive as the f32 values widened to f64.

python: the double loop over Python floats (f64), in the reference's order; stored in f32 once.
numpy:  all pairs at once on float32 arrays, a block of rows i at a time (a (rows, n) array per
        quantity, so memory stays bounded at any n), the sums over j by NumPy.
numba:  the python loop compiled by @njit in float32; the parallel variant takes the bodies i
        with prange.
"""

import math


def make_python(inputs, params, variant):
    x, y, z, m = inputs["x"], inputs["y"], inputs["z"], inputs["m"]
    vx, vy, vz = inputs["vx"], inputs["vy"], inputs["vz"]
    softening, dt = params["softening_squared"], params["dt"]
    n = len(x)

    def run():
        positions, velocities = [], []
        for i in range(n):
            ax = ay = az = 0.0
            for j in range(n):
                dx, dy, dz = x[j] - x[i], y[j] - y[i], z[j] - z[i]
                r2 = dx * dx + dy * dy + dz * dz + softening
                s = m[j] / (r2 * math.sqrt(r2))
                ax += s * dx
                ay += s * dy
                az += s * dz
            new_vx, new_vy, new_vz = vx[i] + ax * dt, vy[i] + ay * dt, vz[i] + az * dt
            positions += [x[i] + new_vx * dt, y[i] + new_vy * dt, z[i] + new_vz * dt, m[i]]
            velocities += [new_vx, new_vy, new_vz, 0.0]
        return positions + velocities

    return run


# Pairs per block of the numpy rung: rows * n at most this many (4 MB per float32 array).
BLOCK_PAIRS = 1 << 20


def make_numpy(inputs, params, variant):
    import numpy as np

    x, y, z, m = inputs["x"], inputs["y"], inputs["z"], inputs["m"]
    vx, vy, vz = inputs["vx"], inputs["vy"], inputs["vz"]
    softening, dt = np.float32(params["softening_squared"]), np.float32(params["dt"])
    n = x.shape[0]
    rows = max(1, BLOCK_PAIRS // max(n, 1))

    def run():
        acceleration = np.empty((3, n), dtype=np.float32)
        for start in range(0, n, rows):
            i = slice(start, min(n, start + rows))
            dx = x[None, :] - x[i, None]
            dy = y[None, :] - y[i, None]
            dz = z[None, :] - z[i, None]
            r2 = dx * dx + dy * dy + dz * dz + softening
            s = m[None, :] / (r2 * np.sqrt(r2))
            acceleration[0, i] = (s * dx).sum(axis=1)
            acceleration[1, i] = (s * dy).sum(axis=1)
            acceleration[2, i] = (s * dz).sum(axis=1)
        out = np.zeros((2, n, 4), dtype=np.float32)
        velocity = np.stack([vx, vy, vz]) + acceleration * dt
        out[1, :, :3] = velocity.T
        out[0, :, :3] = (np.stack([x, y, z]) + velocity * dt).T
        out[0, :, 3] = m
        return out

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        zero = np.float32(0.0)

        @numba.njit(parallel=parallel)
        def step(x, y, z, m, vx, vy, vz, softening, dt):
            n = x.shape[0]
            out = np.zeros((2, n, 4), dtype=np.float32)
            for i in numba.prange(n):
                ax, ay, az = zero, zero, zero
                for j in range(n):
                    dx, dy, dz = x[j] - x[i], y[j] - y[i], z[j] - z[i]
                    r2 = dx * dx + dy * dy + dz * dz + softening
                    s = m[j] / (r2 * np.sqrt(r2))
                    ax += s * dx
                    ay += s * dy
                    az += s * dz
                new_vx, new_vy, new_vz = vx[i] + ax * dt, vy[i] + ay * dt, vz[i] + az * dt
                out[1, i, 0], out[1, i, 1], out[1, i, 2] = new_vx, new_vy, new_vz
                out[0, i, 0] = x[i] + new_vx * dt
                out[0, i, 1] = y[i] + new_vy * dt
                out[0, i, 2] = z[i] + new_vz * dt
                out[0, i, 3] = m[i]
            return out

        _COMPILED[parallel] = step
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    import numpy as np

    arrays = [inputs[name] for name in ("x", "y", "z", "m", "vx", "vy", "vz")]
    softening, dt = np.float32(params["softening_squared"]), np.float32(params["dt"])
    step = compiled(variant == "parallel")

    def run():
        return step(*arrays, softening, dt)

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
