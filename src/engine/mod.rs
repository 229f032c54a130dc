//! The measuring engine every command uses: a [`Plan`] of one measurement in, the run document
//! out. It times and verifies; kernels compute, `measure` does the statistics, `report` renders.
//! Commands and experiments build plans here; none of them times a kernel itself.

pub mod gpu_state;
pub mod plan;
pub mod python_rung;

pub use crate::kernels::Implementation;
pub use gpu_state::GpuState;
pub use plan::{Plan, PlanBuilder};
use python_rung::PythonOutcome;

use crate::backend::{Backend, CpuBackend};
use crate::cpu::info::cache_levels;
use crate::environment::{Environment, Provenance};
use crate::error::{Error, Result};
use crate::experiments::roofline::{CEILING_FMAS, cpu_compute_ceiling};
use crate::experiments::run::{GpuSetupReport, NotRun, RunDocument};
use crate::kernels::Verification;
use crate::measure::Record;
use crate::measure::noise::record_warnings;
use crate::measure::record::{ComputeCeiling, RecordInput, fill_ladder_steps, fill_speedups};
use crate::measure::residence::resides_in;
use crate::measure::runner::{take_samples, time_compute};
use crate::measure::verdict::{MachineModel, judge};
use crate::report::progress::Progress;

/// Measures every implementation of `plan` and returns the run document. `quiet` hides the
/// progress bar (an experiment that runs many plans shows its own).
pub fn run(
    plan: &Plan,
    gpu_state: &GpuState,
    command_line: String,
    quiet: bool,
) -> Result<RunDocument> {
    gpu_state.check_plan(plan)?;
    let gpu = gpu_state.context.as_ref();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()
        .map_err(|e| {
            Error::usage(format!(
                "--threads {}: cannot start the thread pool: {e}",
                plan.threads
            ))
        })?;
    let info = plan.kernel.info();
    let mut problem = pool.install(|| {
        plan.kernel
            .prepare(plan.size as usize, plan.seed, &plan.kernel_options)
    });

    let implementations: Vec<Implementation> = plan
        .implementations
        .iter()
        .copied()
        .filter(|i| i.backend != Backend::Gpu || gpu.is_some())
        .collect();
    let samples_each = (plan.sampling.warmup + plan.sampling.runs) as u64;
    let progress = Progress::new(
        samples_each * implementations.len() as u64,
        "samples",
        quiet,
    );
    let mut records = Vec::new();
    let mut gpu_setup: Option<GpuSetupReport> = None;
    let mut python_setup = Vec::new();
    let mut not_run: Vec<NotRun> = plan
        .refused
        .iter()
        .map(|(implementation, reason)| NotRun {
            implementation: implementation.label(),
            reason: reason.clone(),
        })
        .collect();
    let working_set_bytes = plan.kernel.footprint(plan.size).working_set_bytes;
    let caches = cache_levels();
    for implementation in implementations {
        let Implementation { backend, variant } = implementation;
        let threads = match backend {
            Backend::Rayon | Backend::Library => plan.threads,
            _ if backend.is_python() => python_rung::row_threads(implementation, plan.threads),
            _ => 1,
        };
        progress.set_message(format!("{} on {}", info.name, implementation.label()));
        // The output is poisoned before every sample (a host memset, outside the timed work) and
        // checked after the first sample as well as after the last, so that neither a stale
        // result of an earlier sample nor a first sample that only later samples put right
        // passes. The record keeps the worse of the two.
        let mut first: Option<Verification> = None;
        let samples = match (backend.cpu(), gpu) {
            _ if backend.is_python() => {
                match python_rung::measure(plan, problem.as_mut(), implementation, &progress)? {
                    PythonOutcome::Ran(row) => {
                        first = row.first;
                        python_setup.push(row.setup);
                        row.samples
                    }
                    PythonOutcome::NotRun(reason) => {
                        if plan.backends_explicit {
                            return Err(Error::usage(format!(
                                "{} cannot run: {reason}",
                                implementation.label()
                            )));
                        }
                        not_run.push(NotRun {
                            implementation: implementation.label(),
                            reason,
                        });
                        continue;
                    }
                }
            }
            (None, None) => continue,
            (None, Some(context)) => {
                problem.clear_output();
                // The run borrows the problem until it is dropped, so the first sample is taken
                // on a run of its own and checked before a second run (pipelines cached,
                // buffers made again, device outputs poisoned as before) takes the rest. Its
                // set-up is the one reported.
                let (kernel_setup, first_sample) = {
                    let mut run = problem.gpu_run(context, variant)?;
                    let first_sample = match samples_each > 1 {
                        true => Some(run.sample()?),
                        false => None,
                    };
                    (run.setup(), first_sample)
                };
                let mut sampling = plan.sampling;
                if first_sample.is_some() {
                    progress.step();
                    first = Some(problem.verify());
                    problem.clear_output();
                    match sampling.warmup {
                        0 => sampling.runs -= 1,
                        _ => sampling.warmup -= 1,
                    }
                }
                let setup = GpuSetupReport::new(&context.setup, kernel_setup);
                // Several GPU variants: report the compilation of all of them.
                gpu_setup = Some(match gpu_setup {
                    Some(earlier) => GpuSetupReport {
                        shader_compile_s: earlier.shader_compile_s + setup.shader_compile_s,
                        buffers_s: earlier.buffers_s + setup.buffers_s,
                        ..setup
                    },
                    None => setup,
                });
                let mut run = problem.gpu_run(context, variant)?;
                let mut kept = take_samples(sampling, || run.sample(), |_, _| progress.step())?;
                // Without warm-up the first sample is a kept one.
                if let (0, Some(sample)) = (plan.sampling.warmup, first_sample) {
                    kept.insert(0, sample);
                }
                kept
            }
            (Some(cpu), _) => {
                // Parallel backends run inside the pool so that the plan's threads hold.
                let pooled = matches!(cpu, CpuBackend::Rayon | CpuBackend::Library);
                take_samples(
                    plan.sampling,
                    || {
                        problem.clear_output();
                        let sample = match pooled {
                            true => pool.install(|| time_compute(|| problem.run_on(cpu, variant))),
                            false => time_compute(|| problem.run_on(cpu, variant)),
                        };
                        if first.is_none() && samples_each > 1 {
                            first = Some(problem.verify());
                        }
                        Ok(sample)
                    },
                    |_, _| progress.step(),
                )?
            }
        };
        let last = problem.verify();
        let verification = match first {
            Some(first) => first.worse_of_first_and(last),
            None => last,
        };
        records.push(Record::from_samples(
            RecordInput {
                kernel: info.name,
                variant: variant.map(|v| v.name.to_string()),
                backend,
                size: plan.size,
                working_set_bytes,
                resides_in: resides_in(
                    match backend.is_python() {
                        // A Python worker's working set is its own objects, not hpclab's arrays.
                        true => working_set_bytes * plan::python_memory_factor(backend),
                        false => working_set_bytes,
                    },
                    backend,
                    threads,
                    &caches,
                ),
                cost: problem
                    .cost_of(variant)
                    .unwrap_or_else(|| plan.kernel.cost(plan.size)),
                verification,
                threads: (backend != Backend::Gpu).then_some(threads),
            },
            &samples,
        ));
        records.last_mut().expect("just pushed").checksum = problem.checksum();
    }
    progress.finish();
    let machine_model = if records.iter().any(|r| r.backend == Backend::Gpu) {
        gpu_state.model().copied()
    } else {
        None
    };
    if let Some(model) = &machine_model {
        for record in records.iter_mut().filter(|r| r.backend == Backend::Gpu) {
            record.verdict = Some(judge(record, model));
        }
    }
    if let Some(path) = &plan.kernel_options.image {
        problem.write_image(path)?;
    }
    fill_speedups(&mut records);
    if plan.ladder || plan.kernel.rows_are_a_ladder() {
        fill_ladder_steps(&mut records);
    }
    fill_ceilings(&mut records, machine_model.as_ref())?;
    let mut provenance = Provenance::new(
        command_line,
        Environment::capture(plan.threads, gpu.map(|g| g.adapter.clone())),
    );
    provenance.warnings.extend(record_warnings(&records));
    Ok(RunDocument {
        provenance,
        kernel: info.name.to_string(),
        size: plan.size,
        seed: plan.seed,
        warmup: plan.sampling.warmup,
        runs: plan.sampling.runs,
        gpu_setup,
        python_setup,
        not_run,
        gpu_unavailable: gpu_state.unavailable.clone(),
        machine_model,
        comparison: None,
        baseline_command: None,
        records,
    })
}

/// Each record of at least one flop per byte: its share of its device's measured compute
/// ceiling, the GPU's from the machine model's probe, the CPU's from the roofline probe on the
/// record's threads.
fn fill_ceilings(records: &mut [Record], model: Option<&MachineModel>) -> Result<()> {
    for record in records.iter_mut() {
        let Some(gflops) = record.gflops else {
            continue;
        };
        // Below one flop per byte a kernel is bound by memory on every device hpclab meets, and
        // its share of the FMA ceiling would read as a verdict on code that is not the limit.
        if (record.cost.flops as f64) < record.cost.device_bytes as f64 {
            continue;
        }
        let (ceiling, measured_by) = match (record.backend, record.threads, model) {
            (Backend::Gpu, _, Some(model)) => (
                model.device_gflops,
                "the machine model's GPU probe (256 dependent FMAs per element)".to_string(),
            ),
            (Backend::Gpu, _, None) => continue,
            (_, Some(threads), _) => (
                cpu_compute_ceiling(threads)?,
                format!(
                    "the roofline probe on {threads} thread{} ({CEILING_FMAS} dependent FMAs per element, 8 SIMD chains in flight, fastest of 10)",
                    if threads == 1 { "" } else { "s" }
                ),
            ),
            (_, None, _) => continue,
        };
        record.ceiling = Some(ComputeCeiling {
            gflops: ceiling,
            share: gflops / ceiling,
            measured_by,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::CpuLoop;
    use crate::gpu::GpuContext;
    use crate::kernels::verify::check_value;
    use crate::kernels::{
        Cost, CostModel, Footprint, GpuRun, GpuSetup, Kernel, KernelInfo, KernelOptions, Problem,
        Variant,
    };
    use crate::measure::{MeasureOptions, PhaseSample};

    fn quick(name: &str) -> PlanBuilder {
        Plan::kernel(name)
            .unwrap()
            .size(Some(1001))
            .sampling(MeasureOptions { warmup: 0, runs: 2 })
            .threads(Some(2))
    }

    #[test]
    fn a_plan_built_in_code_runs_and_verifies_each_implementation() {
        let plan = quick("triad")
            .backends(&[Backend::Simd, Backend::Scalar, Backend::Library])
            .build()
            .unwrap();
        // Library is not a triad backend: left out; the rest in table order.
        let backends: Vec<Backend> = plan.implementations.iter().map(|i| i.backend).collect();
        assert_eq!(backends, [Backend::Scalar, Backend::Simd]);
        let document = run(&plan, &GpuState::none(), "test".into(), true).unwrap();
        assert_eq!(document.records.len(), 2);
        for record in &document.records {
            assert!(record.verified, "{} failed", record.backend);
            assert_eq!(record.size, 1001);
            assert_eq!(record.phases.compute.samples_s.len(), 2);
        }
        assert_eq!(document.records[1].threads, Some(1));
    }

    /// A one-value kernel whose scalar run is right on every run but the `bad`-th, and which
    /// writes nothing after its `writes`-th run: the bugs the first and last checks catch.
    #[derive(Clone, Copy)]
    struct Flaky {
        bad: usize,
        writes: usize,
    }

    struct FlakyProblem {
        kernel: &'static Flaky,
        runs: usize,
        value: f32,
    }

    const FLAKY_INFO: KernelInfo = KernelInfo {
        name: "flaky",
        summary: "",
        reference: "",
        size_meaning: "",
        cost_model: CostModel {
            device_bytes: "",
            flops: "",
            upload_bytes: "",
            download_bytes: "",
        },
        scalar_loop: "",
        verification: "exact: 1",
    };

    impl Kernel for Flaky {
        fn info(&self) -> &KernelInfo {
            &FLAKY_INFO
        }
        fn cost(&self, _n: u64) -> Cost {
            Cost {
                device_bytes: 4,
                flops: 1,
                upload_bytes: 0,
                download_bytes: 0,
                items: None,
            }
        }
        fn footprint(&self, _n: u64) -> Footprint {
            Footprint {
                host_bytes: 4,
                largest_gpu_buffer_bytes: 4,
                gpu_bytes: 4,
                working_set_bytes: 4,
            }
        }
        fn prepare(&self, _n: usize, _seed: u64, _options: &KernelOptions) -> Box<dyn Problem> {
            // Leaked once per test: the problem names its kernel as `&'static`.
            let kernel: &'static Flaky = Box::leak(Box::new(*self));
            Box::new(FlakyProblem {
                kernel,
                runs: 0,
                value: f32::NAN,
            })
        }
    }

    impl Problem for FlakyProblem {
        fn kernel(&self) -> &'static dyn Kernel {
            self.kernel
        }
        fn run_loop(&mut self, _form: CpuLoop, _variant: Option<&'static Variant>) {
            self.runs += 1;
            if self.runs <= self.kernel.writes {
                self.value = if self.runs == self.kernel.bad {
                    2.0
                } else {
                    1.0
                };
            }
        }
        fn gpu_run<'a>(
            &'a mut self,
            _context: &'a GpuContext,
            _variant: Option<&'static Variant>,
        ) -> Result<Box<dyn GpuRun + 'a>> {
            Ok(Box::new(FlakyGpu(self)))
        }
        fn verify(&self) -> Verification {
            check_value(self.value as f64, 1.0, 0.0, FLAKY_INFO.verification)
        }
        fn clear_output(&mut self) {
            self.value = f32::NAN;
        }
    }

    /// Flaky "on the GPU": the same run, sampled through the engine's GPU path.
    struct FlakyGpu<'a>(&'a mut FlakyProblem);

    impl GpuRun for FlakyGpu<'_> {
        fn sample(&mut self) -> Result<PhaseSample> {
            self.0.run_loop(CpuLoop::Scalar, None);
            Ok(PhaseSample {
                upload_s: None,
                compute_wall_s: 1e-6,
                compute_timestamp_s: None,
                download_s: None,
            })
        }
        fn setup(&self) -> GpuSetup {
            GpuSetup::default()
        }
    }

    fn flaky_record_on(
        backend: Backend,
        gpu: &GpuState,
        flaky: &'static Flaky,
        warmup: usize,
        runs: usize,
    ) -> Record {
        let plan = PlanBuilder::new(flaky)
            .backends(&[backend])
            .size(Some(1))
            .sampling(MeasureOptions { warmup, runs })
            .build()
            .unwrap();
        let document = run(&plan, gpu, "test".into(), true).unwrap();
        let record = document.records.into_iter().next().unwrap();
        assert_eq!(
            record.phases.compute.samples_s.len(),
            runs,
            "every kept sample, the first included"
        );
        record
    }

    fn flaky_record(flaky: &'static Flaky, warmup: usize, runs: usize) -> Record {
        flaky_record_on(Backend::Scalar, &GpuState::none(), flaky, warmup, runs)
    }

    #[test]
    fn a_gpu_record_is_checked_after_its_first_sample_too() {
        let Some(context) = crate::gpu::context::test_gpu(None) else {
            return;
        };
        let gpu = GpuState::with(context);
        static RIGHT: Flaky = Flaky {
            bad: 0,
            writes: usize::MAX,
        };
        static FIRST_WRONG: Flaky = Flaky {
            bad: 1,
            writes: usize::MAX,
        };
        for warmup in [0, 1] {
            assert!(flaky_record_on(Backend::Gpu, &gpu, &RIGHT, warmup, 3).verified);
            let record = flaky_record_on(Backend::Gpu, &gpu, &FIRST_WRONG, warmup, 3);
            assert!(!record.verified, "warm-up {warmup}");
            let mismatch = record.verification.first_mismatch.as_deref().unwrap();
            assert!(mismatch.starts_with("first sample:"), "{mismatch}");
        }
    }

    #[test]
    fn the_record_fails_when_the_first_sample_is_wrong_or_a_later_one_writes_nothing() {
        static RIGHT: Flaky = Flaky {
            bad: 0,
            writes: usize::MAX,
        };
        assert!(flaky_record(&RIGHT, 1, 3).verified);
        // Wrong on the first sample only (a warm-up sample, discarded from the timing, still
        // checked); the last sample alone would pass.
        static FIRST_WRONG: Flaky = Flaky {
            bad: 1,
            writes: usize::MAX,
        };
        let record = flaky_record(&FIRST_WRONG, 1, 3);
        assert!(!record.verified);
        let mismatch = record.verification.first_mismatch.as_deref().unwrap();
        assert!(mismatch.starts_with("first sample:"), "{mismatch}");
        // Right once, then writes nothing: the output poisoned between samples shows it.
        static STALE: Flaky = Flaky { bad: 0, writes: 1 };
        assert!(!flaky_record(&STALE, 0, 2).verified);
        // One sample: checked once, as the last.
        assert!(flaky_record(&STALE, 0, 1).verified);
    }

    #[test]
    fn a_plan_refuses_what_the_kernel_does_not_have() {
        let error = |builder: PlanBuilder| match builder.build() {
            Err(Error::Usage(message)) => message,
            Err(other) => panic!("want a usage error, got {other}"),
            Ok(_) => panic!("want a usage error, got a plan"),
        };
        assert!(Plan::kernel("triads").is_err());
        assert!(
            error(quick("triad").backends(&[Backend::Library])).contains("none of the backends")
        );
        assert!(error(quick("triad").backends_named("scalar,warp")).contains("unknown backend"));
        assert!(error(quick("matmul").variants(Some("sideways"))).contains("no variant"));
        let steps = KernelOptions {
            steps: Some(3),
            ..KernelOptions::default()
        };
        assert!(error(quick("triad").kernel_options(steps)).contains("--steps"));
        assert!(error(quick("triad").size(Some(1 << 41))).contains("--size"));
    }

    #[test]
    fn at_size_and_with_threads_keep_everything_else() {
        let plan = quick("dot").backends(&[Backend::Rayon]).build().unwrap();
        let other = plan.at_size(4097).unwrap().with_threads(1);
        assert_eq!((other.size, other.threads), (4097, 1));
        assert_eq!(other.implementations, plan.implementations);
        assert_eq!(other.seed, plan.seed);
    }
}
