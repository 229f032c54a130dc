"""The Python rungs' copy of pi's counter-based generator against values printed by hpclab's Rust
code (src/kernels/pi/cpu.rs; the same values are pinned on the Rust side by the test
`the_python_rungs_generator_values` in src/kernels/pi/mod.rs)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kernels import pi


class Generator(unittest.TestCase):
    def test_lowbias32(self):
        for x, h in [(0, 0), (1, 1753845952), (42, 388445122), (0xDEADBEEF, 3861431939),
                     (0xFFFFFFFF, 1734902346)]:
            self.assertEqual(pi.lowbias32(x), h, x)

    def test_seed_and_block_keys(self):
        for seed, key in [(0, 2926543089), (1, 2692512407), (42, 3084001500),
                          ((1 << 40) | 7, 2937272898)]:
            self.assertEqual(pi.seed_key(seed), key, seed)
        key = pi.seed_key(42)
        for block, value in [(0, 3055533749), (1, 1307432647), (255, 1800554968)]:
            self.assertEqual(pi.block_key(key, block), value, block)

    def test_samples_by_their_64_bit_index(self):
        key = pi.seed_key(42)
        for index, hit in [(0, True), (1, True), (2, False), (3, False), ((1 << 32) + 5, False),
                           ((1 << 39) + 12345, True)]:
            self.assertEqual(pi.sample_hits(index, key), hit, index)

    def test_counts(self):
        self.assertEqual(pi.count_range(0, 1000, pi.seed_key(42)), 782)
        self.assertEqual(pi.count_range(0, 100_001, pi.seed_key(7)), 78277)
        # A range across the first block boundary changes key half way.
        key = pi.seed_key(42)
        self.assertEqual(pi.count_range((1 << 32) - 500, (1 << 32) + 500, key), 779)
        self.assertEqual(
            pi.count_range((1 << 32) - 500, (1 << 32) + 500, key),
            sum(pi.sample_hits(i, key) for i in range((1 << 32) - 500, (1 << 32) + 500)),
        )

    def test_chunks_never_straddle_a_block(self):
        self.assertEqual((1 << 32) % pi.CHUNK, 0)

    def test_every_rung_counts_the_same(self):
        params = {"n": 100_001, "seed_key": pi.seed_key(7)}
        rungs = [("python", None)]
        try:
            import numpy  # noqa: F401

            rungs.append(("numpy", None))
            import numba  # noqa: F401

            rungs += [("numba", "serial"), ("numba", "parallel")]
        except ImportError:
            pass
        for rung, variant in rungs:
            self.assertEqual(pi.RUNGS[rung]({}, params, variant)(), [78277, 0], rung)

    def test_the_count_goes_back_as_two_words(self):
        self.assertEqual(pi.words((5 << 32) + 7), [7, 5])


if __name__ == "__main__":
    unittest.main()
