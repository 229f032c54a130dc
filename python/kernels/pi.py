"""Monte Carlo pi on the Python rungs (hpclab's src/kernels/pi/mod.rs and cpu.rs).

Gorelick & Ozsvald (High Performance Python, ch. 9) and Lanaro (ch. 7) throw random points at
the unit square; hpclab throws the same points on every backend from a counter-based generator,
and every rung here reproduces it exactly, so its hit count must equal hpclab's reference count.
Sample i (a 64-bit index) is the hash lowbias32((i mod 2^32) xor block_key(seed_key, i div 2^32));
its point is the centre of a cell of a 2^15 x 2^15 grid, a = (h >> 16) | 1 and b = (h & 0xffff) | 1
in units of 2^-16, inside the quarter circle iff a^2 + b^2 < 2^32 (exact integer arithmetic).

python: the loop over samples with Python integers, masked to 32 bits after each multiply.
numpy:  the indices as uint64 arrays, a chunk of 2^20 samples at a time (memory stays bounded at
        any n); the same masked arithmetic element-wise.
numba:  the python loop compiled by @njit in uint64 arithmetic; the parallel variant splits the
        samples into chunks with prange and adds the chunks' counts.

The count goes back to hpclab as two uint32 words, low then high (a 64-bit little-endian count).
"""

MASK = 0xFFFFFFFF
GOLDEN = 0x9E3779B9
MULTIPLY_1 = 0x7FEB352D
MULTIPLY_2 = 0x846CA68B
# Samples per chunk of the numpy and numba rungs: a power of two that divides 2^32, so that no
# chunk straddles two blocks of 2^32 samples (one block key per chunk).
CHUNK = 1 << 20


def lowbias32(x):
    """Chris Wellons's lowbias32 hash of a 32-bit integer (hpclab's cpu::lowbias32)."""
    x ^= x >> 16
    x = (x * MULTIPLY_1) & MASK
    x ^= x >> 15
    x = (x * MULTIPLY_2) & MASK
    x ^= x >> 16
    return x


def seed_key(seed):
    """The 32-bit key of a 64-bit seed (cpu::seed_key); hpclab sends it, tests check it."""
    return lowbias32((seed & MASK) ^ lowbias32((seed >> 32) ^ GOLDEN))


def block_key(key, block):
    """The key of samples block * 2^32 .. (block + 1) * 2^32 (cpu::block_key)."""
    return lowbias32(key ^ ((block * GOLDEN) & MASK))


def inside(h):
    """True when the point of hash h lies inside the quarter circle (cpu::inside)."""
    a = (h >> 16) | 1
    b = (h & 0xFFFF) | 1
    return a * a < (1 << 32) - b * b


def sample_hits(index, key):
    """Whether sample `index` hits (cpu::sample_hits)."""
    return inside(lowbias32((index & MASK) ^ block_key(key, index >> 32)))


def count_range(start, end, key):
    """Hits among samples start .. end, block by block (cpu::scalar_range)."""
    hits = 0
    while start < end:
        block = start >> 32
        stop = min(end, (block + 1) << 32)
        block_hash = block_key(key, block)
        for index in range(start, stop):
            if inside(lowbias32((index & MASK) ^ block_hash)):
                hits += 1
        start = stop
    return hits


def words(count):
    """A count as hpclab reads it: two uint32 words, low then high."""
    return [int(count) & MASK, int(count) >> 32]


def make_python(inputs, params, variant):
    n, key = params["n"], params["seed_key"]

    def run():
        return words(count_range(0, n, key))

    return run


def make_numpy(inputs, params, variant):
    import numpy as np

    n, key = params["n"], params["seed_key"]
    mask, one = np.uint64(MASK), np.uint64(1)
    m1, m2 = np.uint64(MULTIPLY_1), np.uint64(MULTIPLY_2)
    limit = np.uint64(1 << 32)

    def hits_in(start, stop):
        index = np.arange(start, stop, dtype=np.uint64)
        h = (index & mask) ^ np.uint64(block_key(key, start >> 32))
        h ^= h >> np.uint64(16)
        h = (h * m1) & mask
        h ^= h >> np.uint64(15)
        h = (h * m2) & mask
        h ^= h >> np.uint64(16)
        a = (h >> np.uint64(16)) | one
        b = (h & np.uint64(0xFFFF)) | one
        return int(np.count_nonzero(a * a < limit - b * b))

    def run():
        return words(sum(hits_in(start, min(n, start + CHUNK)) for start in range(0, n, CHUNK)))

    return run


_COMPILED = {}


def compiled(parallel):
    """The loop compiled by Numba, once per process and variant (later loads reuse it)."""
    if parallel not in _COMPILED:
        import numba
        import numpy as np

        # Every constant a uint64: Numba would turn uint64 mixed with int64 into float64.
        u = np.uint64
        mask, one, limit, low_half = u(MASK), u(1), u(1 << 32), u(0xFFFF)
        m1, m2, golden = u(MULTIPLY_1), u(MULTIPLY_2), u(GOLDEN)
        s15, s16, s32 = u(15), u(16), u(32)
        chunk = u(CHUNK)

        @numba.njit(inline="always")
        def hash32(x):
            x ^= x >> s16
            x = (x * m1) & mask
            x ^= x >> s15
            x = (x * m2) & mask
            x ^= x >> s16
            return x

        @numba.njit(parallel=parallel)
        def count(samples, seed):
            n, key = u(samples), u(seed)
            chunks = (n + chunk - one) // chunk
            hits = 0
            for c in numba.prange(chunks):
                start = u(c) * chunk
                stop = min(n, start + chunk)
                block_hash = hash32(key ^ (((start >> s32) * golden) & mask))
                for index in range(start, stop):
                    h = hash32((index & mask) ^ block_hash)
                    a = (h >> s16) | one
                    b = (h & low_half) | one
                    if a * a < limit - b * b:
                        hits += 1
            return hits

        _COMPILED[parallel] = count
    return _COMPILED[parallel]


def make_numba(inputs, params, variant):
    n, key = params["n"], params["seed_key"]
    count = compiled(variant == "parallel")

    def run():
        return words(count(n, key))

    return run


RUNGS = {"python": make_python, "numpy": make_numpy, "numba": make_numba}
