//! matmul on the GPU: the optimisation ladder (`naive`, `coalesced`, `tiled`, `register-1d`,
//! `register-2d`, `vectorized`, one shader each in `shaders/matmul/`, what each step changes in
//! its header), the tile sizes each gets on an adapter, and how the matrices are split when they
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

/// The GPU ladder, each step a shader of its own (`shaders/matmul/`), in the order a course
/// climbs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuVariant {
    /// One invocation per element of C, neighbouring invocations down a column (uncoalesced).
    Naive,
    /// The same, neighbouring invocations along a row (coalesced loads of B, stores of C).
    Coalesced,
    /// Tiles of A and B through workgroup memory, one element of C per invocation.
    Tiled,
    /// A column of 8 elements of C per invocation, from workgroup-memory tiles.
    Register1d,
    /// An 8 × 8 block of C per invocation (an outer product per depth).
    Register2d,
    /// Register-2d with vec4 loads and stores and A's tile transposed (n a multiple of 4).
    Vectorized,
}

impl GpuVariant {
    /// Every step, in ladder order.
    pub const ALL: [GpuVariant; 6] = [
        GpuVariant::Naive,
        GpuVariant::Coalesced,
        GpuVariant::Tiled,
        GpuVariant::Register1d,
        GpuVariant::Register2d,
        GpuVariant::Vectorized,
    ];

    /// Its name in `--variant`.
    pub fn name(self) -> &'static str {
        match self {
            GpuVariant::Naive => "naive",
            GpuVariant::Coalesced => "coalesced",
            GpuVariant::Tiled => "tiled",
            GpuVariant::Register1d => "register-1d",
            GpuVariant::Register2d => "register-2d",
            GpuVariant::Vectorized => "vectorized",
        }
    }

    /// The variant called `name`; `None` means `tiled`.
    pub fn parse(name: Option<&str>) -> Result<GpuVariant> {
        let name = name.unwrap_or("tiled");
        GpuVariant::ALL
            .into_iter()
            .find(|v| v.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = GpuVariant::ALL.iter().map(|v| v.name()).collect();
                Error::usage(format!(
                    "matmul has no GPU variant '{name}'; it has {}",
                    names.join(", ")
                ))
            })
    }

    /// What n must be a multiple of: 4 where rows are bound as vec4.
    pub fn size_multiple(self) -> u64 {
        match self {
            GpuVariant::Vectorized => 4,
            _ => 1,
        }
    }

    /// Why it cannot run at n, before any work.
    pub fn refusal(self, n: u64) -> Option<String> {
        let multiple = self.size_multiple();
        (!n.is_multiple_of(multiple)).then(|| {
            format!(
                "matmul's {} variant binds the rows as vec4, so n must be a multiple of {multiple}, not {n}; use --size {}",
                self.name(),
                n.next_multiple_of(multiple)
            )
        })
    }
}

/// Preferred side of the square workgroups of `naive`, `coalesced` and `tiled` (16 × 16 = 256
/// invocations, the WebGPU minimum limit, so it fits every adapter).
pub const PREFERRED_SIDE: u32 = 16;

/// Bytes of workgroup memory per invocation of the tiled shader: one f32 of A's tile, one of B's.
const TILED_SHARED_BYTES: u32 = 8;

/// Depth of the register-blocked variants' tiles, and the outputs per invocation (the shaders'
/// `TM`, `TN` consts).
const BLOCKED_DEPTH: u32 = 8;
const REGISTER_ROWS: u32 = 8;
const REGISTER_COLUMNS: u32 = 8;

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

/// True when a one-dimensional workgroup of `invocations` with `shared_bytes` of workgroup
/// memory fits the device's limits.
fn fits(limits: &wgpu::Limits, invocations: u32, shared_bytes: u32) -> bool {
    invocations <= limits.max_compute_invocations_per_workgroup
        && invocations <= limits.max_compute_workgroup_size_x
        && shared_bytes <= limits.max_compute_workgroup_storage_size
}

/// One variant made concrete for one adapter: its shader with the override constants set, and
/// the block of C (columns, rows) each workgroup computes.
pub struct Shape {
    pub spec: ShaderSpec,
    pub block_columns: u32,
    pub block_rows: u32,
}

/// The shader and block of `variant` within `limits`: tile sizes shrink (halving) until they
/// fit, and an `Err` says which limit no size meets.
pub fn shape(variant: GpuVariant, limits: &wgpu::Limits) -> Result<Shape> {
    let square = |name: &'static str, source: &'static str, constant: &'static str, shared| {
        let side = workgroup_side(limits, PREFERRED_SIDE, shared);
        Shape {
            spec: ShaderSpec::new(name, source, "main").constant(constant, side),
            block_columns: side,
            block_rows: side,
        }
    };
    let blocked = |name: &'static str,
                   source: &'static str,
                   per_invocation: u32,
                   block: (u32, u32)| {
        // Halve the longer side of the block (rows first) until it fits.
        let (mut rows, mut columns) = block;
        loop {
            let invocations = rows * columns / per_invocation;
            let shared = (rows + columns) * BLOCKED_DEPTH * 4;
            if fits(limits, invocations, shared) {
                break;
            }
            if rows.max(columns) <= 16 {
                return Err(Error::gpu(
                    format!("preparing matmul {}", variant.name()),
                    format!(
                        "the adapter allows {} invocations and {} bytes of workgroup memory per workgroup, too few for a {rows} × {columns} block",
                        limits.max_compute_invocations_per_workgroup,
                        limits.max_compute_workgroup_storage_size
                    ),
                ));
            }
            match rows >= columns {
                true => rows /= 2,
                false => columns /= 2,
            }
        }
        Ok(Shape {
            spec: ShaderSpec::new(name, source, "main")
                .constant("BM", rows)
                .constant("BN", columns)
                .constant("BK", BLOCKED_DEPTH),
            block_columns: columns,
            block_rows: rows,
        })
    };
    match variant {
        GpuVariant::Naive => Ok(square(
            "matmul/naive",
            include_str!("../../../shaders/matmul/naive.wgsl"),
            "WORKGROUP_SIDE",
            0,
        )),
        GpuVariant::Coalesced => Ok(square(
            "matmul/coalesced",
            include_str!("../../../shaders/matmul/coalesced.wgsl"),
            "WORKGROUP_SIDE",
            0,
        )),
        GpuVariant::Tiled => Ok(square(
            "matmul/tiled",
            include_str!("../../../shaders/matmul/tiled.wgsl"),
            "TILE",
            TILED_SHARED_BYTES,
        )),
        // 64 × 64 blocks, a column of 8 per invocation: 512 invocations where the adapter
        // allows them (every current desktop GPU), else 32 × 64 with 256.
        GpuVariant::Register1d => blocked(
            "matmul/register_1d",
            include_str!("../../../shaders/matmul/register_1d.wgsl"),
            REGISTER_ROWS,
            (64, 64),
        ),
        GpuVariant::Register2d => blocked(
            "matmul/register_2d",
            include_str!("../../../shaders/matmul/register_2d.wgsl"),
            REGISTER_ROWS * REGISTER_COLUMNS,
            (128, 128),
        ),
        GpuVariant::Vectorized => blocked(
            "matmul/vectorized",
            include_str!("../../../shaders/matmul/vectorized.wgsl"),
            REGISTER_ROWS * REGISTER_COLUMNS,
            (128, 128),
        ),
    }
}

/// Rows per band for n × n f32 matrices: n when a whole matrix fits one binding of
/// `binding_bytes`; otherwise the most rows that fit, rounded down so that every band starts at
/// a multiple of `alignment` bytes and holds a multiple of `row_multiple` rows (4 for the vec4
/// variant, whose depth bands must start at a multiple of 4). An `Err` when not even that is
/// possible.
pub fn band_rows(n: u64, binding_bytes: u64, alignment: u64, row_multiple: u64) -> Result<u64> {
    let row_bytes = 4 * n.max(1);
    if n.saturating_mul(row_bytes) <= binding_bytes {
        return Ok(n);
    }
    let fit = binding_bytes / row_bytes;
    let alignment = alignment.max(1);
    let aligned = alignment / gcd(alignment, row_bytes);
    let row_multiple = row_multiple.max(1);
    let step = aligned / gcd(aligned, row_multiple) * row_multiple;
    let rows = fit / step * step;
    if rows == 0 {
        return Err(Error::usage(format!(
            "matmul at n = {n}: a band of {step} rows ({} bytes, the fewest that start at a {alignment}-byte aligned offset{}) \
             does not fit one storage binding of {binding_bytes} bytes; use a smaller --size",
            step * row_bytes,
            match row_multiple {
                1 => String::new(),
                m => format!(" in multiples of {m} rows"),
            }
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
        let n = problem.n as u64;
        if let Some(reason) = variant.refusal(n) {
            return Err(Error::usage(reason));
        }
        let limits = context.device.limits();
        let Shape {
            spec,
            block_columns,
            block_rows,
        } = shape(variant, &limits)?;
        let rows_per_band = band_rows(
            n,
            context.max_binding_bytes,
            limits.min_storage_buffer_offset_alignment as u64,
            variant.size_multiple(),
        )?;
        let bands: Vec<(u64, u64)> = (0..n)
            .step_by(rows_per_band.max(1) as usize)
            .map(|first| (first, rows_per_band.min(n - first)))
            .collect();
        let max_groups = limits.max_compute_workgroups_per_dimension;
        let groups_x = n.div_ceil(block_columns as u64);
        let groups_y = rows_per_band.div_ceil(block_rows as u64);
        if groups_x.max(groups_y) > max_groups as u64 {
            return Err(Error::usage(format!(
                "matmul {} at n = {n}: {} workgroups of {block_rows} × {block_columns} elements in one dimension, more than the adapter's {max_groups}; use a smaller --size",
                variant.name(),
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
                    let workgroups = [groups_x as u32, rows.div_ceil(block_rows as u64) as u32, 1];
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
        assert_eq!(band_rows(1024, 128 << 20, 256, 1).unwrap(), 1024);
        // 129 floats a row: 516 bytes; 256-byte offsets need a multiple of 64 rows.
        assert_eq!(band_rows(129, 64 * 516, 256, 1).unwrap(), 64);
        assert_eq!(
            band_rows(129, 64 * 516 - 1, 256, 1)
                .unwrap_err()
                .exit_code(),
            2
        );
        // 67 floats a row: 268 bytes; 4096 bytes hold 15 rows, and 32-byte offsets need a
        // multiple of 8 rows, 256-byte offsets a multiple of 64.
        assert_eq!(band_rows(67, 4096, 32, 1).unwrap(), 8);
        assert!(band_rows(67, 4096, 256, 1).is_err());
        for (n, binding, alignment) in [(300, 100_000, 256), (1000, 1 << 20, 64), (40, 1000, 32)] {
            let rows = band_rows(n, binding, alignment, 1).unwrap();
            assert!(rows * 4 * n <= binding && (rows * 4 * n).is_multiple_of(alignment));
        }
        // The vec4 variant's bands hold a multiple of 4 rows: 68 floats a row, 272 bytes, and
        // 32-byte offsets alone would allow bands of 2 rows.
        assert_eq!(band_rows(68, 10 * 272, 32, 1).unwrap(), 10);
        assert_eq!(band_rows(68, 10 * 272, 32, 4).unwrap(), 8);
        assert!(band_rows(68, 3 * 272, 32, 4).is_err());
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

    #[test]
    fn register_blocks_shrink_to_the_limits_and_divide_into_invocations() {
        let mut limits = wgpu::Limits::default();
        let blocks = |limits: &wgpu::Limits| -> Vec<(u32, u32)> {
            GpuVariant::ALL
                .iter()
                .map(|&v| {
                    let shape = shape(v, limits).unwrap();
                    (shape.block_rows, shape.block_columns)
                })
                .collect()
        };
        // WebGPU's defaults: 256 invocations, 16 KiB of workgroup memory.
        assert_eq!(
            blocks(&limits),
            [
                (16, 16),
                (16, 16),
                (16, 16),
                (32, 64),
                (128, 128),
                (128, 128)
            ]
        );
        limits.max_compute_invocations_per_workgroup = 1024;
        limits.max_compute_workgroup_size_x = 1024;
        assert_eq!(blocks(&limits)[3], (64, 64));
        limits.max_compute_invocations_per_workgroup = 64;
        limits.max_compute_workgroup_size_x = 64;
        limits.max_compute_workgroup_size_y = 64;
        assert_eq!(
            blocks(&limits),
            [(8, 8), (8, 8), (8, 8), (16, 32), (64, 64), (64, 64)]
        );
        limits.max_compute_invocations_per_workgroup = 2;
        assert!(shape(GpuVariant::Register2d, &limits).is_err());
    }

    #[test]
    fn the_vec4_variant_refuses_sizes_that_are_not_multiples_of_4() {
        assert!(GpuVariant::Vectorized.refusal(1024).is_none());
        let reason = GpuVariant::Vectorized.refusal(1023).unwrap();
        assert!(reason.contains("--size 1024"), "{reason}");
        assert!(GpuVariant::Register2d.refusal(1023).is_none());
    }
}
