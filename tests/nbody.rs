//! The n-body step's own checks: the clean refusal when the bodies do not fit one storage
//! binding, and a tolerance that catches one missing body. (Every backend against the reference
//! at odd sizes, and a cleared output failing, is `conformance.rs`.)

mod common;

use hpclab::kernels::Kernel;
use hpclab::kernels::nbody::{self, NBody, NBodyProblem};

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
