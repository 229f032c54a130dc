//! One rank's share of the diffusion grid: its rows, with a ghost row above and a ghost row
//! below that hold the neighbours' edge rows (or zeros at the edge of the whole grid, which is
//! the stencil's Dirichlet rim), in two buffers that the steps use in turn.
//!
//! [`Slab`] is what the time loop needs from a slab whatever holds it; [`CpuSlab`] runs the
//! catalogue stencil's own row kernel (`kernels::stencil::step_rows_parallel`) on its rows, so a
//! slab computes exactly the values the single-process stencil computes for the same rows.

use crate::cpu::AlignedVec;
use crate::error::{Error, Result};
use crate::kernels::stencil::step_rows_parallel;
use std::time::Instant;

/// Where the ranks step their slabs (`hpclab mpi stencil --backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MpiBackend {
    /// Each rank steps its slab on its own rayon pool (SIMD inside).
    Rayon,
    /// Each rank steps its slab on a GPU; edge rows go device → host → MPI → host → device.
    Gpu,
}

/// Which ghost rows have a neighbour behind them (the others stay zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    pub above: bool,
    pub below: bool,
}

impl Sides {
    /// Neither side: a slab that is the whole grid.
    pub const NONE: Sides = Sides {
        above: false,
        below: false,
    };

    /// True when there is at least one neighbour.
    pub fn any(self) -> bool {
        self.above || self.below
    }
}

/// Host views of the rows one step exchanges, all `n` points long.
pub struct Halo<'a> {
    /// The slab's first row: sent to the rank above.
    pub first_row: &'a [f32],
    /// The slab's last row: sent to the rank below.
    pub last_row: &'a [f32],
    /// Filled with the last row of the rank above.
    pub ghost_above: &'a mut [f32],
    /// Filled with the first row of the rank below.
    pub ghost_below: &'a mut [f32],
}

/// One-time costs of setting a slab up, seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SlabSetup {
    /// Compiling the shaders (GPU).
    pub shader_compile_s: f64,
    /// Allocating the fields (and, on the GPU, their buffers and bind groups).
    pub buffers_s: f64,
}

/// A slab of rows that steps the diffusion and exchanges its edge rows.
///
/// One step of the time loop is: `fetch_boundary`, the exchange through `halo`,
/// `store_ghosts`, `step`. Every method returns the seconds it spent, which the loop books to
/// its phase.
pub trait Slab {
    /// Rows the slab owns (ghost rows not counted).
    fn rows(&self) -> usize;
    /// Points per row.
    fn columns(&self) -> usize;
    /// One-time set-up costs.
    fn setup(&self) -> SlabSetup;
    /// Puts the initial rows back into the current field (every sample starts from them);
    /// returns the seconds (the GPU uploads the slab: its `upload` phase).
    fn load_initial(&mut self) -> Result<f64>;
    /// Makes the first and last rows available on the host for the sides that have a
    /// neighbour; returns the seconds (the GPU downloads them; nothing to do on the CPU).
    fn fetch_boundary(&mut self, sides: Sides) -> Result<f64>;
    /// The rows to send and the ghost rows to fill. The rows to send are current only for the
    /// sides the last [`Slab::fetch_boundary`] asked for.
    fn halo(&mut self) -> Halo<'_>;
    /// Puts the ghost rows filled through [`Slab::halo`] where the next step reads them, for
    /// the sides that have a neighbour; returns the seconds (the GPU uploads them).
    fn store_ghosts(&mut self, sides: Sides) -> Result<f64>;
    /// One time step of every row; returns the compute seconds.
    fn step(&mut self) -> Result<f64>;
    /// The largest |u − u_previous| over the slab's rows after the last step (the residual of
    /// the time loop: exact in f32, so the same in any decomposition), and the seconds it took.
    fn max_change(&mut self) -> Result<(f32, f64)>;
    /// The slab's rows after the last step, row-major (the GPU downloads them).
    fn rows_now(&mut self) -> Result<Vec<f32>>;
    /// Bytes of the two f32 fields the steps read and write in turn, ghost rows included: the
    /// working set whose cache level a rank's step speed depends on (the initial rows, read once
    /// per sample, are left out).
    fn working_set_bytes(&self) -> u64 {
        2 * (self.rows() as u64 + 2) * self.columns() as u64 * 4
    }
}

/// A slab in host memory, stepped on a rayon pool of its own.
pub struct CpuSlab {
    n: usize,
    rows: usize,
    initial: AlignedVec<f32>,
    /// The field the next step reads, with its ghost rows: (rows + 2) × n.
    current: AlignedVec<f32>,
    /// The field the next step writes; its ghost rows stay zero.
    next: AlignedVec<f32>,
    zeros: AlignedVec<f32>,
    pool: rayon::ThreadPool,
    setup: SlabSetup,
}

impl CpuSlab {
    /// A slab of `initial.len() / n` rows of `n` points, stepped by `threads` threads.
    pub fn new(initial: &[f32], n: usize, threads: usize) -> Result<CpuSlab> {
        let started = Instant::now();
        if n == 0 || initial.is_empty() || !initial.len().is_multiple_of(n) {
            return Err(Error::usage(format!(
                "a slab needs whole rows: {} points are not rows of {n}",
                initial.len()
            )));
        }
        let rows = initial.len() / n;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .thread_name(|i| format!("hpclab-slab-{i}"))
            .build()
            .map_err(|e| Error::usage(format!("cannot start {threads} threads: {e}")))?;
        let mut initial_copy = AlignedVec::zeroed(initial.len());
        initial_copy.copy_from_slice(initial);
        let slab = CpuSlab {
            n,
            rows,
            initial: initial_copy,
            current: AlignedVec::zeroed((rows + 2) * n),
            next: AlignedVec::zeroed((rows + 2) * n),
            zeros: AlignedVec::zeroed(n),
            pool,
            setup: SlabSetup::default(),
        };
        Ok(CpuSlab {
            setup: SlabSetup {
                shader_compile_s: 0.0,
                buffers_s: started.elapsed().as_secs_f64(),
            },
            ..slab
        })
    }

    fn interior(field: &[f32], n: usize, rows: usize) -> &[f32] {
        &field[n..(rows + 1) * n]
    }
}

impl Slab for CpuSlab {
    fn rows(&self) -> usize {
        self.rows
    }

    fn columns(&self) -> usize {
        self.n
    }

    fn setup(&self) -> SlabSetup {
        self.setup
    }

    fn load_initial(&mut self) -> Result<f64> {
        let (n, rows) = (self.n, self.rows);
        self.current[n..(rows + 1) * n].copy_from_slice(&self.initial);
        // The ghost rows start at zero; a neighbour's rows arrive before the first step.
        self.current[..n].fill(0.0);
        self.current[(rows + 1) * n..].fill(0.0);
        Ok(0.0)
    }

    fn fetch_boundary(&mut self, _sides: Sides) -> Result<f64> {
        Ok(0.0) // the rows are in host memory already: sent from where they lie
    }

    fn halo(&mut self) -> Halo<'_> {
        let (n, rows) = (self.n, self.rows);
        let (ghost_above, rest) = self.current.split_at_mut(n);
        let (interior, ghost_below) = rest.split_at_mut(rows * n);
        let interior: &[f32] = interior;
        Halo {
            first_row: &interior[..n],
            last_row: &interior[(rows - 1) * n..],
            ghost_above,
            ghost_below,
        }
    }

    fn store_ghosts(&mut self, _sides: Sides) -> Result<f64> {
        Ok(0.0) // received straight into the ghost rows
    }

    fn step(&mut self) -> Result<f64> {
        let started = Instant::now();
        let (n, rows) = (self.n, self.rows);
        let (src, zeros) = (&self.current[..], &self.zeros[..]);
        let out = &mut self.next[n..(rows + 1) * n];
        // Row 1 of the slab buffer is its first row; rows 0 and rows + 1 are the ghosts.
        self.pool
            .install(|| step_rows_parallel(src, out, n, 1, zeros));
        std::mem::swap(&mut self.current, &mut self.next);
        Ok(started.elapsed().as_secs_f64())
    }

    fn max_change(&mut self) -> Result<(f32, f64)> {
        use rayon::prelude::*;
        let started = Instant::now();
        let (n, rows) = (self.n, self.rows);
        let now = Self::interior(&self.current, n, rows);
        let before = Self::interior(&self.next, n, rows);
        let change = self.pool.install(|| {
            now.par_chunks(n)
                .zip(before.par_chunks(n))
                .map(|(a, b)| {
                    a.iter()
                        .zip(b)
                        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()))
                })
                .reduce(|| 0.0f32, f32::max)
        });
        Ok((change, started.elapsed().as_secs_f64()))
    }

    fn rows_now(&mut self) -> Result<Vec<f32>> {
        Ok(Self::interior(&self.current, self.n, self.rows).to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::stencil::{initial_field, rayon as catalogue_rayon};

    /// A slab that is the whole grid computes the catalogue stencil's values bit for bit.
    #[test]
    fn a_whole_grid_slab_matches_the_catalogue_stencil_bit_for_bit() {
        for (n, steps) in [(1, 3), (5, 1), (37, 4), (64, 7)] {
            let initial = initial_field(n, 7);
            let mut slab = CpuSlab::new(&initial, n, 2).unwrap();
            slab.load_initial().unwrap();
            for _ in 0..steps {
                slab.step().unwrap();
            }
            let (mut output, mut scratch) = (vec![f32::NAN; n * n], vec![0.0; n * n]);
            catalogue_rayon(&initial, &mut output, &mut scratch, n, steps, &vec![0.0; n]);
            let got = slab.rows_now().unwrap();
            assert!(
                got.iter()
                    .zip(&output)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "n={n} steps={steps}"
            );
        }
    }

    #[test]
    fn max_change_is_the_largest_update_of_the_last_step() {
        let n = 9;
        let mut initial = vec![0.0f32; n * n];
        initial[4 * n + 4] = 1.0;
        let mut slab = CpuSlab::new(&initial, n, 1).unwrap();
        slab.load_initial().unwrap();
        slab.step().unwrap();
        let (change, _) = slab.max_change().unwrap();
        // The hot point loses 4·D of its heat (up to rounding); its neighbours gain only D.
        let d = crate::kernels::stencil::DIFFUSION;
        assert!((change - 4.0 * d).abs() < 1e-6, "{change}");
        assert_eq!(change, 1.0 - slab.rows_now().unwrap()[4 * n + 4]);
    }

    #[test]
    fn the_working_set_is_both_fields_with_their_ghost_rows() {
        let slab = CpuSlab::new(&[0.0; 10 * 8], 8, 1).unwrap();
        assert_eq!(slab.working_set_bytes(), 2 * 12 * 8 * 4);
    }

    #[test]
    fn rows_that_are_not_whole_are_refused() {
        assert!(CpuSlab::new(&[0.0; 10], 3, 1).is_err());
    }
}
