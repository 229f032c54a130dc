"""The premises of reduce's bounds for its Python rungs (src/kernels/reduce/mod.rs):

np.sum on a contiguous float32 array is NumPy's pairwise sum over the whole array, bit for bit
the algorithm `numpy_pairwise_depth` counts the roundings of (8 accumulators in blocks of at
most 128, halving above); and the python rung's f64 loop over multiples of 2^-24 is exact.
"""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from kernels import reduce

try:
    import numpy as np
except ImportError:  # pragma: no cover - the numpy checks skip
    np = None


def pairwise(values):
    """NumPy's pairwise_sum (numpy/_core/src/umath/loops_utils.h.src), in float32 scalars."""
    f32 = np.float32
    n = len(values)
    if n < 8:
        total = f32(0.0)
        for value in values:
            total = f32(total + value)
        return total
    if n <= 128:
        r = [f32(value) for value in values[:8]]
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] = f32(r[k] + values[i + k])
            i += 8
        total = f32(f32(f32(r[0] + r[1]) + f32(r[2] + r[3])) + f32(f32(r[4] + r[5]) + f32(r[6] + r[7])))
        for value in values[i:]:
            total = f32(total + value)
        return total
    half = n // 2
    half -= half % 8
    return f32(pairwise(values[:half]) + pairwise(values[half:]))


def inputs(n, seed):
    """n values k·2^-24 with k < 2^24, as hpclab makes them (not its generator: any such values)."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 1 << 24, n) / (1 << 24)).astype(np.float32)


@unittest.skipIf(np is None, "NumPy is not installed")
class NumpySum(unittest.TestCase):
    def test_np_sum_is_numpys_pairwise_sum_over_the_whole_array(self):
        for n in [1, 7, 8, 17, 127, 128, 129, 1001, 8191, 8193, 65537, 300007]:
            for seed in range(3):
                x = inputs(n, seed)
                with self.subTest(n=n, seed=seed):
                    self.assertEqual(np.sum(x).tobytes(), pairwise(x).tobytes())

    def test_the_rung_is_np_sum(self):
        x = inputs(1001, 5)
        self.assertEqual(reduce.make_numpy({"x": x}, {}, None)(), np.sum(x))


@unittest.skipIf(np is None, "NumPy is not installed")
class PythonFloats(unittest.TestCase):
    def test_the_loop_over_python_floats_is_exact(self):
        for n in [1, 17, 1001, 100003]:
            x = inputs(n, n).tolist()
            total = reduce.make_python({"x": x}, {}, None)()
            self.assertEqual(total, math.fsum(x))


if __name__ == "__main__":
    unittest.main()
