//! Chunked loops over the rayon pool that the `rayon` backends share.
//!
//! Memory-bound loops want one contiguous block per thread (like OpenMP's static schedule) and
//! blocks that start on a cache line, so chunks are `len / threads` rounded up to 16 elements.

use rayon::prelude::*;

/// Elements per chunk so that every thread of the current pool gets one aligned block.
pub fn chunk_len(len: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    len.div_ceil(threads).next_multiple_of(16).max(16)
}

/// Runs `body(out_chunk, a_chunk)` on matching chunks in parallel.
pub fn for_chunks1(out: &mut [f32], a: &[f32], body: impl Fn(&mut [f32], &[f32]) + Sync) {
    let chunk = chunk_len(out.len());
    out.par_chunks_mut(chunk)
        .zip(a.par_chunks(chunk))
        .for_each(|(o, a)| body(o, a));
}

/// Runs `body(out_chunk, a_chunk, b_chunk)` on matching chunks in parallel.
pub fn for_chunks2(
    out: &mut [f32],
    a: &[f32],
    b: &[f32],
    body: impl Fn(&mut [f32], &[f32], &[f32]) + Sync,
) {
    let chunk = chunk_len(out.len());
    out.par_chunks_mut(chunk)
        .zip(a.par_chunks(chunk))
        .zip(b.par_chunks(chunk))
        .for_each(|((o, a), b)| body(o, a, b));
}

/// Sums `body(a_chunk, b_chunk)` over matching chunks in parallel; the partial results are added
/// in f64 so the combination adds no error of its own.
pub fn sum_chunks2(a: &[f32], b: &[f32], body: impl Fn(&[f32], &[f32]) -> f32 + Sync) -> f32 {
    let chunk = chunk_len(a.len());
    a.par_chunks(chunk)
        .zip(b.par_chunks(chunk))
        .map(|(a, b)| body(a, b) as f64)
        .sum::<f64>() as f32
}
