//! Deterministic inputs: the same seed gives the same arrays on every machine and backend.
//!
//! Each value is a counter-based hash (SplitMix64) of (seed, stream, index), so arrays are made in
//! parallel, in any order, with no generator state to share.

use crate::cpu::AlignedVec;
use crate::cpu::parallel::chunk_len;
use rayon::prelude::*;

/// SplitMix64's finaliser: a good 64-bit mix of one counter.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The 64 random bits of element `index` of array `stream` under `seed`.
pub fn random_bits(seed: u64, stream: u64, index: u64) -> u64 {
    splitmix64(splitmix64(seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93)) ^ index)
}

/// A value uniform in [0, 1) with 24 random bits (exactly representable in f32).
pub fn unit_f32(bits: u64) -> f32 {
    (bits >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

/// `n` values uniform in [0, 1), made in parallel with the static partition the rayon kernels
/// use, so each thread first touches the pages it will later read.
pub fn uniform_f32(n: usize, seed: u64, stream: u64) -> AlignedVec<f32> {
    let mut values = AlignedVec::zeroed(n);
    let chunk = chunk_len(n);
    values
        .par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(index, part)| {
            let first = (index * chunk) as u64;
            for (offset, value) in part.iter_mut().enumerate() {
                *value = unit_f32(random_bits(seed, stream, first + offset as u64));
            }
        });
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_values_other_seed_other_values() {
        let a = uniform_f32(100_000, 7, 0);
        let b = uniform_f32(100_000, 7, 0);
        let c = uniform_f32(100_000, 8, 0);
        let d = uniform_f32(100_000, 7, 1);
        assert_eq!(&a[..], &b[..]);
        assert_ne!(&a[..], &c[..]);
        assert_ne!(&a[..], &d[..]);
        assert!(a.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = a.iter().map(|&x| x as f64).sum::<f64>() / a.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }
}
