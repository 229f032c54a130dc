//! Monte Carlo π on the CPU: the generator and the hit test (shared word for word with the
//! shader), the plain loop, the SIMD loop over [`U32Lanes`], and the rayon split of the index
//! range.

use crate::cpu::simd_u32::{U32Kernel, U32Lanes, dispatch_u32};
use rayon::prelude::*;

/// The "lowbias32" integer hash (Chris Wellons, hash-prospector): xor-shift, multiply, twice.
/// A bijection of u32 with low avalanche bias, so consecutive indices give unrelated points. It
/// needs only 32-bit multiplies, which every SIMD set and every GPU has.
#[inline(always)]
pub const fn lowbias32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

/// The 32-bit key of a 64-bit seed.
pub fn seed_key(seed: u64) -> u32 {
    lowbias32(seed as u32 ^ lowbias32((seed >> 32) as u32 ^ 0x9e37_79b9))
}

/// The key of block `block` (sample indices `block·2^32 .. (block+1)·2^32`).
#[inline(always)]
pub fn block_key(seed_key: u32, block: u32) -> u32 {
    lowbias32(seed_key ^ block.wrapping_mul(0x9e37_79b9))
}

/// True when the point of hash `h` lies inside the quarter circle.
///
/// The point is the centre of a cell of a 2^15 × 2^15 grid: a = 2X + 1 and b = 2Y + 1 (odd,
/// below 2^16) are its coordinates in units of 2^-16, taken from the top and bottom half of `h`
/// with their lowest bit forced to 1. It is inside iff a² + b² < 2^32, i.e. a² < 2^32 − b²;
/// both sides fit in u32 (b² ≥ 1, so 2^32 − b² is `b².wrapping_neg()`), so the test is exact
/// integer arithmetic and every backend counts the same points.
#[inline(always)]
pub fn inside(h: u32) -> bool {
    let a = (h >> 16) | 1;
    let b = (h & 0xffff) | 1;
    a * a < (b * b).wrapping_neg()
}

/// Whether sample `index` hits, computed directly from its 64-bit index (the reference path:
/// no blocking, the block key recomputed for every sample).
pub fn sample_hits(index: u64, seed_key: u32) -> bool {
    inside(lowbias32(
        index as u32 ^ block_key(seed_key, (index >> 32) as u32),
    ))
}

/// The 2^32-sample blocks that `start .. end` touches: (block, first low index, samples).
fn blocks(start: u64, end: u64) -> impl Iterator<Item = (u32, u32, u64)> {
    let first_block = start >> 32;
    let last_block = end.saturating_sub(1) >> 32;
    (first_block..=last_block)
        .map(move |block| {
            let from = start.max(block << 32);
            let to = end.min((block + 1) << 32);
            (block as u32, from as u32, to.saturating_sub(from))
        })
        .filter(|&(_, _, len)| len > 0)
}

/// The plain loop over samples `start .. end`: one hash and one test per sample.
pub fn scalar_range(start: u64, end: u64, seed_key: u32) -> u64 {
    let mut count = 0u64;
    for (block, first, len) in blocks(start, end) {
        let key = block_key(seed_key, block);
        for k in 0..len {
            let low = first.wrapping_add(k as u32);
            count += inside(lowbias32(low ^ key)) as u64;
        }
    }
    count
}

struct CountHits {
    start: u64,
    end: u64,
    seed_key: u32,
}

impl U32Kernel for CountHits {
    type Output = u64;
    #[inline(always)]
    fn run<S: U32Lanes>(self) -> u64 {
        // A plain loop, not an iterator adaptor: a closure is a function of its own, compiled
        // without the instruction set of the function that `dispatch_u32` calls, so the
        // intrinsics inlined into it would stay calls.
        let mut total = 0;
        for (block, first, len) in blocks(self.start, self.end) {
            total += count_block::<S>(first, len, block_key(self.seed_key, block));
        }
        total
    }
}

/// Hits among the `len` samples of one block from low index `first`, `LANES` at a time. One
/// u32 counter per lane cannot overflow: within a block the hashes are distinct (lowbias32 and
/// the xor with the key are bijections), so a block holds at most 3 373 259 248 hits (all 2^32
/// hashes, counted once) < 2^32.
#[inline(always)]
fn count_block<S: U32Lanes>(first: u32, len: u64, key: u32) -> u64 {
    let lanes = S::LANES as u64;
    let whole = len - len % lanes;
    let (key_v, step, one, low_half, zero) = (
        S::splat(key),
        S::splat(S::LANES as u32),
        S::splat(1),
        S::splat(0xffff),
        S::splat(0),
    );
    let (m1, m2) = (S::splat(0x7feb_352d), S::splat(0x846c_a68b));
    let mut index = S::iota().add(S::splat(first));
    let mut hits = zero;
    let mut done = 0;
    while done < whole {
        let mut h = index.xor(key_v);
        h = h.xor(h.shr(16)).mul_lo(m1);
        h = h.xor(h.shr(15)).mul_lo(m2);
        h = h.xor(h.shr(16));
        let a = h.shr(16).or(one);
        let b = h.and(low_half).or(one);
        hits = hits.increment(a.mul_lo(a).lt(zero.sub(b.mul_lo(b))));
        index = index.add(step);
        done += lanes;
    }
    let tail = (whole..len)
        .filter(|&k| inside(lowbias32(first.wrapping_add(k as u32) ^ key)))
        .count() as u64;
    hits.reduce_sum() + tail
}

/// Explicit SIMD over samples `start .. end` on one core.
pub fn simd_range(start: u64, end: u64, seed_key: u32) -> u64 {
    dispatch_u32(CountHits {
        start,
        end,
        seed_key,
    })
}

/// All cores of the current pool: the index range cut into one contiguous chunk per thread,
/// [`simd_range`] on each, the counts added (integers, so the order does not matter).
pub fn rayon_range(start: u64, end: u64, seed_key: u32) -> u64 {
    let threads = rayon::current_num_threads().max(1) as u64;
    let chunk = (end - start).div_ceil(threads).next_multiple_of(64).max(64);
    let chunks = (end - start).div_ceil(chunk);
    (0..chunks)
        .into_par_iter()
        .map(|c| {
            let from = start + c * chunk;
            simd_range(from, (from + chunk).min(end), seed_key)
        })
        .sum()
}

/// The independent reference: every sample tested on its own from its 64-bit index, in
/// parallel, with no blocking and no SIMD.
pub fn reference(n: u64, seed_key: u32) -> u64 {
    (0..n)
        .into_par_iter()
        .filter(|&i| sample_hits(i, seed_key))
        .count() as u64
}
