//! The task farm of `hpclab mpi farm`, without MPI: the Mandelbrot image cut into tasks of whole
//! rows, which worker computes which task under each static schedule, how a worker computes a
//! task (the catalogue's fractal row kernels), and the figures of a farm (load imbalance).
//! The MPI side (master, workers, messages) is `experiments::mpi::farm`.

use super::decomposition::slab_rows;
use crate::kernels::fractal::{Grid, cpu};
use std::ops::Range;

/// How the master hands out the tasks (`--schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FarmSchedule {
    /// Static: worker w gets the w-th contiguous block of tasks (rows of equal count, not of
    /// equal cost: the rows through the set cost the most).
    Blocks,
    /// Static: task t goes to worker t mod K, so every worker gets rows from every band.
    RoundRobin,
    /// Dynamic: each worker gets its next task when it sends a result back.
    Dynamic,
}

impl FarmSchedule {
    /// The name on the command line and in the tables.
    pub fn name(self) -> &'static str {
        match self {
            FarmSchedule::Blocks => "blocks",
            FarmSchedule::RoundRobin => "round-robin",
            FarmSchedule::Dynamic => "dynamic",
        }
    }

    /// The tasks each of `workers` workers computes, in order, for a static schedule; `None`
    /// for the dynamic one, which decides as results come back.
    pub fn assignment(self, tasks: usize, workers: usize) -> Option<Vec<Vec<usize>>> {
        let workers = workers.max(1);
        match self {
            FarmSchedule::Blocks => Some(
                (0..workers)
                    .map(|w| slab_rows(tasks, workers, w).collect())
                    .collect(),
            ),
            FarmSchedule::RoundRobin => Some(
                (0..workers)
                    .map(|w| (w..tasks).step_by(workers).collect())
                    .collect(),
            ),
            FarmSchedule::Dynamic => None,
        }
    }
}

/// How a worker computes the rows of a task (`--backend`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RowBackend {
    /// The plain loop on one core.
    Scalar,
    /// Explicit SIMD on one core.
    Simd,
    /// Every core the worker may use, one rayon task per row (SIMD inside).
    Rayon,
}

impl RowBackend {
    /// Rows `first_row ..` of `grid` into `out` (whole rows): the catalogue's fractal kernels, so
    /// that every backend gives the single-process image bit for bit.
    pub fn compute(self, grid: &Grid, first_row: usize, out: &mut [u32]) {
        match self {
            RowBackend::Scalar => cpu::scalar_rows(grid, first_row, out),
            RowBackend::Simd => cpu::simd_rows(grid, first_row, out),
            RowBackend::Rayon => cpu::rayon_rows_from(grid, first_row, out),
        }
    }
}

/// The rows of task `task` when an image of `image_rows` rows is cut into tasks of
/// `rows_per_task` rows (the last one shorter).
pub fn task_rows(task: usize, rows_per_task: usize, image_rows: usize) -> Range<usize> {
    let first = task * rows_per_task;
    first.min(image_rows)..(first + rows_per_task).min(image_rows)
}

/// Tasks in an image of `image_rows` rows cut into tasks of `rows_per_task` rows.
pub fn task_count(image_rows: usize, rows_per_task: usize) -> usize {
    image_rows.div_ceil(rows_per_task.max(1))
}

/// Load imbalance: the busiest worker's busy time over the mean (1 is perfect balance; the
/// schedule cannot end before its busiest worker).
pub fn imbalance(busy_s: &[f64]) -> f64 {
    let mean = busy_s.iter().sum::<f64>() / busy_s.len().max(1) as f64;
    let max = busy_s.iter().copied().fold(0.0, f64::max);
    if mean > 0.0 { max / mean } else { 1.0 }
}

/// The first pixel at which `image` differs from `reference` (both n × n, row-major), as
/// (row, column); `None` when they agree bit for bit.
pub fn first_difference(reference: &[u32], image: &[u32], n: usize) -> Option<(usize, usize)> {
    if reference.len() != image.len() {
        return Some((image.len().min(reference.len()) / n.max(1), 0));
    }
    reference
        .iter()
        .zip(image)
        .position(|(a, b)| a != b)
        .map(|i| (i / n.max(1), i % n.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::fractal::{DEFAULT_MAX_ITER, Set};

    #[test]
    fn every_static_schedule_gives_every_task_to_exactly_one_worker() {
        for schedule in [FarmSchedule::Blocks, FarmSchedule::RoundRobin] {
            for (tasks, workers) in [(10, 3), (2, 5), (64, 2), (1, 1)] {
                let assignment = schedule.assignment(tasks, workers).unwrap();
                assert_eq!(assignment.len(), workers);
                let mut all: Vec<usize> = assignment.concat();
                all.sort_unstable();
                assert_eq!(all, (0..tasks).collect::<Vec<_>>(), "{schedule:?}");
            }
        }
        let blocks = FarmSchedule::Blocks.assignment(7, 3).unwrap();
        assert_eq!(blocks, vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]]);
        let round_robin = FarmSchedule::RoundRobin.assignment(7, 3).unwrap();
        assert_eq!(round_robin, vec![vec![0, 3, 6], vec![1, 4], vec![2, 5]]);
        assert!(FarmSchedule::Dynamic.assignment(7, 3).is_none());
    }

    #[test]
    fn tasks_cover_the_image_once_the_last_one_shorter() {
        assert_eq!(task_count(10, 4), 3);
        let rows: Vec<Range<usize>> = (0..3).map(|t| task_rows(t, 4, 10)).collect();
        assert_eq!(rows, vec![0..4, 4..8, 8..10]);
        assert_eq!(task_count(10, 100), 1);
        assert_eq!(task_rows(0, 100, 10), 0..10);
    }

    /// The farm's check is exact: each backend's rows, computed task by task, equal the whole
    /// image computed at once; a row computed at the wrong y does not.
    #[test]
    fn rows_computed_task_by_task_equal_the_whole_image_bit_for_bit() {
        let n = 37;
        let grid = Grid::new(Set::Mandelbrot, n, DEFAULT_MAX_ITER);
        let mut whole = vec![0u32; n * n];
        cpu::simd(&grid, &mut whole);
        for backend in [RowBackend::Scalar, RowBackend::Simd, RowBackend::Rayon] {
            let mut image = vec![u32::MAX; n * n];
            for task in 0..task_count(n, 5) {
                let rows = task_rows(task, 5, n);
                backend.compute(&grid, rows.start, &mut image[rows.start * n..rows.end * n]);
            }
            assert_eq!(first_difference(&whole, &image, n), None, "{backend:?}");
        }
        let mut shifted = whole.clone();
        cpu::simd_rows(&grid, 11, &mut shifted[10 * n..11 * n]);
        assert_eq!(first_difference(&whole, &shifted, n).map(|d| d.0), Some(10));
    }

    #[test]
    fn imbalance_is_the_busiest_over_the_mean() {
        assert_eq!(imbalance(&[1.0, 1.0]), 1.0);
        assert_eq!(imbalance(&[3.0, 1.0]), 1.5);
        assert_eq!(imbalance(&[]), 1.0);
    }
}
