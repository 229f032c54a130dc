//! The n-body step on every backend against the f64 reference, at odd body counts (1, 3, 257,
//! 1001: none a multiple of the GPU tile or of the SIMD lanes), and the clean refusal when the
//! bodies do not fit one storage binding.

mod common;

use hpclab::Backend;
use hpclab::error::Error;
use hpclab::gpu::GpuRequest;
use hpclab::kernels::Kernel;
use hpclab::kernels::nbody::{self, NBody, NBodyProblem};

const SIZES: [usize; 4] = [1, 3, 257, 1001];

#[test]
fn every_cpu_backend_matches_the_reference_and_a_cleared_output_fails() {
    for n in SIZES {
        let mut problem = NBody.prepare(n, 5, &Default::default());
        for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
            problem.clear_output();
            assert!(
                !problem.verify().passed,
                "n={n}: a cleared output must fail verification"
            );
            problem.run_cpu(backend, None);
            let verification = problem.verify();
            assert!(verification.passed, "{backend} n={n}: {verification:?}");
        }
    }
}

#[test]
fn the_gpu_matches_the_reference() {
    let Some(context) = common::gpu(GpuRequest::default()) else {
        return;
    };
    for n in SIZES {
        let mut problem = NBody.prepare(n, 5, &Default::default());
        problem.clear_output();
        {
            let mut run = problem.gpu(&context, None).expect("GPU set-up");
            run.sample().expect("GPU sample");
        }
        let verification = problem.verify();
        assert!(verification.passed, "gpu n={n}: {verification:?}");
    }
}

#[test]
fn bodies_beyond_one_binding_are_a_usage_error() {
    // 4 KiB bindings hold 256 bodies of 16 bytes.
    let Some(context) = common::gpu(GpuRequest {
        max_binding_bytes: Some(4096),
        ..Default::default()
    }) else {
        return;
    };
    let mut problem = NBody.prepare(257, 5, &Default::default());
    match problem.gpu(&context, None) {
        Err(Error::Usage(message)) => assert!(message.contains("at most 256 bodies"), "{message}"),
        Err(other) => panic!("want a usage error, got {other}"),
        Ok(_) => panic!("want a usage error, got a GPU run"),
    }
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
