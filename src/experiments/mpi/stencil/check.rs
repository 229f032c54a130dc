//! Rank 0's check of a distributed stencil run: the gathered field against one process doing
//! the same steps with the same slab code (bit for bit) and against the f64 reference (within
//! the catalogue stencil's bound).

use super::make_slab;
use crate::distributed::mpi::usable_cores;
use crate::distributed::timeloop::{Alone, Schedule, run_sample};
use crate::gpu::GpuContext;
use crate::kernels::Verification;
use crate::kernels::stencil::{self, error_bound, initial_rows};
use crate::kernels::verify::check_elements;
use serde::Serialize;

/// How the gathered field compared with one process doing the same steps.
#[derive(Debug, Clone, Serialize)]
pub struct StencilCheck {
    /// The whole field against the f64 reference within the catalogue stencil's bound.
    pub reference: Verification,
    /// Points that differ in any bit from the single-process run of the same backend
    /// (`None` when that run was not possible: a grid larger than one GPU binding).
    pub differing_points: Option<u64>,
    /// The residual agreed by the ranks equals the single process's, bit for bit.
    pub residual_equal: Option<bool>,
}

impl StencilCheck {
    /// Passed: within the bound, and equal to one process wherever that was run. Different
    /// hosts may use different SIMD widths, whose edge rows round differently, so bit equality
    /// is required only when every rank ran on one host.
    pub(super) fn passed(&self, one_host: bool) -> bool {
        self.reference.passed
            && (!one_host
                || (self.differing_points.unwrap_or(0) == 0 && self.residual_equal != Some(false)))
    }
}

/// What one process computes for a grid: the f64 reference with its bound, and the same
/// backend's own field and residual (`None` when it cannot run in one process: a grid larger
/// than one GPU binding). Strong scaling checks every rank count against the same one.
pub(super) struct OneProcess {
    pub(super) grid: (usize, usize),
    reference: Vec<f64>,
    allowed: f64,
    single: Option<(Vec<f32>, f32)>,
}

impl OneProcess {
    /// Rank 0 runs the steps in one process (the other ranks wait, asleep).
    pub(super) fn run(
        seed: u64,
        schedule: Schedule,
        context: Option<&GpuContext>,
        (grid_rows, columns): (usize, usize),
    ) -> OneProcess {
        let initial = initial_rows(grid_rows, columns, seed, 0..grid_rows);
        let scale = initial.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
        // The same backend in one process; the thread count changes no result, so use every
        // core this rank may run on.
        let single = make_slab(context, &initial, columns, usable_cores())
            .and_then(|mut slab| {
                let result = run_sample(slab.as_mut(), &Alone, schedule)?;
                Ok((slab.rows_now()?, result.residual))
            })
            .ok();
        OneProcess {
            grid: (grid_rows, columns),
            reference: stencil::reference(&initial, columns, schedule.steps),
            allowed: error_bound(schedule.steps, scale),
            single,
        }
    }

    /// Compares a gathered field and its agreed residual with this run.
    pub(super) fn compare(&self, field: &[f32], residual: f32) -> StencilCheck {
        let verification = check_elements(field, stencil::INFO.verification, |i| {
            (self.reference[i], self.allowed)
        });
        let (differing_points, residual_equal) = match &self.single {
            Some((expected, single_residual)) => (
                Some(
                    field
                        .iter()
                        .zip(expected)
                        .filter(|(a, b)| a.to_bits() != b.to_bits())
                        .count() as u64
                        + field.len().abs_diff(expected.len()) as u64,
                ),
                Some(residual.to_bits() == single_residual.to_bits()),
            ),
            None => (None, None),
        };
        StencilCheck {
            reference: verification,
            differing_points,
            residual_equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_on_root(
        seed: u64,
        schedule: Schedule,
        context: Option<&GpuContext>,
        grid: (usize, usize),
        field: &[f32],
        residual: f32,
    ) -> StencilCheck {
        OneProcess::run(seed, schedule, context, grid).compare(field, residual)
    }
    use crate::distributed::slab::{CpuSlab, Slab};

    /// The check is not vacuous: the field one process computes passes bit for bit, one changed
    /// bit is counted, and a wrong value fails the reference bound too.
    #[test]
    fn the_root_check_accepts_the_single_process_field_and_nothing_else() {
        let (grid, schedule, seed) = (
            (12, 9),
            Schedule {
                steps: 4,
                residual_every: 2,
            },
            5,
        );
        let initial = initial_rows(grid.0, grid.1, seed, 0..grid.0);
        let mut slab = CpuSlab::new(&initial, grid.1, 1).unwrap();
        let result = run_sample(&mut slab, &Alone, schedule).unwrap();
        let mut field = slab.rows_now().unwrap();

        let check = check_on_root(seed, schedule, None, grid, &field, result.residual);
        assert_eq!(check.differing_points, Some(0));
        assert_eq!(check.residual_equal, Some(true));
        assert!(check.reference.passed && check.passed(true));

        field[50] = f32::from_bits(field[50].to_bits() ^ 1);
        let check = check_on_root(seed, schedule, None, grid, &field, result.residual);
        assert_eq!(check.differing_points, Some(1));
        assert!(check.reference.passed, "one ulp is inside the bound");
        assert!(!check.passed(true) && check.passed(false));

        field[50] += 0.01;
        let check = check_on_root(seed, schedule, None, grid, &field, result.residual * 2.0);
        assert!(!check.reference.passed && !check.passed(false));
        assert_eq!(check.residual_equal, Some(false));
    }
}
