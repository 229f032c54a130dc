//! The stencil on the CPU: the plain loop, explicit SIMD along the rows, rows in parallel, and the
//! f64 reference.
//!
//! Every backend computes a row from three input rows (above, the row itself, below; a row of
//! zeros stands in beyond the grid). The two edge points of a row have a zero neighbour on one
//! side, so they are computed apart and the interior is one straight loop.

use super::{DIFFUSION, Field, step_fields};
use crate::cpu::simd::{F32Lanes, SimdKernel, dispatch};
use rayon::prelude::*;

/// One point of one step, in plain f32 (no FMA).
#[inline(always)]
fn point(centre: f32, left: f32, right: f32, up: f32, down: f32) -> f32 {
    let laplacian = (left + right) + (up + down) - 4.0 * centre;
    centre + DIFFUSION * laplacian
}

/// The three input rows of output row `i` of a field of rows of `n` points (`src.len() / n`
/// rows: the square grid, or a slab with its ghost rows): above, itself, below.
#[inline(always)]
fn rows_around<'a>(
    src: &'a [f32],
    zeros: &'a [f32],
    n: usize,
    i: usize,
) -> (&'a [f32], &'a [f32], &'a [f32]) {
    let rows = src.len() / n;
    let up = if i > 0 {
        &src[(i - 1) * n..i * n]
    } else {
        zeros
    };
    let down = if i + 1 < rows {
        &src[(i + 1) * n..(i + 2) * n]
    } else {
        zeros
    };
    (up, &src[i * n..(i + 1) * n], down)
}

/// The edge points of a row (left and right neighbours outside the grid read 0); returns false
/// when the row is a single point and there is no interior.
#[inline(always)]
fn edges(up: &[f32], row: &[f32], down: &[f32], out: &mut [f32]) -> bool {
    let n = row.len();
    if n == 1 {
        out[0] = point(row[0], 0.0, 0.0, up[0], down[0]);
        return false;
    }
    out[0] = point(row[0], 0.0, row[1], up[0], down[0]);
    out[n - 1] = point(row[n - 1], row[n - 2], 0.0, up[n - 1], down[n - 1]);
    true
}

/// One row with the plain loop.
fn scalar_row(up: &[f32], row: &[f32], down: &[f32], out: &mut [f32]) {
    let n = row.len();
    assert!(up.len() == n && down.len() == n && out.len() == n);
    if edges(up, row, down, out) {
        for j in 1..n - 1 {
            out[j] = point(row[j], row[j - 1], row[j + 1], up[j], down[j]);
        }
    }
}

/// Output rows `first_row ..` (as many as `out` holds) of one step, SIMD along each row. `src`
/// is a whole field of `src.len() / n` rows.
struct StepRows<'a> {
    src: &'a [f32],
    out: &'a mut [f32],
    zeros: &'a [f32],
    n: usize,
    first_row: usize,
}

impl SimdKernel for StepRows<'_> {
    type Output = ();
    #[inline(always)]
    fn run<S: F32Lanes>(self) {
        let n = self.n;
        let (four, diffusion) = (S::splat(-4.0), S::splat(DIFFUSION));
        for (offset, out) in self.out.chunks_exact_mut(n).enumerate() {
            let (up, row, down) = rows_around(self.src, self.zeros, n, self.first_row + offset);
            assert!(up.len() == n && row.len() == n && down.len() == n);
            if !edges(up, row, down, out) {
                continue;
            }
            // Interior points j in 1 .. n-1: a register at j reads row[j-1 .. j+LANES+1].
            let mut j = 1;
            while j + S::LANES < n {
                // SAFETY: j >= 1 and j + LANES <= n - 1, so j-1 .. j+LANES+1 lies inside
                // `row`, and j .. j+LANES inside `up`, `down` and `out` (all of length n).
                unsafe {
                    let centre = S::load(row.as_ptr().add(j));
                    let sides =
                        S::load(row.as_ptr().add(j - 1)).add(S::load(row.as_ptr().add(j + 1)));
                    let vertical = S::load(up.as_ptr().add(j)).add(S::load(down.as_ptr().add(j)));
                    let laplacian = centre.mul_add(four, sides.add(vertical));
                    laplacian
                        .mul_add(diffusion, centre)
                        .store(out.as_mut_ptr().add(j));
                }
                j += S::LANES;
            }
            for j in j..n - 1 {
                out[j] = point(row[j], row[j - 1], row[j + 1], up[j], down[j]);
            }
        }
    }
}

/// Runs `steps` steps from `initial`, alternating `output` and `scratch` so that the last step
/// writes `output`; `step(src, dst)` computes one whole step.
fn run_steps(
    initial: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    steps: u32,
    mut step: impl FnMut(&[f32], &mut [f32]),
) {
    for k in 1..=steps {
        match step_fields(k, steps) {
            (Field::Initial, Field::Output) => step(initial, output),
            (Field::Initial, Field::Scratch) => step(initial, scratch),
            (Field::Scratch, Field::Output) => step(scratch, output),
            (Field::Output, Field::Scratch) => step(output, scratch),
            fields => unreachable!("no step goes {fields:?}"),
        }
    }
}

/// The plain loop: `steps` steps on one core. `zeros` is a row of n zeros.
pub fn scalar(
    initial: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    n: usize,
    steps: u32,
    zeros: &[f32],
) {
    run_steps(initial, output, scratch, steps, |src, dst| {
        for (i, out) in dst.chunks_exact_mut(n).enumerate() {
            let (up, row, down) = rows_around(src, zeros, n, i);
            scalar_row(up, row, down, out);
        }
    });
}

/// Explicit SIMD along the rows on one core (edges scalar).
pub fn simd(
    initial: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    n: usize,
    steps: u32,
    zeros: &[f32],
) {
    run_steps(initial, output, scratch, steps, |src, out| {
        dispatch(StepRows {
            src,
            out,
            zeros,
            n,
            first_row: 0,
        })
    });
}

/// Rows in parallel on the current pool (SIMD inside each band of rows); the steps stay in
/// order, each a parallel loop that ends before the next begins.
pub fn rayon(
    initial: &[f32],
    output: &mut [f32],
    scratch: &mut [f32],
    n: usize,
    steps: u32,
    zeros: &[f32],
) {
    run_steps(initial, output, scratch, steps, |src, dst| {
        step_rows_parallel(src, dst, n, 0, zeros)
    });
}

/// One step of output rows `first_row ..` (as many as `out` holds) of the field `src` (rows of
/// `n` points; `zeros` stands in beyond its first and last row), in bands of rows on the
/// current rayon pool, SIMD inside each band. The catalogue's `rayon` backend runs it on the
/// whole grid; the distributed stencil on one rank's slab, whose ghost rows are part of `src`.
pub fn step_rows_parallel(src: &[f32], out: &mut [f32], n: usize, first_row: usize, zeros: &[f32]) {
    // A few bands per thread, so that a thread slowed by another process is helped out.
    let bands = ::rayon::current_num_threads().max(1) * 4;
    let rows_per_band = (out.len() / n.max(1)).div_ceil(bands).max(1);
    out.par_chunks_mut(rows_per_band * n)
        .enumerate()
        .for_each(|(band, out)| {
            dispatch(StepRows {
                src,
                out,
                zeros,
                n,
                first_row: first_row + band * rows_per_band,
            })
        });
}

/// The reference: the same steps in f64 from the same f32 field and the same (f32) D, rows in
/// parallel. The field has rows of `n` points, `initial.len() / n` of them (n × n for the
/// catalogue; the distributed stencil's weak scaling uses taller grids).
pub fn reference(initial: &[f32], n: usize, steps: u32) -> Vec<f64> {
    let d = DIFFUSION as f64;
    let rows = initial.len() / n.max(1);
    let at = |field: &[f64], i: usize, j: usize| field[i * n + j];
    let mut current: Vec<f64> = initial.iter().map(|&v| v as f64).collect();
    let mut next = vec![0.0f64; initial.len()];
    for _ in 0..steps {
        next.par_chunks_mut(n.max(1))
            .enumerate()
            .for_each(|(i, out)| {
                for (j, value) in out.iter_mut().enumerate() {
                    let centre = at(&current, i, j);
                    let left = if j > 0 { at(&current, i, j - 1) } else { 0.0 };
                    let right = if j + 1 < n {
                        at(&current, i, j + 1)
                    } else {
                        0.0
                    };
                    let up = if i > 0 { at(&current, i - 1, j) } else { 0.0 };
                    let down = if i + 1 < rows {
                        at(&current, i + 1, j)
                    } else {
                        0.0
                    };
                    *value = centre + d * ((left + right) + (up + down) - 4.0 * centre);
                }
            });
        std::mem::swap(&mut current, &mut next);
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A single hot point spreads to its four neighbours by exactly D each step, and the rim
    /// loses heat: checks the formula, not only agreement between backends.
    #[test]
    fn one_step_from_a_point_matches_the_formula() {
        let n = 5;
        let mut initial = vec![0.0f32; n * n];
        initial[2 * n + 2] = 1.0;
        let zeros = vec![0.0f32; n];
        let reference = reference(&initial, n, 1);
        let d = DIFFUSION as f64;
        assert!((reference[2 * n + 2] - (1.0 - 4.0 * d)).abs() < 1e-15);
        assert!((reference[n + 2] - d).abs() < 1e-15);
        assert_eq!(reference[0], 0.0);
        type Backend = fn(&[f32], &mut [f32], &mut [f32], usize, u32, &[f32]);
        for backend in [scalar as Backend, simd, rayon] {
            let (mut out, mut scratch) = (vec![f32::NAN; n * n], vec![0.0; n * n]);
            backend(&initial, &mut out, &mut scratch, n, 1, &zeros);
            for (got, want) in out.iter().zip(&reference) {
                assert!((*got as f64 - want).abs() < 1e-7, "{got} vs {want}");
            }
        }
    }
}
