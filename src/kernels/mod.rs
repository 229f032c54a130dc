//! The kernels: what each one computes, what it costs, how its inputs are made, its four
//! implementations (scalar, simd, rayon, gpu) and how its result is checked.
//!
//! Adding a kernel means one Rust file that implements [`Kernel`] (and the [`Problem`] it
//! prepares) plus one shader in `shaders/`, and one line in [`all`].

pub mod inputs;
pub mod stream;
pub mod verify;

use crate::backend::Backend;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::measure::PhaseSample;
use serde::Serialize;

pub use verify::Verification;

/// What a kernel tells `hpclab list` about itself.
#[derive(Debug, Clone, Serialize)]
pub struct KernelInfo {
    /// Name on the command line.
    pub name: &'static str,
    /// One line: what it computes.
    pub summary: &'static str,
    /// Where it comes from (benchmark, book chapter).
    pub reference: &'static str,
    /// What `--size n` means for it.
    pub size_meaning: &'static str,
    /// The cost model as formulas of n.
    pub cost_model: CostModel,
    /// Whether the compiler may vectorize the plain scalar loop, and why.
    pub scalar_loop: &'static str,
    /// How a result is checked, with the tolerance and its justification.
    pub verification: &'static str,
}

/// The cost model written as formulas of n, for `hpclab list`.
#[derive(Debug, Clone, Serialize)]
pub struct CostModel {
    /// Bytes read and written in the memory the kernel computes from.
    pub device_bytes: &'static str,
    /// Floating-point operations (an FMA counts as 2).
    pub flops: &'static str,
    /// Bytes moved host→device before a GPU run.
    pub upload_bytes: &'static str,
    /// Bytes moved device→host after a GPU run.
    pub download_bytes: &'static str,
}

/// What a kernel moves and computes at one size: the basis of every GB/s and GFLOP/s figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// Bytes read and written in device (or main) memory by one compute phase.
    pub device_bytes: u64,
    /// Floating-point operations of one compute phase.
    pub flops: u64,
    /// Bytes moved host→device by one upload phase.
    pub upload_bytes: u64,
    /// Bytes moved device→host by one download phase.
    pub download_bytes: u64,
}

/// Memory a kernel needs at one size, checked before any work starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Host bytes: inputs, outputs and anything kept for verification.
    pub host_bytes: u64,
    /// The largest single GPU buffer.
    pub largest_gpu_buffer_bytes: u64,
    /// All GPU buffers together, staging and readback included.
    pub gpu_bytes: u64,
}

/// A kernel: the description and the factory of problems of a given size.
pub trait Kernel: Sync {
    /// Name, summary, cost formulas, verification rule.
    fn info(&self) -> &KernelInfo;
    /// The cost model at size `n`.
    fn cost(&self, n: u64) -> Cost;
    /// Memory needed at size `n`.
    fn footprint(&self, n: u64) -> Footprint;
    /// Makes the inputs of size `n` deterministically from `seed` and allocates the outputs
    /// (touching every page, so that nothing timed later pays for first-touch faults).
    fn prepare(&self, n: usize, seed: u64) -> Box<dyn Problem>;
}

/// A kernel's inputs and outputs at one size, ready to run on any backend.
pub trait Problem: Send {
    /// Runs once on a CPU backend (the caller times it; rayon work runs inside the caller's pool).
    fn run_cpu(&mut self, backend: Backend);
    /// Creates the GPU buffers, bind groups and pipelines (setup, not timed in any phase) and
    /// returns the runner of GPU samples.
    fn gpu<'a>(&'a mut self, context: &'a GpuContext) -> Result<Box<dyn GpuRun + 'a>>;
    /// Checks the output of the last run against the reference.
    fn verify(&self) -> Verification;
    /// Overwrites the output with NaN so that a backend that writes nothing fails verification
    /// instead of passing on the previous backend's result.
    fn clear_output(&mut self);
}

/// A kernel set up on the GPU.
pub trait GpuRun {
    /// One sample: upload the inputs, compute, download the output into the problem, each
    /// phase timed apart.
    fn sample(&mut self) -> Result<PhaseSample>;
    /// One-time costs paid to set this up.
    fn setup(&self) -> GpuSetup;
}

/// One-time GPU costs of a kernel, in seconds: reported under the table, never in a phase.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct GpuSetup {
    /// Compiling the kernel's shaders into pipelines (0 when already cached).
    pub shader_compile_s: f64,
    /// Allocating device, staging and readback buffers and creating bind groups.
    pub buffers_s: f64,
}

/// Every kernel, in the order `hpclab list` shows them.
pub fn all() -> Vec<&'static dyn Kernel> {
    vec![
        &stream::COPY,
        &stream::SCALE,
        &stream::ADD,
        &stream::TRIAD,
        &stream::dot::Dot,
    ]
}

/// The kernel called `name`.
pub fn find(name: &str) -> Option<&'static dyn Kernel> {
    all().into_iter().find(|k| k.info().name == name)
}
