//! The time loop of one rank: every step exchanges the slab's edge rows with the ranks above and
//! below, then steps; every few steps the ranks agree on the residual (the largest change of the
//! step, a max-allreduce). Each part is timed apart, so the output shows where the time went.
//! One running clock cuts the sample into laps, so the phases add up to its whole time: what a
//! slab call spends beyond what it books to its own phase (a GPU's launch and wait around the
//! device's timestamps) is a phase of its own, `submit_wait_s`.

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
    /// The slab calls' time beyond what each booked to its phase: on the GPU, recording and
    /// submitting each pass, waiting for the device and reading its timestamps back (when the
    /// device has timestamps, `compute_s` is the device's own time); on the CPU only the calls'
    /// overhead. With it the phases add up to `total_s`. Default: documents from before it.
    #[serde(default)]
    pub submit_wait_s: f64,
}

impl RankPhases {
    /// Every phase but the total, added: `total_s` up to the clock's rounding.
    pub fn sum_of_phases(&self) -> f64 {
        self.load_s
            + self.compute_s
            + self.halo_exchange_s
            + self.halo_download_s
            + self.halo_upload_s
            + self.allreduce_s
            + self.submit_wait_s
    }
}

/// One clock for the whole sample: each lap runs from the end of the last, so no time between
/// two timed parts goes unbooked and the laps add up to the sample.
struct Laps {
    started: Instant,
    last: Instant,
}

impl Laps {
    fn start() -> Laps {
        let now = Instant::now();
        Laps {
            started: now,
            last: now,
        }
    }

    /// Seconds since the last lap (or the start).
    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let seconds = (now - self.last).as_secs_f64();
        self.last = now;
        seconds
    }

    /// Seconds from the start to the last lap: the sum of the laps.
    fn total(&self) -> f64 {
        (self.last - self.started).as_secs_f64()
    }
}

/// Books a slab call that took `lap` seconds and reported `reported` to its phase; the rest of
/// the lap (launching and waiting, on the GPU) to `submit_wait`.
fn book(phase: &mut f64, submit_wait: &mut f64, reported: f64, lap: f64) {
    let own = reported.clamp(0.0, lap);
    *phase += own;
    *submit_wait += lap - own;
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
    let mut clock = Laps::start();
    let sides = neighbours.sides();
    let mut phases = RankPhases::default();
    let load = slab.load_initial()?;
    book(
        &mut phases.load_s,
        &mut phases.submit_wait_s,
        load,
        clock.lap(),
    );
    let (mut residual, mut residual_count) = (f32::NAN, 0);
    for k in 1..=schedule.steps {
        if sides.any() {
            let download = slab.fetch_boundary(sides)?;
            book(
                &mut phases.halo_download_s,
                &mut phases.submit_wait_s,
                download,
                clock.lap(),
            );
            neighbours.exchange(slab.halo())?;
            phases.halo_exchange_s += clock.lap();
            let upload = slab.store_ghosts(sides)?;
            book(
                &mut phases.halo_upload_s,
                &mut phases.submit_wait_s,
                upload,
                clock.lap(),
            );
        }
        let step = slab.step()?;
        book(
            &mut phases.compute_s,
            &mut phases.submit_wait_s,
            step,
            clock.lap(),
        );
        if schedule.residual_after(k) {
            let (local, seconds) = slab.max_change()?;
            book(
                &mut phases.compute_s,
                &mut phases.submit_wait_s,
                seconds,
                clock.lap(),
            );
            residual = neighbours.max_all(local)?;
            phases.allreduce_s += clock.lap();
            residual_count += 1;
        }
    }
    phases.total_s = clock.total();
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

    /// A CPU slab whose step reports only half of its time, as a GPU slab reports the device's
    /// timestamps and not the launch and wait around them.
    struct HalfReported(CpuSlab);

    impl Slab for HalfReported {
        fn rows(&self) -> usize {
            self.0.rows()
        }
        fn columns(&self) -> usize {
            self.0.columns()
        }
        fn setup(&self) -> crate::distributed::slab::SlabSetup {
            self.0.setup()
        }
        fn load_initial(&mut self) -> Result<f64> {
            self.0.load_initial()
        }
        fn fetch_boundary(&mut self, sides: Sides) -> Result<f64> {
            self.0.fetch_boundary(sides)
        }
        fn halo(&mut self) -> Halo<'_> {
            self.0.halo()
        }
        fn store_ghosts(&mut self, sides: Sides) -> Result<f64> {
            self.0.store_ghosts(sides)
        }
        fn step(&mut self) -> Result<f64> {
            let started = Instant::now();
            self.0.step()?;
            std::thread::sleep(std::time::Duration::from_micros(300));
            Ok(started.elapsed().as_secs_f64() / 2.0)
        }
        fn max_change(&mut self) -> Result<(f32, f64)> {
            self.0.max_change()
        }
        fn rows_now(&mut self) -> Result<Vec<f32>> {
            self.0.rows_now()
        }
    }

    /// The phases add up to the sample's total within 2% (or a microsecond), and the half of
    /// each step the slab did not report is booked as submit-and-wait, not lost.
    fn assert_phases_add_up(phases: &RankPhases) {
        let (sum, total) = (phases.sum_of_phases(), phases.total_s);
        assert!(
            (sum - total).abs() <= 0.02 * total + 1e-6,
            "phases {sum} s against total {total} s: {phases:?}"
        );
        assert!(
            phases.submit_wait_s > 0.0 && phases.compute_s > 0.0,
            "{phases:?}"
        );
    }

    #[test]
    fn the_phases_add_up_to_the_total_with_submit_and_wait_booked() {
        let schedule = Schedule {
            steps: 6,
            residual_every: 2,
        };
        let (grid_rows, n) = (12, 16);
        let initial = initial_rows(grid_rows, n, 3, 0..grid_rows);
        let mut whole = HalfReported(CpuSlab::new(&initial, n, 1).unwrap());
        assert_phases_add_up(&run_sample(&mut whole, &Alone, schedule).unwrap().phases);
        let ranks = 2;
        let handles: Vec<_> = thread_ranks(ranks)
            .into_iter()
            .enumerate()
            .map(|(rank, neighbours)| {
                std::thread::spawn(move || {
                    let initial = initial_rows(grid_rows, n, 3, slab_rows(grid_rows, ranks, rank));
                    let mut slab = HalfReported(CpuSlab::new(&initial, n, 1).unwrap());
                    run_sample(&mut slab, &neighbours, schedule).unwrap().phases
                })
            })
            .collect();
        for handle in handles {
            let phases = handle.join().unwrap();
            assert_phases_add_up(&phases);
            assert!(phases.halo_exchange_s > 0.0 && phases.allreduce_s > 0.0);
        }
    }

    #[test]
    fn the_sum_of_phases_takes_every_phase_but_the_total() {
        let phases = RankPhases {
            load_s: 1.0,
            compute_s: 2.0,
            halo_exchange_s: 4.0,
            halo_download_s: 8.0,
            halo_upload_s: 16.0,
            allreduce_s: 32.0,
            submit_wait_s: 64.0,
            total_s: 1000.0,
        };
        assert_eq!(phases.sum_of_phases(), 127.0);
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
