//! Every implementation of every registered kernel (each backend it lists, each variant on that
//! backend, defaults or not) verifies at n = 1 and at a small odd n, and fails verification once
//! its output is cleared. A kernel is tested here by being registered in `kernels::all()`; its
//! own test file keeps only what is specific to it (tolerances, edge sizes, chunking, pictures).

mod common;

use hpclab::Backend;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::{self, Implementation, Kernel, KernelOptions, Problem, reduce};

/// Work of one run at the larger size (flops, bytes or items, whichever is largest, from the
/// kernel's own cost model at its default options): O(n²) and O(n³) kernels get a small n, and
/// the whole file stays fast in a debug build on a software GPU.
const WORK_BUDGET: u64 = 1 << 21;

/// The larger size of a kernel whose work grows linearly: past the lane counts and a few
/// workgroups, not a multiple of any of them.
const LARGEST: u64 = 1001;

const SEED: u64 = 7;

/// n = 1, and the largest odd n ≤ [`LARGEST`] whose work is within [`WORK_BUDGET`].
fn sizes(kernel: &dyn Kernel) -> [usize; 2] {
    let work = |n: u64| {
        let cost = kernel.cost(n);
        let items = cost.items.map_or(0, |items| items.count);
        cost.flops.max(cost.device_bytes).max(items)
    };
    let n = (1..=LARGEST)
        .rev()
        .step_by(2)
        .find(|&n| work(n) <= WORK_BUDGET)
        .unwrap_or(1);
    [1, n as usize]
}

/// Every implementation of `kernel`: each backend with each of its variants there, or alone.
fn implementations(kernel: &dyn Kernel) -> Vec<Implementation> {
    let mut all = Vec::new();
    for &backend in kernel.backends() {
        match kernel.variants(backend) {
            [] => all.push(Implementation {
                backend,
                variant: None,
            }),
            variants => all.extend(variants.iter().map(|variant| Implementation {
                backend,
                variant: Some(variant),
            })),
        }
    }
    all
}

/// The output of a run just made must verify; cleared, it must not.
fn assert_verifies_then_fails_cleared(
    problem: &mut dyn Problem,
    implementation: Implementation,
    n: usize,
) {
    let name = problem.kernel().info().name;
    let label = implementation.label();
    let verification = problem.verify();
    assert!(
        verification.passed,
        "{name} on {label} at n={n}: {verification:?}"
    );
    problem.clear_output();
    let cleared = problem.verify();
    assert!(
        !cleared.passed,
        "{name} on {label} at n={n}: a cleared output must fail verification: {cleared:?}"
    );
}

#[test]
fn every_kernel_lists_its_implementations_and_prepares_problems_of_its_own() {
    for kernel in kernels::all() {
        let name = kernel.info().name;
        assert!(!implementations(kernel).is_empty(), "{name}");
        assert!(kernel.backends().contains(&Backend::Gpu), "{name}");
        let problem = kernel.prepare(1, SEED, &KernelOptions::default());
        assert_eq!(problem.kernel().info().name, name);
        for &backend in kernel.backends() {
            for variant in kernel.variants(backend) {
                assert_eq!(kernel.variant(backend, variant.name), Some(variant));
            }
        }
    }
}

#[test]
fn every_cpu_implementation_verifies_and_fails_once_cleared() {
    // Three threads, as a run's pool would hold them: chunks split unevenly.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let mut runs = 0;
    for kernel in kernels::all() {
        for n in sizes(kernel) {
            let mut problem = pool.install(|| kernel.prepare(n, SEED, &KernelOptions::default()));
            for implementation in implementations(kernel) {
                let Some(backend) = implementation.backend.cpu() else {
                    continue;
                };
                problem.clear_output();
                pool.install(|| problem.run_on(backend, implementation.variant));
                assert_verifies_then_fails_cleared(&mut *problem, implementation, n);
                runs += 1;
            }
        }
    }
    assert!(runs > 0);
}

/// Why this adapter cannot run `implementation`, when it is a variant that needs an optional
/// GPU feature the adapter lacks.
fn missing_feature(context: &GpuContext, implementation: Implementation) -> Option<&'static str> {
    (implementation.variant == Some(&reduce::SUBGROUP) && !context.subgroups).then_some("SUBGROUP")
}

#[test]
fn every_gpu_implementation_verifies_and_fails_once_cleared() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let mut runs = 0;
    for kernel in kernels::all() {
        for n in sizes(kernel) {
            let mut problem = kernel.prepare(n, SEED, &KernelOptions::default());
            for implementation in implementations(kernel) {
                if implementation.backend != Backend::Gpu {
                    continue;
                }
                let name = kernel.info().name;
                let label = implementation.label();
                if let Some(reason) = kernel.refusal(implementation, n as u64) {
                    eprintln!("{name} on {label} at n={n}: refused by its rule ({reason})");
                    continue;
                }
                if let Some(feature) = missing_feature(&context, implementation) {
                    eprintln!(
                        "*** {name} on {label}: {} lacks {feature}; not checked ***",
                        context.adapter.name
                    );
                    continue;
                }
                problem.clear_output();
                {
                    let mut run = problem
                        .gpu_run(&context, implementation.variant)
                        .unwrap_or_else(|e| panic!("{name} on {label} at n={n}: set-up: {e}"));
                    run.sample()
                        .unwrap_or_else(|e| panic!("{name} on {label} at n={n}: sample: {e}"));
                }
                assert_verifies_then_fails_cleared(&mut *problem, implementation, n);
                runs += 1;
            }
        }
    }
    assert!(runs > 0);
}
