//! matmul on the GPU: the `naive` and `tiled` shaders, and how the matrices are split when they
//! exceed one storage binding.
//!
//! A shader sees at most `context.max_binding_bytes` of a buffer through one binding, so larger
//! matrices are multiplied by bands of R rows (each fitting a binding, each starting at an
//! aligned offset): `C[I] = Σ_K A[I, K] · B[K, :]`, one dispatch per (row band I, depth band K)
//! in one compute pass, every one after a band's first adding to C (wgpu orders the dispatches
//! of a pass). B is banded too: it is as large as A. With one band there is one dispatch, a 2-D
//! grid over the columns of C and the rows of the band.

use super::MatmulProblem;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, GpuContext, Runner, Setup, ShaderSpec};
use crate::kernels::{GpuRun, GpuSetup};
use crate::phase::PhaseSample;

/// The two GPU implementations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuVariant {
    /// One invocation per element of C, operands from global memory.
    Naive,
    /// Tiles of A and B through workgroup memory.
    Tiled,
}

impl GpuVariant {
    /// The variant called `name`; `None` means `tiled`.
    pub fn parse(name: Option<&str>) -> Result<GpuVariant> {
        match name {
            Some("naive") => Ok(GpuVariant::Naive),
            Some("tiled") | None => Ok(GpuVariant::Tiled),
            Some(other) => Err(Error::usage(format!(
                "matmul has no GPU variant '{other}'; it has naive, tiled"
            ))),
        }
    }
}

/// Preferred side of the square workgroups (16 × 16 = 256 invocations, the WebGPU minimum
/// limit, so it fits every adapter).
pub const PREFERRED_SIDE: u32 = 16;

/// Bytes of workgroup memory per invocation of the tiled shader: one f32 of A's tile, one of B's.
const TILED_SHARED_BYTES: u32 = 8;

/// The side of a square workgroup: `preferred`, halved until `side²` invocations and
/// `side² · shared_bytes` of workgroup memory fit the device's limits.
pub fn workgroup_side(limits: &wgpu::Limits, preferred: u32, shared_bytes: u32) -> u32 {
    let mut side = preferred.max(1);
    while side > 1
        && (side * side > limits.max_compute_invocations_per_workgroup
            || side > limits.max_compute_workgroup_size_x
            || side > limits.max_compute_workgroup_size_y
            || side * side * shared_bytes > limits.max_compute_workgroup_storage_size)
    {
        side /= 2;
    }
    side
}

/// Rows per band for n × n f32 matrices: n when a whole matrix fits one binding of
/// `binding_bytes`; otherwise the most rows that fit, rounded down so that every band starts at
/// a multiple of `alignment` bytes. An `Err` when not even that is possible.
pub fn band_rows(n: u64, binding_bytes: u64, alignment: u64) -> Result<u64> {
    let row_bytes = 4 * n.max(1);
    if n.saturating_mul(row_bytes) <= binding_bytes {
        return Ok(n);
    }
    let fit = binding_bytes / row_bytes;
    let alignment = alignment.max(1);
    let step = alignment / gcd(alignment, row_bytes);
    let rows = fit / step * step;
    if rows == 0 {
        return Err(Error::usage(format!(
            "matmul at n = {n}: a band of {step} rows ({} bytes, the fewest that start at a {alignment}-byte aligned offset) \
             does not fit one storage binding of {binding_bytes} bytes; use a smaller --size",
            step * row_bytes
        )));
    }
    Ok(rows)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The matrices on the device and one pipeline, ready for samples.
pub struct MatmulGpu<'a> {
    gpu: Runner<'a>,
    problem: &'a mut MatmulProblem,
    dispatch_count: usize,
}

impl<'a> MatmulGpu<'a> {
    /// Compiles the variant's shader, allocates A, B and C, and makes one bind group per pair
    /// of bands.
    pub fn new(
        problem: &'a mut MatmulProblem,
        context: &'a GpuContext,
        variant: Option<&str>,
    ) -> Result<MatmulGpu<'a>> {
        let variant = GpuVariant::parse(variant)?;
        let limits = context.device.limits();
        let (spec, side) = match variant {
            GpuVariant::Naive => {
                let side = workgroup_side(&limits, PREFERRED_SIDE, 0);
                let source = include_str!("../../../shaders/matmul/naive.wgsl");
                let spec = ShaderSpec::new("matmul/naive", source, "main");
                (spec.constant("WORKGROUP_SIDE", side), side)
            }
            GpuVariant::Tiled => {
                let side = workgroup_side(&limits, PREFERRED_SIDE, TILED_SHARED_BYTES);
                let source = include_str!("../../../shaders/matmul/tiled.wgsl");
                let spec = ShaderSpec::new("matmul/tiled", source, "main");
                (spec.constant("TILE", side), side)
            }
        };

        let n = problem.n as u64;
        let rows_per_band = band_rows(
            n,
            context.max_binding_bytes,
            limits.min_storage_buffer_offset_alignment as u64,
        )?;
        let bands: Vec<(u64, u64)> = (0..n)
            .step_by(rows_per_band.max(1) as usize)
            .map(|first| (first, rows_per_band.min(n - first)))
            .collect();
        let max_groups = limits.max_compute_workgroups_per_dimension;
        let groups_x = n.div_ceil(side as u64);
        let groups_y = rows_per_band.div_ceil(side as u64);
        if groups_x.max(groups_y) > max_groups as u64 {
            return Err(Error::usage(format!(
                "matmul at n = {n}: {} workgroups of {side} in one dimension, more than the adapter's {max_groups}; use a smaller --size",
                groups_x.max(groups_y)
            )));
        }

        let mut setup = Setup::new(context, "matmul");
        let pipeline = setup.pipeline(&spec)?;
        let matrix_bytes = 4 * n * n;
        let a = setup.input("matmul a", matrix_bytes)?;
        let b = setup.input("matmul b", matrix_bytes)?;
        let c = setup.output("matmul c", matrix_bytes)?;
        // NaN (the first depth band overwrites C): a tile no workgroup writes fails.
        setup.poison_each_sample(&c, 0xFF);

        // One dispatch per (row band, depth band), each with its parameter block.
        let pairs: Vec<((u64, u64), (u64, u64))> = bands
            .iter()
            .flat_map(|&row_band| bands.iter().map(move |&depth_band| (row_band, depth_band)))
            .collect();
        let params: Vec<[u32; 8]> = pairs
            .iter()
            .map(|&((_, rows), (k0, k_count))| {
                let accumulate = (k0 > 0) as u32;
                [
                    n as u32,
                    rows as u32,
                    k0 as u32,
                    k_count as u32,
                    accumulate,
                    0,
                    0,
                    0,
                ]
            })
            .collect();
        let dispatches = context.scoped("creating matmul bind groups", || {
            let params = setup.uniforms("matmul params", &params);
            (0..)
                .zip(&pairs)
                .map(|(index, &((first_row, rows), (k0, k_count)))| {
                    let bindings = [
                        c.binding(first_row * n, rows * n, 4),
                        a.binding(first_row * n, rows * n, 4),
                        b.binding(k0 * n, k_count * n, 4),
                        params.binding(index),
                    ];
                    let workgroups = [groups_x as u32, rows.div_ceil(side as u64) as u32, 1];
                    Dispatch::new(
                        context,
                        &pipeline,
                        "matmul band pair",
                        &bindings,
                        workgroups,
                    )
                })
                .collect::<Vec<_>>()
        })?;
        let dispatch_count = dispatches.len();
        setup.dispatch(&pipeline, dispatches);
        Ok(MatmulGpu {
            gpu: setup.finish()?,
            problem,
            dispatch_count,
        })
    }

    /// Dispatches per sample (1 unless the matrices are split into bands).
    pub fn dispatch_count(&self) -> usize {
        self.dispatch_count
    }
}

impl GpuRun for MatmulGpu<'_> {
    fn setup(&self) -> GpuSetup {
        self.gpu.costs()
    }

    fn sample(&mut self) -> Result<PhaseSample> {
        let MatmulProblem { a, b, c, .. } = &mut *self.problem;
        self.gpu
            .sample(&[a.as_bytes(), b.as_bytes()], &mut [c.as_bytes_mut()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_fit_a_binding_and_start_aligned() {
        assert_eq!(band_rows(1024, 128 << 20, 256).unwrap(), 1024);
        // 129 floats a row: 516 bytes; 256-byte offsets need a multiple of 64 rows.
        assert_eq!(band_rows(129, 64 * 516, 256).unwrap(), 64);
        assert_eq!(
            band_rows(129, 64 * 516 - 1, 256).unwrap_err().exit_code(),
            2
        );
        // 67 floats a row: 268 bytes; 4096 bytes hold 15 rows, and 32-byte offsets need a
        // multiple of 8 rows, 256-byte offsets a multiple of 64.
        assert_eq!(band_rows(67, 4096, 32).unwrap(), 8);
        assert!(band_rows(67, 4096, 256).is_err());
        for (n, binding, alignment) in [(300, 100_000, 256), (1000, 1 << 20, 64), (40, 1000, 32)] {
            let rows = band_rows(n, binding, alignment).unwrap();
            assert!(rows * 4 * n <= binding && (rows * 4 * n).is_multiple_of(alignment));
        }
    }

    #[test]
    fn workgroup_sides_respect_the_limits() {
        let mut limits = wgpu::Limits::default();
        assert_eq!(workgroup_side(&limits, 16, 8), 16);
        limits.max_compute_invocations_per_workgroup = 128;
        assert_eq!(workgroup_side(&limits, 16, 8), 8);
        limits.max_compute_invocations_per_workgroup = 1024;
        limits.max_compute_workgroup_storage_size = 1024;
        assert_eq!(workgroup_side(&limits, 32, 8), 8);
    }
}
