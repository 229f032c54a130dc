//! The n-body step's own checks: every GPU variant against the reference at odd sizes, the
//! split's grid, the clean refusal when the bodies do not fit one storage binding or the
//! driver's loop cap, and a tolerance that catches one missing body, on the CPU and in a GPU
//! result corrupted the way a broken split would leave it. (Every backend at n = 1 and one odd
//! size, and a cleared output failing, is also in `conformance.rs`.)

mod common;

use hpclab::gpu::GpuRequest;
use hpclab::kernels::nbody::gpu::{INVOCATIONS_PER_BODY, Shape};
use hpclab::kernels::nbody::{self, BODY_PER_THREAD, NBody, NBodyProblem, SPLIT};
use hpclab::kernels::{Kernel, Problem};

/// Every GPU variant of nbody, by name.
const VARIANTS: [&str; 2] = ["body-per-thread", "split"];

#[test]
fn every_gpu_variant_matches_the_reference_at_odd_sizes() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let listed: Vec<&str> = NBody
        .variants(hpclab::Backend::Gpu)
        .iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(listed, VARIANTS);
    // 1 body; fewer than one split workgroup's bodies; one past a tile of 128; several tiles
    // and workgroups, a multiple of nothing.
    for n in [1, 7, 129, 1000] {
        let mut problem = NBodyProblem::new(n, 3);
        for variant in VARIANTS {
            problem.clear_output();
            assert!(!problem.verify().passed, "{variant} n={n}: cleared passes");
            common::assert_gpu_run_verifies(&mut problem, &context, variant, &format!("n={n}"));
        }
    }
}

#[test]
fn without_a_variant_the_gpu_runs_split() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    // `hpclab run nbody` runs split alone; body-per-thread needs --variant.
    let defaults: Vec<&str> = NBody
        .variants(hpclab::Backend::Gpu)
        .iter()
        .filter(|v| v.default)
        .map(|v| v.name)
        .collect();
    assert_eq!(defaults, ["split"]);
    let mut problem = NBodyProblem::new(300, 4);
    common::gpu_samples(&mut problem, &context, None, 1);
    common::assert_verifies(&problem, "gpu without --variant");
}

#[test]
fn split_fills_a_large_gpu_at_the_default_size() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let n = NBody.default_size();
    assert_eq!(n, 8192);
    let split = Shape::of(Some(&SPLIT), &context);
    let per_thread = Shape::of(Some(&BODY_PER_THREAD), &context);
    assert_eq!(split, Shape::of(None, &context), "None is split");
    assert_eq!(split.split, INVOCATIONS_PER_BODY);
    // An H100 has 132 SMs: body-per-thread leaves half idle, split gives each about two.
    if context.adapter.max_invocations_per_workgroup >= 256 {
        assert_eq!(per_thread.groups(n, &context), 64);
        assert!(split.groups(n, &context) >= 256, "{split:?}");
    }
}

/// The accelerations of `problem`'s bodies without the pull of the bodies j that one of the
/// split's invocations walks (j ≡ `part` mod the split): what a body whose partial of that
/// invocation is lost (a reduction that stops one short, a race on the partials) gets.
fn without_one_partial(problem: &NBodyProblem, part: usize) -> Vec<f32> {
    let bodies = problem.bodies();
    let mut masses = bodies.m.to_vec();
    for (j, m) in masses.iter_mut().enumerate() {
        if j % INVOCATIONS_PER_BODY as usize == part {
            *m = 0.0;
        }
    }
    let mut output = vec![f32::NAN; 8 * problem.n()];
    nbody::simd(
        &nbody::Bodies {
            m: &masses,
            ..bodies
        },
        &mut output,
    );
    output
}

#[test]
fn the_check_fails_on_a_corrupted_gpu_result() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let n = 1000;
    let mut problem = NBodyProblem::new(n, 8);
    common::assert_gpu_run_verifies(&mut problem, &context, "split", "n=1000");
    let genuine = problem.output().to_vec();
    assert_eq!(problem.check(&genuine), problem.verify());
    let masses_kept = |output: &[f32]| (0..n).all(|i| output[4 * i + 3] == genuine[4 * i + 3]);
    // One body (the last, in the last workgroup) whose 8th partial was lost: its new velocity
    // and position from 7/8 of the pull.
    let lost = without_one_partial(&problem, INVOCATIONS_PER_BODY as usize - 1);
    let mut corrupted = genuine.clone();
    let body = n - 1;
    for offset in [4 * body, 4 * (n + body)] {
        corrupted[offset..offset + 3].copy_from_slice(&lost[offset..offset + 3]);
    }
    assert!(masses_kept(&corrupted));
    let verification = problem.check(&corrupted);
    assert!(
        !verification.passed && verification.mismatches >= 1,
        "a body missing one partial must fail: {verification:?}"
    );
    // The last body never written (a grid one body short): the poison comes back.
    let mut corrupted = genuine.clone();
    corrupted[4 * (n + body)..4 * (n + body) + 4].fill(f32::NAN);
    corrupted[4 * body..4 * body + 4].fill(f32::NAN);
    assert!(!problem.check(&corrupted).passed);
}

#[test]
fn each_variant_is_refused_at_its_own_loop_cap() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    let Some(cap) = context.adapter.loop_iteration_cap else {
        eprintln!("no loop cap on {}: nothing to refuse", context.adapter.name);
        return;
    };
    let per_thread = Shape::of(Some(&BODY_PER_THREAD), &context).workgroup_size as u64;
    let split = Shape::of(Some(&SPLIT), &context).workgroup_size as u64;
    assert!(split > per_thread);
    // One body past body-per-thread's last tile the driver runs: refused there only.
    let n = cap * per_thread + 1;
    let options = Default::default();
    let refused = NBody
        .check_gpu(n, &options, Some(&BODY_PER_THREAD), &context)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("--size {n}"))
            && refused.contains("body-per-thread")
            && refused.contains(&format!("use --size {} or less", cap * per_thread)),
        "{refused}"
    );
    if n * 16 <= context.max_binding_bytes {
        NBody
            .check_gpu(n, &options, Some(&SPLIT), &context)
            .unwrap();
    }
    let n = cap * split + 1;
    let refused = NBody
        .check_gpu(n, &options, Some(&SPLIT), &context)
        .unwrap_err()
        .to_string();
    assert!(refused.contains(&format!("--size {n}")), "{refused}");
}

#[test]
fn bodies_beyond_one_binding_are_a_usage_error() {
    // 4 KiB bindings hold 256 bodies of 16 bytes.
    let Some(context) = common::gpu_with_bindings(4096) else {
        return;
    };
    let mut problem = NBody.prepare(257, 5, &Default::default());
    common::assert_gpu_usage_error(&mut *problem, &context, None, "at most 256 bodies");
    let mut problem = NBody.prepare(255, 5, &Default::default());
    problem.clear_output();
    problem.gpu(&context, None).unwrap().sample().unwrap();
    assert!(problem.verify().passed);
}

#[test]
fn the_bound_catches_a_missing_body() {
    // The tolerance grows with n, but must stay far below the pull of a single body: leave one
    // body's mass out of an otherwise correct step and the check must fail.
    for n in [257, 1001] {
        let problem = NBodyProblem::new(n, 9);
        let bodies = problem.bodies();
        let mut output = vec![f32::NAN; 8 * n];
        nbody::simd(&bodies, &mut output);
        assert!(problem.check(&output).passed, "n={n}");
        let mut lighter = bodies.m.to_vec();
        lighter[n / 2] = 0.0;
        let without = nbody::Bodies {
            m: &lighter,
            ..bodies
        };
        nbody::simd(&without, &mut output);
        let verification = problem.check(&output);
        assert!(
            !verification.passed && verification.mismatches > n as u64,
            "n={n}: one body left out must fail for most bodies: {verification:?}"
        );
    }
}
