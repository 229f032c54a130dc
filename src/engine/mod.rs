//! The measuring engine every command uses: a [`Plan`] of one measurement in, the run document
//! out. It times and verifies; kernels compute, `measure` does the statistics, `report` renders.
//! Commands and experiments build plans here; none of them times a kernel itself.

pub mod gpu_state;
pub mod plan;

pub use crate::kernels::Implementation;
pub use gpu_state::GpuState;
pub use plan::{Plan, PlanBuilder};

use crate::backend::{Backend, CpuBackend};
use crate::cpu::info::cache_levels;
use crate::environment::{Environment, Provenance};
use crate::error::{Error, Result};
use crate::experiments::run::{GpuSetupReport, RunDocument};
use crate::measure::Record;
use crate::measure::noise::record_warnings;
use crate::measure::record::{RecordInput, fill_speedups};
use crate::measure::residence::resides_in;
use crate::measure::runner::{take_samples, time_compute};
use crate::measure::verdict::judge;
use crate::report::progress::Progress;

/// Measures every implementation of `plan` and returns the run document. `quiet` hides the
/// progress bar (an experiment that runs many plans shows its own).
pub fn run(
    plan: &Plan,
    gpu_state: &GpuState,
    command_line: String,
    quiet: bool,
) -> Result<RunDocument> {
    gpu_state.check_buffer(plan)?;
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
    let progress = Progress::new(samples_each * implementations.len() as u64, quiet);
    let mut records = Vec::new();
    let mut gpu_setup: Option<GpuSetupReport> = None;
    let working_set_bytes = plan.kernel.footprint(plan.size).working_set_bytes;
    let caches = cache_levels();
    for implementation in implementations {
        let Implementation { backend, variant } = implementation;
        let threads = match backend {
            Backend::Rayon | Backend::Library => plan.threads,
            _ => 1,
        };
        progress.set_message(format!("{} on {}", info.name, implementation.label()));
        problem.clear_output();
        let samples = match (backend.cpu(), gpu) {
            (None, None) => continue,
            (None, Some(context)) => {
                let mut run = problem.gpu_run(context, variant)?;
                let setup = GpuSetupReport::new(&context.setup, run.setup());
                // Several GPU variants: report the compilation of all of them.
                gpu_setup = Some(match gpu_setup {
                    Some(earlier) => GpuSetupReport {
                        shader_compile_s: earlier.shader_compile_s + setup.shader_compile_s,
                        buffers_s: earlier.buffers_s + setup.buffers_s,
                        ..setup
                    },
                    None => setup,
                });
                take_samples(plan.sampling, || run.sample(), |_, _| progress.step())?
            }
            // Parallel backends run inside the pool so that the plan's threads hold.
            (Some(cpu @ (CpuBackend::Rayon | CpuBackend::Library)), _) => take_samples(
                plan.sampling,
                || Ok(pool.install(|| time_compute(|| problem.run_on(cpu, variant)))),
                |_, _| progress.step(),
            )?,
            (Some(cpu @ (CpuBackend::Scalar | CpuBackend::Simd)), _) => take_samples(
                plan.sampling,
                || Ok(time_compute(|| problem.run_on(cpu, variant))),
                |_, _| progress.step(),
            )?,
        };
        records.push(Record::from_samples(
            RecordInput {
                kernel: info.name,
                variant: variant.map(|v| v.name.to_string()),
                backend,
                size: plan.size,
                working_set_bytes,
                resides_in: resides_in(working_set_bytes, backend, threads, &caches),
                cost: problem
                    .cost_of(variant)
                    .unwrap_or_else(|| plan.kernel.cost(plan.size)),
                verification: problem.verify(),
                threads: (backend != Backend::Gpu).then_some(threads),
            },
            &samples,
        ));
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
        gpu_unavailable: gpu_state.unavailable.clone(),
        machine_model,
        comparison: None,
        baseline_command: None,
        records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::KernelOptions;
    use crate::measure::MeasureOptions;

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
