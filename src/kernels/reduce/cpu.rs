//! The sum of n f32 on the CPU, four ways: one accumulator in order, pairwise, SIMD
//! accumulators, and chunks on all cores.

use crate::cpu::parallel::chunk_len;
use crate::cpu::simd::{F32Lanes, SimdKernel, dispatch};
use rayon::prelude::*;

/// The plain loop: one f32 accumulator, strict order. The compiler may not reorder float adds,
/// so this is one dependent add per element; and once the accumulator is large, each small
/// element loses most of its bits (above 2^24, adding anything below 1 changes nothing).
pub fn sequential(x: &[f32]) -> f32 {
    let mut sum = 0.0f32;
    for &value in x {
        sum += value;
    }
    sum
}

/// Elements summed in order at the bottom of [`pairwise`] (numpy uses 128 too).
pub const PAIRWISE_BLOCK: usize = 128;

/// Recursive halving down to blocks of [`PAIRWISE_BLOCK`], each summed in order: an element
/// passes through at most `PAIRWISE_BLOCK + ⌈log2(n / PAIRWISE_BLOCK)⌉` roundings instead of n.
pub fn pairwise(x: &[f32]) -> f32 {
    if x.len() <= PAIRWISE_BLOCK {
        return sequential(x);
    }
    let (left, right) = x.split_at(x.len() / 2);
    pairwise(left) + pairwise(right)
}

/// Vector accumulators kept in flight by [`simd`]: enough to cover the add latency of two add
/// units (4 cycles × 2), so the loop is limited by loads, not by the dependency chain.
pub const ACCUMULATORS: usize = 8;

struct Accumulators<'a>(&'a [f32]);

impl SimdKernel for Accumulators<'_> {
    type Output = f32;
    #[inline(always)]
    fn run<S: F32Lanes>(self) -> f32 {
        let x = self.0;
        let step = ACCUMULATORS * S::LANES;
        let whole = x.len() - x.len() % step;
        let mut sums = [S::splat(0.0); ACCUMULATORS];
        let mut i = 0;
        while i < whole {
            for (k, sum) in sums.iter_mut().enumerate() {
                // SAFETY: i + (k + 1)·LANES <= whole <= len.
                *sum = sum.add(unsafe { S::load(x.as_ptr().add(i + k * S::LANES)) });
            }
            i += step;
        }
        let mut total = sums[0];
        for sum in &sums[1..] {
            total = total.add(*sum);
        }
        total.reduce_sum() + sequential(&x[whole..])
    }
}

/// [`ACCUMULATORS`] vector accumulators on one core: `ACCUMULATORS × lanes` interleaved sums of
/// about n / (8·lanes) elements each, then added together, then the tail in order.
pub fn simd(x: &[f32]) -> f32 {
    dispatch(Accumulators(x))
}

/// All cores of the current pool: one contiguous chunk per thread summed by [`simd`], the
/// chunk sums added in f64 and rounded to f32 once.
pub fn rayon(x: &[f32]) -> f32 {
    let chunk = chunk_len(x.len());
    x.par_chunks(chunk).map(|c| simd(c) as f64).sum::<f64>() as f32
}
