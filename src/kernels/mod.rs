//! The kernels: what each one computes, what it costs, how its inputs are made, its
//! implementations per backend and variant, and how its result is checked.
//!
//! Adding a kernel means implementing [`Kernel`] (and the [`Problem`] it prepares), a shader in
//! `shaders/`, and one line in [`all`]; `tests/conformance.rs` then runs every implementation.

pub mod fractal;
pub mod histogram;
pub mod inputs;
pub mod matmul;
pub mod nbody;
pub mod pi;
pub mod reduce;
pub mod stencil;
pub mod stream;
pub mod verify;

use crate::backend::{Backend, CpuBackend, CpuLoop};
use crate::error::{Error, Result};
use crate::gpu::GpuContext;
use crate::python::{ArrayMut, PythonCall};
use serde::Serialize;
use std::path::PathBuf;

pub use crate::gpu::{GpuRun, GpuSetup};
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

/// Units of work a kernel counts besides flops (pixels, interactions, samples), for a rate
/// in the table such as "interactions/s".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Items {
    /// Units of work in one compute phase.
    pub count: u64,
    /// Their name, plural: `pixels`, `interactions`, `samples`.
    pub unit: &'static str,
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
    /// Units of work, for kernels whose natural rate is not bytes or flops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Items>,
}

/// An implementation of a kernel on one backend, when the kernel has several there (naive and
/// tiled matmul, resident and round-trip stencil, …). Each runs as its own row and record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Variant {
    /// Name in `--variant` and in the record's `"variant"`.
    pub name: &'static str,
    /// One line: what it does differently.
    pub summary: &'static str,
    /// True when it runs without `--variant` naming it.
    pub default: bool,
}

/// The Numba rung's variants: the loop compiled for one thread, and split over threads with
/// `prange` (the course's threads rung in Python).
pub const NUMBA_VARIANTS: [Variant; 2] = [
    Variant {
        name: "serial",
        summary: "@njit on the plain loop: compiled just in time, one thread",
        default: true,
    },
    Variant {
        name: "parallel",
        summary: "@njit(parallel=True) with prange: the loop split over the plan's threads",
        default: false,
    },
];

/// One row of a run: a backend and, where the kernel has several implementations there, the
/// variant, resolved once from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Implementation {
    /// Where it runs.
    pub backend: Backend,
    /// Which of the kernel's variants on that backend; `None` when it has one implementation
    /// there.
    pub variant: Option<&'static Variant>,
}

impl Implementation {
    /// How tables and progress name it: `gpu tiled`, `rayon`.
    pub fn label(&self) -> String {
        match self.variant {
            Some(variant) => format!("{} {}", self.backend, variant.name),
            None => self.backend.to_string(),
        }
    }
}

/// A kernel's output as a picture (`--image`): row-major values scaled to [0, 1], NaN where the
/// picture is black. `report::image` turns it into a PNG.
#[derive(Debug, Clone, PartialEq)]
pub struct Picture {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height` values, row after row.
    pub values: Vec<f32>,
}

/// A kernel-specific command-line option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KernelOption {
    /// `--max-iter`: iteration cap of escape-time fractals.
    MaxIter,
    /// `--steps`: time steps of a simulation.
    Steps,
    /// `--image FILE.png`: write the result as a picture.
    Image,
    /// `--window X0,X1,Y0,Y1`: the region of the complex plane an escape-time fractal draws.
    Window,
    /// `--c RE,IM`: the Julia set's constant.
    C,
}

impl KernelOption {
    /// The flag as typed.
    pub fn flag(self) -> &'static str {
        match self {
            KernelOption::MaxIter => "--max-iter",
            KernelOption::Steps => "--steps",
            KernelOption::Image => "--image",
            KernelOption::Window => "--window",
            KernelOption::C => "--c",
        }
    }
}

/// Values of the kernel-specific options; each kernel reads the ones it declares and uses its
/// own default for those not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelOptions {
    pub max_iter: Option<u32>,
    pub steps: Option<u32>,
    pub image: Option<PathBuf>,
    /// `[x0, x1, y0, y1]`, checked (x0 < x1, y0 < y1, finite) when parsed.
    pub window: Option<[f64; 4]>,
    /// `[re, im]`, finite.
    pub c: Option<[f64; 2]>,
}

impl KernelOptions {
    /// The options that were given.
    pub fn given(&self) -> Vec<KernelOption> {
        let mut given = Vec::new();
        if self.max_iter.is_some() {
            given.push(KernelOption::MaxIter);
        }
        if self.steps.is_some() {
            given.push(KernelOption::Steps);
        }
        if self.image.is_some() {
            given.push(KernelOption::Image);
        }
        if self.window.is_some() {
            given.push(KernelOption::Window);
        }
        if self.c.is_some() {
            given.push(KernelOption::C);
        }
        given
    }
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
    /// The bytes one compute phase touches (inputs, outputs, scratch; not the reference): what
    /// decides which cache level a run's data lives in.
    pub working_set_bytes: u64,
}

/// A kernel: the description and the factory of problems of a given size.
pub trait Kernel: Sync {
    /// Name, summary, cost formulas, verification rule.
    fn info(&self) -> &KernelInfo;
    /// The cost model at size `n` with the kernel's default options (a prepared problem may
    /// know better: see [`Problem::cost`]).
    fn cost(&self, n: u64) -> Cost;
    /// Memory needed at size `n`.
    fn footprint(&self, n: u64) -> Footprint;
    /// The size `run` uses without `--size`: large enough to leave the caches (or to keep a
    /// device busy), small enough to finish in seconds on a laptop.
    fn default_size(&self) -> u64 {
        1 << 25
    }
    /// The backends it runs on (the standard four unless it also has a `library` one).
    fn backends(&self) -> &'static [Backend] {
        &Backend::STANDARD
    }
    /// Its variants on `backend` among the compiled backends; empty when it has one
    /// implementation there.
    fn native_variants(&self, _backend: Backend) -> &'static [Variant] {
        &[]
    }
    /// The Python rungs it has: all three when `python/kernels/NAME.py` exists (a kernel with
    /// that module implements [`Problem::python_call`] and [`Problem::python_outputs`]).
    fn python_rungs(&self) -> &'static [Backend] {
        match crate::python::sources::has_kernel(self.info().name) {
            true => &Backend::PYTHON_RUNGS,
            false => &[],
        }
    }
    /// Every backend it runs on, the Python rungs included (`--backend` accepts these; `all`
    /// means [`Kernel::backends`] only).
    fn every_backend(&self) -> Vec<Backend> {
        let mut every: Vec<Backend> = self
            .backends()
            .iter()
            .chain(self.python_rungs())
            .copied()
            .collect();
        every.sort();
        every
    }
    /// True when its rows, in table order, are an optimisation ladder (each a step past the one
    /// above: matmul's scalar → simd → rayon → library and its GPU ladder), so that every run
    /// shows each row's speed-up over the row above, as `--backend ladder` does.
    fn rows_are_a_ladder(&self) -> bool {
        false
    }
    /// Why `implementation` cannot run at size `n`, known before any work (the vec4 matmul at a
    /// size that is not a multiple of 4); `None` when it can.
    fn refusal(&self, _implementation: Implementation, _n: u64) -> Option<String> {
        None
    }
    /// Its variants on `backend`; empty when it has one implementation there. Numba's are the
    /// same for every kernel that has the rung.
    fn variants(&self, backend: Backend) -> &'static [Variant] {
        if backend.is_python() {
            return match backend == Backend::Numba && self.python_rungs().contains(&backend) {
                true => &NUMBA_VARIANTS,
                false => &[],
            };
        }
        self.native_variants(backend)
    }
    /// Its variant called `name` on `backend`, if it has one.
    fn variant(&self, backend: Backend, name: &str) -> Option<&'static Variant> {
        self.variants(backend).iter().find(|v| v.name == name)
    }
    /// The kernel-specific options it takes.
    fn options(&self) -> &'static [KernelOption] {
        &[]
    }
    /// Refuses, before the inputs and the reference are made, a GPU run of `variant` that `gpu`
    /// cannot do at size `n` (a binding too small, a loop longer than the driver runs).
    fn check_gpu(
        &self,
        _n: u64,
        _options: &KernelOptions,
        _variant: Option<&'static Variant>,
        _gpu: &GpuContext,
    ) -> Result<()> {
        Ok(())
    }
    /// Makes the inputs of size `n` deterministically from `seed` and allocates the outputs
    /// (touching every page, so that nothing timed later pays for first-touch faults).
    fn prepare(&self, n: usize, seed: u64, options: &KernelOptions) -> Box<dyn Problem>;
}

/// A kernel's inputs and outputs at one size, ready to run on any backend.
///
/// The typed methods ([`run_on`](Problem::run_on), [`gpu_run`](Problem::gpu_run),
/// [`cost_of`](Problem::cost_of)) take a variant already resolved against
/// [`Kernel::variants`]; `None` is the kernel's only (or first) implementation on that backend.
/// [`run_cpu`](Problem::run_cpu), [`gpu`](Problem::gpu) and [`cost`](Problem::cost) are the
/// by-name convenience over them, for tests and tools that hold a name.
pub trait Problem: Send {
    /// The kernel that prepared this problem (to resolve variant names).
    fn kernel(&self) -> &'static dyn Kernel;
    /// Runs once as one of the host loops (the caller times it; rayon work runs inside the
    /// caller's pool). `variant` is one of the kernel's variants on that backend, or `None`.
    fn run_loop(&mut self, form: CpuLoop, variant: Option<&'static Variant>);
    /// Runs once through the kernel's library crate. Only a kernel that lists
    /// [`Backend::Library`] overrides this, and a plan offers that backend to no other.
    fn run_library(&mut self, _variant: Option<&'static Variant>) {
        unreachable!("{} has no library backend", self.kernel().info().name)
    }
    /// Runs once on a CPU backend: [`run_loop`](Problem::run_loop) or
    /// [`run_library`](Problem::run_library).
    fn run_on(&mut self, backend: CpuBackend, variant: Option<&'static Variant>) {
        match backend.as_loop() {
            Some(form) => self.run_loop(form, variant),
            None => self.run_library(variant),
        }
    }
    /// Creates the GPU buffers, bind groups and pipelines for `variant` (setup, not timed in
    /// any phase) and returns the runner of GPU samples.
    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>>;
    /// Checks the output of the last run against the reference.
    fn verify(&self) -> Verification;
    /// Overwrites the output with NaN so that a backend that writes nothing fails verification
    /// instead of passing on the previous backend's result.
    fn clear_output(&mut self);
    /// The cost of this problem when it depends on its options, data or variant, known once it
    /// is prepared (the stencil's `--steps` and the round trip's transfers; an escape-time
    /// kernel's flops follow its reference's iteration count); `None` means [`Kernel::cost`] at
    /// its size, which the run then uses.
    fn cost_of(&self, _variant: Option<&'static Variant>) -> Option<Cost> {
        None
    }
    /// Its parameters, inputs and expected outputs for a Python rung. Only a kernel that lists
    /// [`Kernel::python_rungs`] overrides this, and a plan offers those rungs to no other.
    fn python_call(&self) -> PythonCall<'_> {
        unreachable!("{} has no Python rungs", self.kernel().info().name)
    }
    /// Lends its outputs, in [`Problem::python_call`]'s order, to read the results of `rung`
    /// into; a check that depends on how the result was computed (a summation bound, the
    /// precision) is set for `rung` here.
    fn python_outputs(
        &mut self,
        _rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        unreachable!("{} has no Python rungs", self.kernel().info().name)
    }
    /// The last output as a picture, for kernels that take `--image`.
    fn picture(&self) -> Option<Picture> {
        None
    }
    /// A checksum of the last output that the record carries (`"checksum"`): the escape-time
    /// kernels' sum of all counts; `None` for the others.
    fn checksum(&self) -> Option<u64> {
        None
    }

    /// By name: [`run_on`](Problem::run_on) with `variant` resolved on `backend` (without a
    /// name, nothing is looked up, so a caller that times this times only the run).
    ///
    /// # Panics
    /// On the GPU backend, a backend the kernel lacks, or a variant it does not have there.
    fn run_cpu(&mut self, backend: Backend, variant: Option<&str>) {
        let Some(cpu) = backend.cpu() else {
            panic!("{} has no CPU backend {backend}", self.kernel().info().name)
        };
        let variant = variant.map(|wanted| {
            let kernel = self.kernel();
            kernel.variant(backend, wanted).unwrap_or_else(|| {
                panic!("{} has no {backend} variant '{wanted}'", kernel.info().name)
            })
        });
        self.run_on(cpu, variant);
    }

    /// By name: [`gpu_run`](Problem::gpu_run) with `variant` resolved on the GPU; a name the
    /// kernel does not have there is a usage error.
    fn gpu<'a>(
        &'a mut self,
        context: &'a GpuContext,
        variant: Option<&str>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        let variant = match variant {
            None => None,
            Some(wanted) => {
                let kernel = self.kernel();
                let found = kernel.variant(Backend::Gpu, wanted).ok_or_else(|| {
                    let names: Vec<&str> = kernel
                        .variants(Backend::Gpu)
                        .iter()
                        .map(|v| v.name)
                        .collect();
                    Error::usage(format!(
                        "{} has no GPU variant '{wanted}'; it has {}",
                        kernel.info().name,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ))
                })?;
                Some(found)
            }
        };
        self.gpu_run(context, variant)
    }

    /// By name: [`cost_of`](Problem::cost_of) with `variant` looked up on the kernel's
    /// backends in table order (a name it does not have counts as `None`).
    fn cost(&self, variant: Option<&str>) -> Option<Cost> {
        let kernel = self.kernel();
        let variant = variant.and_then(|wanted| {
            kernel
                .backends()
                .iter()
                .find_map(|&backend| kernel.variant(backend, wanted))
        });
        self.cost_of(variant)
    }
}

/// Every kernel, in the order `hpclab list` shows them.
pub fn all() -> Vec<&'static dyn Kernel> {
    vec![
        &stream::COPY,
        &stream::SCALE,
        &stream::ADD,
        &stream::TRIAD,
        &stream::dot::Dot,
        &fractal::MANDELBROT,
        &fractal::JULIA,
        &matmul::Matmul,
        &stencil::Stencil,
        &nbody::NBody,
        &pi::Pi,
        &histogram::Histogram,
        &reduce::Reduce,
    ]
}

/// The kernel called `name`.
pub fn find(name: &str) -> Option<&'static dyn Kernel> {
    all().into_iter().find(|k| k.info().name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_resolve_by_name_and_label_their_row() {
        let tiled = matmul::Matmul.variant(Backend::Gpu, "tiled").unwrap();
        assert_eq!(*tiled, matmul::TILED);
        assert!(matmul::Matmul.variant(Backend::Simd, "tiled").is_none());
        assert!(matmul::Matmul.variant(Backend::Gpu, "strassen").is_none());
        let row = Implementation {
            backend: Backend::Gpu,
            variant: Some(tiled),
        };
        assert_eq!(row.label(), "gpu tiled");
        let row = Implementation {
            backend: Backend::Rayon,
            variant: None,
        };
        assert_eq!(row.label(), "rayon");
    }

    #[test]
    fn the_by_name_methods_resolve_once_and_refuse_unknown_names() {
        let mut problem = stencil::Stencil.prepare(5, 1, &KernelOptions::default());
        assert_eq!(problem.kernel().info().name, "stencil");
        let resident = problem.cost(None).unwrap();
        let roundtrip = problem.cost(Some("roundtrip")).unwrap();
        assert_eq!(
            roundtrip,
            problem.cost_of(Some(&stencil::ROUNDTRIP)).unwrap()
        );
        assert_eq!(
            roundtrip.upload_bytes,
            resident.upload_bytes * stencil::DEFAULT_STEPS as u64
        );
        problem.run_cpu(Backend::Scalar, None);
        assert!(problem.verify().passed);
        let reduce = reduce::Reduce.prepare(9, 1, &KernelOptions::default());
        assert_eq!(reduce.kernel().info().name, "reduce");
    }

    #[test]
    #[should_panic(expected = "reduce has no scalar variant 'tree'")]
    fn run_cpu_refuses_a_variant_of_another_backend() {
        reduce::Reduce
            .prepare(9, 1, &KernelOptions::default())
            .run_cpu(Backend::Scalar, Some("tree"));
    }

    #[test]
    #[should_panic(expected = "nbody has no CPU backend gpu")]
    fn run_cpu_refuses_the_gpu() {
        nbody::NBody
            .prepare(3, 1, &KernelOptions::default())
            .run_cpu(Backend::Gpu, None);
    }
}
