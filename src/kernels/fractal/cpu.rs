//! The CPU backends of the escape-time kernels: the plain loop, the SIMD loop (a register of
//! pixels iterates together under a mask) and two rayon schedules over rows.

use super::Grid;
use crate::cpu::simd::{F32Lanes, MAX_LANES, SimdKernel, dispatch};
use rayon::prelude::*;

/// The escape count of one point: the plain loop of [`super::ITERATION`].
#[inline(always)]
fn escape_count(z: (f32, f32), c: (f32, f32), max_iter: u32) -> u32 {
    let (mut x, mut y) = z;
    let mut count = 0;
    while count < max_iter {
        let x2 = x * x;
        let y2 = y * y;
        if x2 + y2 > 4.0 {
            break;
        }
        let xy = x * y;
        x = x2 - y2 + c.0;
        y = xy + xy + c.1;
        count += 1;
    }
    count
}

/// The plain loop on one core, pixel after pixel.
pub fn scalar(grid: &Grid, out: &mut [u32]) {
    scalar_rows(grid, 0, out)
}

/// Rows starting at `first_row`, as many as `out` holds, with the plain loop on one core.
pub fn scalar_rows(grid: &Grid, first_row: usize, out: &mut [u32]) {
    for (r, line) in out.chunks_mut(grid.n).enumerate() {
        let y = grid.y(first_row + r);
        for (col, count) in line.iter_mut().enumerate() {
            let (z, c) = grid.start(grid.x(col), y);
            *count = escape_count(z, c, grid.max_iter);
        }
    }
}

/// Escape counts of `K` registers of points at once, as f32 (exact: counts ≤ 10^6 < 2^24).
///
/// Every lane runs the same operations as [`escape_count`]. A lane is active while
/// x² + y² ≤ 4; its count grows only while it is active. An escaped lane is frozen (its x and y
/// are kept, not updated), so it stays escaped: without that, an escaped orbit would run on to
/// infinity and NaN, where the comparison happens to stay false, but the mask would rest on that
/// accident. The loop ends when no lane of any register is active, or at the cap: the group
/// costs as much as its slowest pixel (divergence).
///
/// Why `K` registers: one iteration is a chain of three dependent operations (x², then
/// x² − y², then adding cx), so one register keeps the core waiting on latency; `K`
/// independent chains fill the gaps, at the price of a larger group that waits for its slowest
/// pixel.
#[inline(always)]
fn escape_counts<S: F32Lanes, const K: usize>(
    z: [(S, S); K],
    c: [(S, S); K],
    max_iter: u32,
) -> [S; K] {
    let mut x = z.map(|z| z.0);
    let mut y = z.map(|z| z.1);
    let (four, one) = (S::splat(4.0), S::splat(1.0));
    let mut count = [S::splat(0.0); K];
    for _ in 0..max_iter {
        let mut any = false;
        for k in 0..K {
            let x2 = x[k].mul(x[k]);
            let y2 = y[k].mul(y[k]);
            let active = x2.add(y2).le(four);
            any |= S::any(active);
            count[k] = S::select(active, count[k].add(one), count[k]);
            let xy = x[k].mul(y[k]);
            x[k] = S::select(active, x2.sub(y2).add(c[k].0), x[k]);
            y[k] = S::select(active, xy.add(xy).add(c[k].1), y[k]);
        }
        if !any {
            break;
        }
    }
    count
}

/// Registers of pixels iterated together by the SIMD loop (see [`escape_counts`]): enough
/// independent chains to hide the latency of one iteration; more make larger groups that wait
/// longer for their slowest pixel (divergence), so the gain flattens.
pub const REGISTERS: usize = 3;

/// Rows `first_row ..` of the image (as many as `out` holds) with explicit SIMD.
struct SimdRows<'a> {
    grid: &'a Grid,
    first_row: usize,
    out: &'a mut [u32],
}

impl SimdKernel for SimdRows<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        let grid = self.grid;
        let (a, step) = (S::splat(grid.a), S::splat(grid.step_x));
        let group = REGISTERS * S::LANES;
        for (r, line) in self.out.chunks_mut(grid.n).enumerate() {
            let y = S::splat(grid.y(self.first_row + r));
            // The last group of a row may reach past its end: those lanes compute points just
            // right of the window and are not stored.
            for first in (0..grid.n).step_by(group) {
                let points: [(S, S); REGISTERS] = std::array::from_fn(|k| {
                    // Column numbers are small integers, exact in f32, so this is the scalar
                    // (col + a)·step_x lane by lane.
                    let col = S::iota().add(S::splat((first + k * S::LANES) as f32));
                    (col.add(a).mul(step), y)
                });
                let (z, c) = match grid.set {
                    super::Set::Mandelbrot => {
                        let zero = S::splat(0.0);
                        ([(zero, zero); REGISTERS], points)
                    }
                    super::Set::Julia => {
                        let (re, im) = grid.c;
                        (points, [(S::splat(re), S::splat(im)); REGISTERS])
                    }
                };
                let counts = escape_counts(z, c, grid.max_iter);
                let mut lanes = [0.0f32; REGISTERS * MAX_LANES];
                for (k, count) in counts.iter().enumerate() {
                    // SAFETY: `lanes` holds REGISTERS · MAX_LANES >= (k + 1) · LANES values.
                    unsafe { count.store(lanes.as_mut_ptr().add(k * S::LANES)) };
                }
                for (out, &count) in line[first..].iter_mut().zip(&lanes[..group]) {
                    *out = count as u32;
                }
            }
        }
    }
}

/// Rows starting at `first_row`, as many as `out` holds, with the widest SIMD set on this core.
pub fn simd_rows(grid: &Grid, first_row: usize, out: &mut [u32]) {
    dispatch(SimdRows {
        grid,
        first_row,
        out,
    })
}

/// The whole image with explicit SIMD on one core.
pub fn simd(grid: &Grid, out: &mut [u32]) {
    simd_rows(grid, 0, out)
}

/// Every core of the current pool, one task per row (SIMD inside). Rows near the set cost up to
/// `max_iter` iterations per pixel and rows far from it a handful, so a static split leaves some
/// threads idle; with one task per row, an idle thread steals the next row from a busy one.
pub fn rayon_rows(grid: &Grid, out: &mut [u32]) {
    rayon_rows_from(grid, 0, out)
}

/// Rows starting at `first_row`, as many as `out` holds, one rayon task per row (SIMD inside).
pub fn rayon_rows_from(grid: &Grid, first_row: usize, out: &mut [u32]) {
    out.par_chunks_mut(grid.n)
        .enumerate()
        .with_max_len(1)
        .for_each(|(r, line)| simd_rows(grid, first_row + r, line));
}

/// Every core of the current pool, one contiguous block of rows per thread (a static
/// schedule, for comparison with [`rayon_rows`]).
pub fn rayon_blocks(grid: &Grid, out: &mut [u32]) {
    let threads = rayon::current_num_threads().max(1);
    let rows = grid.n.div_ceil(threads);
    out.par_chunks_mut(rows * grid.n)
        .enumerate()
        .with_max_len(1)
        .for_each(|(block, part)| simd_rows(grid, block * rows, part));
}
