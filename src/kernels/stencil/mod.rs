//! 2-D diffusion on an n × n grid by an explicit 5-point Jacobi step (Gorelick & Ozsvald, *High
//! Performance Python*, ch. 6):
//!
//! `u'[i,j] = u[i,j] + D·(u[i-1,j] + u[i+1,j] + u[i,j-1] + u[i,j+1] − 4·u[i,j])`
//!
//! repeated `--steps` times with two buffers in turn (Jacobi: every point of a step reads the
//! previous step only). The boundary is Dirichlet zero: the grid sits in a cold bath, every
//! neighbour outside it reads 0, so heat leaks out through the edges. (The book wraps around
//! with `np.roll`, which is periodic; a zero rim keeps each row band of the GPU chunking
//! self-contained, because a band then needs only the rows next to it, never the far edge.)
//!
//! On the GPU, `resident` keeps the field on the device for every step and `roundtrip` moves it
//! both ways around each step (the data-movement lesson of lab 4). `cpu.rs` holds the three CPU
//! backends and the f64 reference; `gpu.rs` the row-band GPU run.

mod cpu;
mod gpu;

use crate::backend::{Backend, CpuLoop};
use crate::cpu::AlignedVec;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::inputs::{random_bits, unit_f32};
use crate::kernels::verify::check_elements;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Items, Kernel, KernelInfo, KernelOption, KernelOptions,
    Picture, Problem, Variant, Verification,
};
use crate::python::{ArrayMut, ArrayRef, Dtype, Input, OutputSpec, PythonCall};

pub use cpu::{rayon, reference, scalar, simd, step_rows_parallel};
pub(crate) use gpu::step_pipeline;

/// The diffusion number D (the book's D·dt = 1 · 0.1). The explicit scheme is stable, and each
/// new value a convex combination of old ones, for D ≤ 1/4.
pub const DIFFUSION: f32 = 0.1;

/// Time steps when `--steps` is not given.
pub const DEFAULT_STEPS: u32 = 100;

/// Floating-point operations per point and step: three adds for the neighbour sum, an FMA for
/// `sum − 4u` and an FMA for `u + D·lap` (an FMA counts as 2).
pub const FLOPS_PER_POINT: u64 = 7;

/// The error bound's constant: the roundings of one step add at most 3.4·2^-24·max|u0| per point
/// (see [`INFO`]'s verification), and this allows twice that.
const ROUNDINGS_PER_STEP: f64 = 8.0;

/// The allowed absolute error per point after `steps` f32 steps from a field whose largest
/// magnitude is `scale`, against the f64 reference (see [`INFO`]'s verification).
pub fn error_bound(steps: u32, scale: f64) -> f64 {
    ROUNDINGS_PER_STEP * steps as f64 * crate::kernels::stream::F32_ROUNDING * scale
}

/// The stencil kernel.
pub struct Stencil;

/// What `hpclab list` says about the stencil.
pub const INFO: KernelInfo = KernelInfo {
    name: "stencil",
    summary: "2-D diffusion, explicit 5-point Jacobi steps on an n × n grid with a zero (Dirichlet) rim; \
              two buffers in turn. GPU: `resident` keeps the field on the device for all steps; \
              `roundtrip` downloads and uploads it every step, so it moves steps× the bytes of `resident`",
    reference: "Gorelick & Ozsvald, High Performance Python, ch. 6 (the diffusion equation)",
    size_meaning: "n = grid side: n × n points (f32), n ≥ 1; --steps time steps (default 100)",
    cost_model: CostModel {
        device_bytes: "steps·8·n² (read and write the field once per step; the four neighbour reads hit cache)",
        flops: "steps·7·n²",
        upload_bytes: "4·n² (resident; roundtrip: steps·4·n², summed over the steps in its upload phase)",
        download_bytes: "4·n² (resident; roundtrip: steps·4·n², summed over the steps in its download phase)",
    },
    scalar_loop: "vectorizable: every point of a step is independent and the loop is plain adds and \
                  multiplies, so the compiler vectorizes the interior of each row at the baseline width \
                  (SSE2, no FMA); explicit SIMD adds the wide registers and FMA",
    verification: "|u - u64| <= 8·steps·2^-24·max|u0| per point, against the same steps in f64 from the same \
                   f32 field and the same f32 D. With D <= 1/4 a step is a convex combination (max norm never \
                   grows), so rounding errors add and do not amplify; one step's roundings are at most \
                   3.4·2^-24·max|u0| (neighbour sum, Laplacian, D·lap, final add), the bound allows twice that",
};

/// The GPU variant that keeps the field on the device for every step.
pub const RESIDENT: Variant = Variant {
    name: "resident",
    summary: "upload once, every step in one compute pass on the device, download once",
    default: true,
};

/// The GPU variant that moves the field both ways around every step.
pub const ROUNDTRIP: Variant = Variant {
    name: "roundtrip",
    summary: "upload and download the field around every step; its upload, download and compute \
              phases are sums over the steps",
    default: false,
};

static VARIANTS: [Variant; 2] = [RESIDENT, ROUNDTRIP];

impl Kernel for Stencil {
    fn default_size(&self) -> u64 {
        // a 1024 × 1024 grid: 4 MB per field.
        1024
    }

    fn info(&self) -> &KernelInfo {
        &INFO
    }

    fn cost(&self, n: u64) -> Cost {
        cost(n, DEFAULT_STEPS)
    }

    fn footprint(&self, n: u64) -> Footprint {
        let field = n.saturating_mul(n).saturating_mul(4);
        Footprint {
            // initial, output and scratch fields (f32); the f64 reference and its second
            // buffer while prepare computes it.
            host_bytes: field.saturating_mul(3 + 2 * 2),
            largest_gpu_buffer_bytes: field,
            // initial + its staging buffer, output + its readback buffer, scratch.
            gpu_bytes: field.saturating_mul(5),
            working_set_bytes: field.saturating_mul(3),
        }
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Gpu => &VARIANTS,
            _ => &[],
        }
    }

    fn options(&self) -> &'static [KernelOption] {
        &[KernelOption::Steps, KernelOption::Image]
    }

    fn prepare(&self, n: usize, seed: u64, options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(StencilProblem::new(n, steps_of(options), seed))
    }
}

/// The steps of a run: `--steps`, or [`DEFAULT_STEPS`]; at least 1 (the CLI refuses 0).
fn steps_of(options: &KernelOptions) -> u32 {
    options.steps.unwrap_or(DEFAULT_STEPS).max(1)
}

/// The cost model of `steps` steps on an n × n grid (the resident GPU variant's transfers).
pub fn cost(n: u64, steps: u32) -> Cost {
    let points = n.saturating_mul(n);
    let steps = steps as u64;
    Cost {
        device_bytes: points.saturating_mul(8).saturating_mul(steps),
        flops: points.saturating_mul(FLOPS_PER_POINT).saturating_mul(steps),
        upload_bytes: points.saturating_mul(4),
        download_bytes: points.saturating_mul(4),
        items: Some(Items {
            count: points.saturating_mul(steps),
            unit: "point updates",
        }),
    }
}

/// The initial field: a hot square of side max(1, n/4) at 1.0 in the middle, plus noise uniform
/// in [0, 0.1) everywhere from `seed` (stream 0), row-major.
pub fn initial_field(n: usize, seed: u64) -> AlignedVec<f32> {
    initial_rows(n, n, seed, 0..n)
}

/// Rows `rows` of the initial field of a grid of `grid_rows` rows of `n` points: a hot
/// rectangle of max(1, grid_rows/4) × max(1, n/4) points at 1.0 in the middle, plus noise
/// uniform in [0, 0.1) from `seed` (stream 0) indexed by the point's place in the whole grid, so
/// that a rank generating its own slab gets exactly the rows of the whole field.
pub fn initial_rows(
    grid_rows: usize,
    n: usize,
    seed: u64,
    rows: std::ops::Range<usize>,
) -> AlignedVec<f32> {
    use ::rayon::prelude::*;
    let centred = |length: usize| {
        let side = (length / 4).max(1);
        let start = length.saturating_sub(side) / 2;
        start..start + side
    };
    let (hot_rows, hot_columns) = (centred(grid_rows), centred(n));
    let first_row = rows.start;
    let mut field = AlignedVec::zeroed(rows.len() * n);
    field
        .par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(offset, row)| {
            let i = first_row + offset;
            for (j, value) in row.iter_mut().enumerate() {
                let noise = 0.1 * unit_f32(random_bits(seed, 0, (i * n + j) as u64));
                let heat = if hot_rows.contains(&i) && hot_columns.contains(&j) {
                    1.0
                } else {
                    0.0
                };
                *value = heat + noise;
            }
        });
    field
}

/// One stencil run: the initial field, the output, the buffer the steps alternate with, and the
/// f64 reference of the same steps.
pub struct StencilProblem {
    n: usize,
    steps: u32,
    initial: AlignedVec<f32>,
    output: AlignedVec<f32>,
    scratch: AlignedVec<f32>,
    /// A row of zeros: the neighbours above the first row and below the last.
    zeros: AlignedVec<f32>,
    reference: Vec<f64>,
    /// max |u0|: the scale of the error bound and of the picture.
    scale: f64,
}

impl StencilProblem {
    /// An n × n field from `seed`, `steps` steps (at least 1), and the f64 reference.
    pub fn new(n: usize, steps: u32, seed: u64) -> Self {
        let steps = steps.max(1);
        let initial = initial_field(n, seed);
        let reference = reference(&initial, n, steps);
        let scale = initial.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64));
        StencilProblem {
            n,
            steps,
            initial,
            output: AlignedVec::filled(n * n, f32::NAN),
            scratch: AlignedVec::filled(n * n, 0.0),
            zeros: AlignedVec::filled(n, 0.0),
            reference,
            scale,
        }
    }

    /// The field after the last run, row-major.
    pub fn output(&self) -> &[f32] {
        &self.output
    }

    /// The f64 reference field after the same steps.
    pub fn reference(&self) -> &[f64] {
        &self.reference
    }

    /// Grid side.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Time steps of a run.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    /// The allowed absolute error per point.
    pub fn tolerance(&self) -> f64 {
        error_bound(self.steps, self.scale)
    }

    /// Checks `output` as the field of a run: what [`Problem::verify`] applies to
    /// [`StencilProblem::output`], open to any candidate so that a test can show which wrong
    /// fields it rejects.
    pub fn check(&self, output: &[f32]) -> Verification {
        let allowed = self.tolerance();
        check_elements(output, INFO.verification, |i| (self.reference[i], allowed))
    }
}

impl Problem for StencilProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        &Stencil
    }

    fn cost_of(&self, variant: Option<&'static Variant>) -> Option<Cost> {
        let mut cost = cost(self.n as u64, self.steps);
        // Round trip moves the field both ways around every step.
        if variant == Some(&ROUNDTRIP) {
            cost.upload_bytes = cost.upload_bytes.saturating_mul(self.steps as u64);
            cost.download_bytes = cost.download_bytes.saturating_mul(self.steps as u64);
        }
        Some(cost)
    }

    fn run_loop(&mut self, form: CpuLoop, _variant: Option<&'static Variant>) {
        let (n, steps) = (self.n, self.steps);
        let zeros = &self.zeros[..];
        let (initial, output, scratch) = (&self.initial[..], &mut self.output, &mut self.scratch);
        match form {
            CpuLoop::Scalar => scalar(initial, output, scratch, n, steps, zeros),
            CpuLoop::Simd => simd(initial, output, scratch, n, steps, zeros),
            CpuLoop::Rayon => rayon(initial, output, scratch, n, steps, zeros),
        }
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        let residency = gpu::Residency::parse(variant.map(|v| v.name))?;
        gpu::run(self, context, residency)
    }

    fn verify(&self) -> Verification {
        self.check(&self.output)
    }

    fn clear_output(&mut self) {
        self.output.fill(f32::NAN);
    }

    /// The initial field (n × n) and the steps; D as the f32 value widened, as the reference
    /// uses it.
    fn python_call(&self) -> PythonCall<'_> {
        PythonCall {
            params: serde_json::json!({
                "n": self.n,
                "steps": self.steps,
                "diffusion": DIFFUSION as f64,
            }),
            inputs: vec![Input {
                name: "u",
                shape: vec![self.n, self.n],
                data: ArrayRef::Float32(&self.initial),
            }],
            outputs: vec![OutputSpec::new("u", &[self.n, self.n], Dtype::Float32)],
        }
    }

    /// The same check for every rung. numpy and numba step in f32 (in their own order of the
    /// additions, which the bound does not depend on: it counts every rounding of a step).
    /// Pure Python steps in f64 like the reference and rounds to f32 once at the end: at most
    /// 2^-24·max|u0| (a step never grows the max norm), within the f32 bound for any steps ≥ 1.
    fn python_outputs(
        &mut self,
        _rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        vec![ArrayMut::Float32(&mut self.output)]
    }

    fn picture(&self) -> Option<Picture> {
        // The initial field's scale, so that pictures after different --steps compare.
        let scale = if self.scale > 0.0 {
            self.scale as f32
        } else {
            1.0
        };
        Some(Picture {
            width: self.n,
            height: self.n,
            values: self.output.iter().map(|&v| v / scale).collect(),
        })
    }
}

/// The order in which the steps use the buffers: step `k` (1-based) of `steps` reads the initial
/// field (k = 1) or the buffer the previous step wrote, and writes `output` when `steps − k` is
/// even, `scratch` otherwise, so that the last step always lands in `output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Initial,
    Output,
    Scratch,
}

/// Source and destination of step `k` (1-based) of `steps`.
pub(crate) fn step_fields(k: u32, steps: u32) -> (Field, Field) {
    let writes_output = (steps - k).is_multiple_of(2);
    let destination = if writes_output {
        Field::Output
    } else {
        Field::Scratch
    };
    let source = match (k, writes_output) {
        (1, _) => Field::Initial,
        (_, true) => Field::Scratch,
        (_, false) => Field::Output,
    };
    (source, destination)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_step_writes_the_output_and_each_step_reads_the_previous_one() {
        for steps in 1..7 {
            let mut previous = Field::Initial;
            for k in 1..=steps {
                let (source, destination) = step_fields(k, steps);
                assert_eq!(source, previous, "step {k} of {steps}");
                assert_ne!(source, destination);
                previous = destination;
            }
            assert_eq!(previous, Field::Output);
        }
    }

    #[test]
    fn cost_grows_with_steps() {
        let one = cost(100, 1);
        let ten = cost(100, 10);
        assert_eq!(ten.device_bytes, 10 * one.device_bytes);
        assert_eq!(one.flops, 7 * 100 * 100);
        assert_eq!(ten.upload_bytes, one.upload_bytes);
        // No overflow at absurd sizes: the CLI then refuses on memory.
        assert_eq!(Stencil.footprint(1 << 40).host_bytes, u64::MAX);
    }
}
