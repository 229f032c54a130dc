//! The time loop of one rank: every step exchanges the slab's edge rows with the ranks above and
//! below, then steps; every few steps the ranks agree on the residual (the largest change of the
//! step, a max-allreduce). Each part is timed apart, so the output shows where the time went.

use super::slab::{Halo, Sides, Slab};
use crate::error::Result;
use std::time::Instant;

/// The other ranks, as the time loop sees them.
pub trait Neighbours {
    /// Which sides of this rank's slab have a neighbour.
    fn sides(&self) -> Sides;
    /// Sends `halo.first_row` to the rank above and `halo.last_row` to the rank below, and
    /// receives their edge rows into the ghost rows, for the sides that have a neighbour.
    fn exchange(&self, halo: Halo<'_>) -> Result<()>;
    /// The largest `local` over all ranks (a max-allreduce).
    fn max_all(&self, local: f32) -> Result<f32>;
}

/// A single process: no neighbours, the residual is its own.
pub struct Alone;

impl Neighbours for Alone {
    fn sides(&self) -> Sides {
        Sides::NONE
    }
    fn exchange(&self, _halo: Halo<'_>) -> Result<()> {
        Ok(())
    }
    fn max_all(&self, local: f32) -> Result<f32> {
        Ok(local)
    }
}

/// The steps and the residual schedule of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub steps: u32,
    /// The residual is computed and agreed after every `residual_every`-th step and after the
    /// last.
    pub residual_every: u32,
}

impl Schedule {
    /// True when step `k` (1-based) ends with a residual.
    pub fn residual_after(&self, k: u32) -> bool {
        k == self.steps || k.is_multiple_of(self.residual_every.max(1))
    }
}

/// The time one rank spent in each phase of one sample, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RankPhases {
    /// Loading the initial slab (the GPU's upload; 0 on the CPU).
    pub load_s: f64,
    /// The steps, and the local part of the residual.
    pub compute_s: f64,
    /// Sending and receiving edge rows, waiting for the neighbours included.
    pub halo_exchange_s: f64,
    /// GPU only: the edge rows from the device to the host.
    pub halo_download_s: f64,
    /// GPU only: the received rows from the host into the ghost rows.
    pub halo_upload_s: f64,
    /// The residual's max-allreduce, waiting for the slowest rank included.
    pub allreduce_s: f64,
    /// The whole sample on this rank.
    pub total_s: f64,
}

/// What one sample of the time loop produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopResult {
    pub phases: RankPhases,
    /// The residual agreed after the last step.
    pub residual: f32,
    /// How many residuals were agreed.
    pub residual_count: u32,
}

/// Runs one sample: loads the initial slab, then `schedule.steps` steps.
pub fn run_sample(
    slab: &mut dyn Slab,
    neighbours: &dyn Neighbours,
    schedule: Schedule,
) -> Result<LoopResult> {
    let started = Instant::now();
    let sides = neighbours.sides();
    let mut phases = RankPhases {
        load_s: slab.load_initial()?,
        ..RankPhases::default()
    };
    let (mut residual, mut residual_count) = (f32::NAN, 0);
    for k in 1..=schedule.steps {
        if sides.any() {
            phases.halo_download_s += slab.fetch_boundary(sides)?;
            let exchange_started = Instant::now();
            neighbours.exchange(slab.halo())?;
            phases.halo_exchange_s += exchange_started.elapsed().as_secs_f64();
            phases.halo_upload_s += slab.store_ghosts(sides)?;
        }
        phases.compute_s += slab.step()?;
        if schedule.residual_after(k) {
            let (local, seconds) = slab.max_change()?;
            phases.compute_s += seconds;
            let reduce_started = Instant::now();
            residual = neighbours.max_all(local)?;
            phases.allreduce_s += reduce_started.elapsed().as_secs_f64();
            residual_count += 1;
        }
    }
    phases.total_s = started.elapsed().as_secs_f64();
    Ok(LoopResult {
        phases,
        residual,
        residual_count,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::distributed::decomposition::slab_rows;
    use crate::distributed::slab::CpuSlab;
    use crate::kernels::stencil::initial_rows;
    use std::sync::mpsc::{Receiver, Sender, channel};
    use std::sync::{Arc, Barrier, Mutex};

    /// Ranks as threads, rows sent over channels: the decomposition and the halo logic tested
    /// without MPI.
    pub(crate) struct ThreadRank {
        to_above: Option<Sender<Vec<f32>>>,
        to_below: Option<Sender<Vec<f32>>>,
        from_above: Option<Receiver<Vec<f32>>>,
        from_below: Option<Receiver<Vec<f32>>>,
        maxima: Arc<(Mutex<Vec<f32>>, Barrier)>,
    }

    /// `ranks` connected thread ranks.
    pub(crate) fn thread_ranks(ranks: usize) -> Vec<ThreadRank> {
        let maxima = Arc::new((Mutex::new(Vec::new()), Barrier::new(ranks)));
        let mut list: Vec<ThreadRank> = (0..ranks)
            .map(|_| ThreadRank {
                to_above: None,
                to_below: None,
                from_above: None,
                from_below: None,
                maxima: Arc::clone(&maxima),
            })
            .collect();
        for r in 1..ranks {
            let (down_tx, down_rx) = channel();
            let (up_tx, up_rx) = channel();
            list[r - 1].to_below = Some(down_tx);
            list[r].from_above = Some(down_rx);
            list[r].to_above = Some(up_tx);
            list[r - 1].from_below = Some(up_rx);
        }
        list
    }

    impl Neighbours for ThreadRank {
        fn sides(&self) -> Sides {
            Sides {
                above: self.to_above.is_some(),
                below: self.to_below.is_some(),
            }
        }
        fn exchange(&self, halo: Halo<'_>) -> Result<()> {
            if let Some(tx) = &self.to_above {
                tx.send(halo.first_row.to_vec()).unwrap();
            }
            if let Some(tx) = &self.to_below {
                tx.send(halo.last_row.to_vec()).unwrap();
            }
            if let Some(rx) = &self.from_above {
                halo.ghost_above.copy_from_slice(&rx.recv().unwrap());
            }
            if let Some(rx) = &self.from_below {
                halo.ghost_below.copy_from_slice(&rx.recv().unwrap());
            }
            Ok(())
        }
        fn max_all(&self, local: f32) -> Result<f32> {
            let (values, barrier) = &*self.maxima;
            values.lock().unwrap().push(local);
            barrier.wait();
            let max = values.lock().unwrap().iter().copied().fold(0.0, f32::max);
            barrier.wait();
            if barrier.wait().is_leader() {
                values.lock().unwrap().clear();
            }
            barrier.wait();
            Ok(max)
        }
    }

    /// Runs the decomposed loop on `ranks` thread ranks and returns the joined field and the
    /// residual of every rank.
    pub(crate) fn decomposed(
        grid_rows: usize,
        n: usize,
        ranks: usize,
        schedule: Schedule,
    ) -> (Vec<f32>, Vec<f32>) {
        let handles: Vec<_> = thread_ranks(ranks)
            .into_iter()
            .enumerate()
            .map(|(rank, neighbours)| {
                std::thread::spawn(move || {
                    let rows = slab_rows(grid_rows, ranks, rank);
                    let initial = initial_rows(grid_rows, n, 3, rows);
                    let mut slab = CpuSlab::new(&initial, n, 1).unwrap();
                    let result = run_sample(&mut slab, &neighbours, schedule).unwrap();
                    (slab.rows_now().unwrap(), result.residual)
                })
            })
            .collect();
        let mut field = Vec::new();
        let mut residuals = Vec::new();
        for handle in handles {
            let (rows, residual) = handle.join().unwrap();
            field.extend(rows);
            residuals.push(residual);
        }
        (field, residuals)
    }

    #[test]
    fn a_decomposed_run_equals_the_single_process_run_bit_for_bit() {
        let schedule = Schedule {
            steps: 9,
            residual_every: 4,
        };
        for (grid_rows, n, ranks) in [(20, 20, 2), (23, 17, 3), (12, 5, 4), (4, 31, 4)] {
            let initial = initial_rows(grid_rows, n, 3, 0..grid_rows);
            let mut whole = CpuSlab::new(&initial, n, 1).unwrap();
            let single = run_sample(&mut whole, &Alone, schedule).unwrap();
            assert_eq!(single.residual_count, 3); // after steps 4, 8 and 9
            let expected = whole.rows_now().unwrap();
            let (field, residuals) = decomposed(grid_rows, n, ranks, schedule);
            assert_eq!(field.len(), expected.len());
            let differing = field
                .iter()
                .zip(&expected)
                .filter(|(a, b)| a.to_bits() != b.to_bits())
                .count();
            assert_eq!(differing, 0, "{grid_rows}×{n} on {ranks} ranks");
            assert!(
                residuals
                    .iter()
                    .all(|r| r.to_bits() == single.residual.to_bits())
            );
        }
    }

    #[test]
    fn without_the_exchange_the_slabs_drift_apart() {
        // The test above would pass vacuously if the halo did not matter: check that skipping it
        // changes the field.
        let (grid_rows, n, schedule) = (
            16,
            16,
            Schedule {
                steps: 5,
                residual_every: 5,
            },
        );
        let mut isolated = Vec::new();
        for rank in 0..2 {
            let initial = initial_rows(grid_rows, n, 3, slab_rows(grid_rows, 2, rank));
            let mut slab = CpuSlab::new(&initial, n, 1).unwrap();
            run_sample(&mut slab, &Alone, schedule).unwrap();
            isolated.extend(slab.rows_now().unwrap());
        }
        let (exchanged, _) = decomposed(grid_rows, n, 2, schedule);
        assert_ne!(isolated, exchanged);
    }

    #[test]
    fn the_residual_schedule_includes_the_last_step() {
        let schedule = Schedule {
            steps: 10,
            residual_every: 4,
        };
        let due: Vec<u32> = (1..=10).filter(|&k| schedule.residual_after(k)).collect();
        assert_eq!(due, vec![4, 8, 10]);
    }
}
