//! One time step of n gravitating bodies, all pairs, with softening (Lanaro's particle
//! simulator, *Python High Performance*, extended from circular motion to gravity):
//!
//! `a_i = Σ_j m_j (r_j − r_i) / (|r_j − r_i|² + ε²)^{3/2}`, then `v_i += a_i·dt`, `x_i += v_i·dt`
//! (semi-implicit Euler: the position moves with the new velocity).
//!
//! The j = i term is zero (its distance is zero and ε > 0), so every body sums all n terms and
//! there are exactly n² interactions (compute-bound: the arithmetic-intensity lesson of lab 5).
//! The GPU version is the tiled one of Nyland, Harris & Prins (GPU Gems 3, ch. 31): a workgroup
//! loads a tile of bodies into workgroup memory once and every invocation reads them from there.
//! Variant `body-per-thread` gives each invocation one body; `split` (the default) gives each
//! body several invocations that share its walk, so that a moderate n still fills a large GPU.
//!
//! `cpu.rs` holds the three CPU backends and the f64 reference; `gpu.rs` the tiled GPU runs.

mod cpu;
pub mod gpu;

use crate::backend::{Backend, CpuLoop};
use crate::cpu::AlignedVec;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::inputs::uniform_f32;
use crate::kernels::stream::F32_ROUNDING;
use crate::kernels::verify::check_elements;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Items, Kernel, KernelInfo, KernelOptions, Problem, Variant,
    Verification,
};
use crate::python::{ArrayMut, ArrayRef, Dtype, Input, OutputSpec, PythonCall};

pub use cpu::{Bodies, rayon, reference, scalar, simd};

/// GPU: one body per invocation (the ladder's first step).
pub const BODY_PER_THREAD: Variant = Variant {
    name: "body-per-thread",
    summary: "one body per invocation, tiles of 128 through workgroup memory: n/128 workgroups \
              (8192 bodies: 64, fewer than a large GPU's SMs)",
    default: false,
};

/// GPU: several invocations per body, partial accelerations added in workgroup memory.
pub const SPLIT: Variant = Variant {
    name: "split",
    summary: "8 invocations per body, each walking 1/8 of every tile of 256, partials added in workgroup \
              memory: 8× the workgroups (8192 bodies: 256)",
    default: true,
};

static GPU_VARIANTS: [Variant; 2] = [BODY_PER_THREAD, SPLIT];

/// The softening length ε squared (ε = 0.05): keeps the force finite when two bodies nearly
/// meet, and makes the self-term exactly zero.
pub const SOFTENING_SQUARED: f32 = 0.0025;

/// The time step.
pub const DT: f32 = 0.01;

/// Flops per interaction, the usual convention (GPU Gems 3 ch. 31 counts 20): 3 subtractions,
/// the squared distance with softening (1 multiply, 2 FMA, 1 add = 6), square root and division
/// (2), the cube (2), times the mass (1), and 3 FMA into the acceleration (6).
pub const FLOPS_PER_INTERACTION: u64 = 20;

/// Flops per body of the update: 3 FMA for the velocity and 3 for the position.
pub const FLOPS_PER_BODY: u64 = 12;

/// The constant of the per-term part of the error bound, in units of 2^-24: the terms' own
/// roundings (difference, squared distance, square root or inverseSqrt of up to 2 ULP, cube,
/// mass) stay below about 30 units; this allows twice that.
const TERM_ROUNDINGS: f64 = 64.0;

/// The n-body kernel.
pub struct NBody;

/// What `hpclab list` says about nbody.
pub const INFO: KernelInfo = KernelInfo {
    name: "nbody",
    summary: "one all-pairs gravitational step with softening: a_i = Σ_j m_j (r_j − r_i)/(|r_j − r_i|² + ε²)^{3/2}, \
              then v += a·dt, x += v·dt; n² interactions on O(n) data, compute-bound; GPU tiled through \
              workgroup memory, one body per invocation or split over 8",
    reference: "Lanaro, Python High Performance, ch. 1 (the particle simulator, here with gravity); \
                Nyland, Harris & Prins, GPU Gems 3, ch. 31 (tiled all-pairs)",
    size_meaning: "n = bodies (f32 positions, velocities, masses), n ≥ 1; n² interactions",
    cost_model: CostModel {
        device_bytes: "64·n (read positions, masses and velocities, write positions and velocities once; \
                       the n² re-reads of the positions hit cache / workgroup memory)",
        flops: "20·n² + 12·n (20 flops per interaction, the usual convention; 12 per body for the update)",
        upload_bytes: "32·n (positions with masses, velocities: 4 f32 each)",
        download_bytes: "32·n (new positions with masses, new velocities)",
    },
    scalar_loop: "not vectorized: the inner loop over j sums into one acceleration in strict order, and the \
                  compiler may not reorder float additions; explicit SIMD computes LANES interactions at once \
                  with partial sums per lane",
    verification: "acceleration: |a - a64| <= (64 + 8·sqrt(n))·2^-24·Σ_j|m_j (r_j − r_i)/(…)^{3/2}| per component \
                   (per-term roundings, plus the probabilistic bound of a sum of n terms, Higham & Mary 2019, λ = 8, \
                   as for dot: it grows with n); velocity and position carry it through the update with dt and \
                   two roundings each; masses are copied exactly; f64 reference from the same f32 inputs",
};

impl Kernel for NBody {
    fn default_size(&self) -> u64 {
        // 8192 bodies: 67 M interactions per step.
        8192
    }

    fn info(&self) -> &KernelInfo {
        &INFO
    }

    fn cost(&self, n: u64) -> Cost {
        let pairs = n.saturating_mul(n);
        Cost {
            device_bytes: n.saturating_mul(64),
            flops: pairs
                .saturating_mul(FLOPS_PER_INTERACTION)
                .saturating_add(n.saturating_mul(FLOPS_PER_BODY)),
            upload_bytes: n.saturating_mul(32),
            download_bytes: n.saturating_mul(32),
            items: Some(Items {
                count: pairs,
                unit: "interactions",
            }),
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        Footprint {
            // 7 SoA input arrays (28n), the packed GPU inputs (32n), the output (32n) and the
            // expected values with their tolerances (128n).
            host_bytes: n.saturating_mul(28 + 32 + 32 + 128),
            largest_gpu_buffer_bytes: n.saturating_mul(16),
            // Four arrays of 16n with a staging or readback buffer each.
            gpu_bytes: n.saturating_mul(128),
            // The SoA inputs and the output.
            working_set_bytes: n.saturating_mul(28 + 32),
        }
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Gpu => &GPU_VARIANTS,
            _ => &[],
        }
    }

    fn check_gpu(
        &self,
        n: u64,
        _options: &KernelOptions,
        variant: Option<&'static Variant>,
        gpu: &GpuContext,
    ) -> Result<()> {
        gpu::check(n, variant, gpu)
    }

    fn prepare(&self, n: usize, seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
        Box::new(NBodyProblem::new(n, seed))
    }
}

/// The bodies of one run, the output and the expected values.
pub struct NBodyProblem {
    n: usize,
    /// Positions, masses and velocities as arrays (the CPU backends load lanes of j from them).
    x: AlignedVec<f32>,
    y: AlignedVec<f32>,
    z: AlignedVec<f32>,
    m: AlignedVec<f32>,
    vx: AlignedVec<f32>,
    vy: AlignedVec<f32>,
    vz: AlignedVec<f32>,
    /// The same bodies packed for the GPU: (x, y, z, m) and (vx, vy, vz, 0) per body.
    packed_bodies: AlignedVec<f32>,
    packed_velocities: AlignedVec<f32>,
    /// The new positions with masses (x, y, z, m) of every body, then the new velocities
    /// (vx, vy, vz, 0): 8n values.
    output: AlignedVec<f32>,
    /// Exact value and allowed error of every output value.
    expected: Vec<(f64, f64)>,
}

impl NBodyProblem {
    /// n bodies from `seed`: positions uniform in [−1, 1)³, masses uniform in [0.5, 1.5)/n (a
    /// total mass near 1, so accelerations stay of order 1 at any n), velocities uniform in
    /// [−0.05, 0.05)³.
    pub fn new(n: usize, seed: u64) -> Self {
        let spread = |stream, low: f32, width: f32| {
            let mut values = uniform_f32(n, seed, stream);
            values.iter_mut().for_each(|v| *v = low + width * *v);
            values
        };
        let (x, y, z) = (
            spread(0, -1.0, 2.0),
            spread(1, -1.0, 2.0),
            spread(2, -1.0, 2.0),
        );
        let m = {
            let mut m = uniform_f32(n, seed, 3);
            m.iter_mut().for_each(|v| *v = (0.5 + *v) / n as f32);
            m
        };
        let (vx, vy, vz) = (
            spread(4, -0.05, 0.1),
            spread(5, -0.05, 0.1),
            spread(6, -0.05, 0.1),
        );
        let mut packed_bodies = AlignedVec::zeroed(4 * n);
        let mut packed_velocities = AlignedVec::zeroed(4 * n);
        for i in 0..n {
            packed_bodies[4 * i..4 * i + 4].copy_from_slice(&[x[i], y[i], z[i], m[i]]);
            packed_velocities[4 * i..4 * i + 4].copy_from_slice(&[vx[i], vy[i], vz[i], 0.0]);
        }
        let mut problem = NBodyProblem {
            n,
            x,
            y,
            z,
            m,
            vx,
            vy,
            vz,
            packed_bodies,
            packed_velocities,
            output: AlignedVec::filled(8 * n, f32::NAN),
            expected: Vec::new(),
        };
        problem.expected = expected_values(&problem.bodies(), n);
        problem
    }

    /// The inputs as the CPU backends read them.
    pub fn bodies(&self) -> Bodies<'_> {
        Bodies {
            x: &self.x,
            y: &self.y,
            z: &self.z,
            m: &self.m,
            vx: &self.vx,
            vy: &self.vy,
            vz: &self.vz,
        }
    }

    /// The output of the last run: new positions with masses, then new velocities (4 values
    /// per body each).
    pub fn output(&self) -> &[f32] {
        &self.output
    }

    /// Number of bodies.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Checks any output of the layout of [`NBodyProblem::output`] against the reference (what
    /// `verify` does with the last run's output; tests use it to show what the bound catches).
    pub fn check(&self, output: &[f32]) -> Verification {
        if output.len() != self.expected.len() {
            return check_elements(&[f32::NAN], INFO.verification, |_| (0.0, 0.0));
        }
        check_elements(output, INFO.verification, |i| self.expected[i])
    }
}

/// The exact value and the allowed error of each of the 8n output values (see [`INFO`]).
fn expected_values(bodies: &Bodies<'_>, n: usize) -> Vec<(f64, f64)> {
    let (dt, u) = (DT as f64, F32_ROUNDING);
    let per_term = (TERM_ROUNDINGS + 8.0 * (n as f64).sqrt()) * u;
    let sums = reference(bodies);
    let mut expected = vec![(0.0, 0.0); 8 * n];
    let (positions, velocities) = expected.split_at_mut(4 * n);
    for (i, sum) in sums.iter().enumerate() {
        let x = [bodies.x[i], bodies.y[i], bodies.z[i]];
        let v = [bodies.vx[i], bodies.vy[i], bodies.vz[i]];
        for c in 0..3 {
            let (a, magnitude) = (sum.acceleration[c], sum.magnitude[c]);
            let error_a = per_term * magnitude;
            let (x, v) = (x[c] as f64, v[c] as f64);
            let v1 = v + a * dt;
            let error_v = dt * error_a + 2.0 * u * (v.abs() + dt * (a.abs() + error_a));
            let x1 = x + v1 * dt;
            let error_x = dt * error_v + 2.0 * u * (x.abs() + dt * (v1.abs() + error_v));
            positions[4 * i + c] = (x1, error_x);
            velocities[4 * i + c] = (v1, error_v);
        }
        positions[4 * i + 3] = (bodies.m[i] as f64, 0.0);
        velocities[4 * i + 3] = (0.0, 0.0);
    }
    expected
}

impl Problem for NBodyProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        &NBody
    }

    fn run_loop(&mut self, form: CpuLoop, _variant: Option<&'static Variant>) {
        let bodies = Bodies {
            x: &self.x,
            y: &self.y,
            z: &self.z,
            m: &self.m,
            vx: &self.vx,
            vy: &self.vy,
            vz: &self.vz,
        };
        let output = &mut self.output[..];
        match form {
            CpuLoop::Scalar => scalar(&bodies, output),
            CpuLoop::Simd => simd(&bodies, output),
            CpuLoop::Rayon => rayon(&bodies, output),
        }
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        gpu::run(self, context, variant)
    }

    fn verify(&self) -> Verification {
        self.check(&self.output)
    }

    fn clear_output(&mut self) {
        self.output.fill(f32::NAN);
    }

    /// The seven arrays of the bodies; ε² and dt as the f32 values widened (as the reference
    /// uses them).
    fn python_call(&self) -> PythonCall<'_> {
        let n = self.n;
        let arrays: [(&'static str, &[f32]); 7] = [
            ("x", &self.x),
            ("y", &self.y),
            ("z", &self.z),
            ("m", &self.m),
            ("vx", &self.vx),
            ("vy", &self.vy),
            ("vz", &self.vz),
        ];
        PythonCall {
            params: serde_json::json!({
                "softening_squared": SOFTENING_SQUARED as f64,
                "dt": DT as f64,
            }),
            inputs: arrays
                .into_iter()
                .map(|(name, values)| Input {
                    name,
                    shape: vec![n],
                    data: ArrayRef::Float32(values),
                })
                .collect(),
            outputs: vec![OutputSpec::new("bodies", &[2, n, 4], Dtype::Float32)],
        }
    }

    /// The same check for every rung. numpy and numba compute in f32: numba in the scalar
    /// loop's order, numpy with NumPy's pairwise sums over j, whose error is below the bound's
    /// (it holds for any order of the n terms). Pure Python computes in f64 in the reference's
    /// order and rounds each value to f32 once: at most 2^-24 relative, below the two roundings
    /// the bound allows for each updated velocity and position.
    fn python_outputs(
        &mut self,
        _rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        vec![ArrayMut::Float32(&mut self.output)]
    }
}
