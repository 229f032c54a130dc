//! What the integration tests share: getting the GPU, or skipping loudly without one, and the
//! checks every kernel's tests make.

#![allow(dead_code)]

use hpclab::Backend;
use hpclab::error::Error;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels::{Problem, Verification};
use hpclab::measure::PhaseSample;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

/// True when CI demands that GPU tests run (`HPCLAB_REQUIRE_GPU=1`).
pub fn gpu_required() -> bool {
    std::env::var("HPCLAB_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// A GPU context, or `None` (with a loud note) on a machine without any adapter. Under
/// `HPCLAB_REQUIRE_GPU=1` a missing adapter fails the test instead.
pub fn gpu(request: GpuRequest) -> Option<GpuContext> {
    match GpuContext::new(&request) {
        Ok(context) => Some(context),
        Err(error) if !gpu_required() => {
            eprintln!(
                "\n*** SKIPPING GPU CHECKS: {error} ***\n*** set HPCLAB_REQUIRE_GPU=1 to make this a failure ***\n"
            );
            None
        }
        Err(error) => panic!("HPCLAB_REQUIRE_GPU=1 but the GPU is unavailable: {error}"),
    }
}

/// A GPU context whose storage bindings hold at most `bytes` (to exercise chunking at small
/// sizes), or `None` as [`gpu`] says.
pub fn gpu_with_bindings(bytes: u64) -> Option<GpuContext> {
    gpu(GpuRequest {
        max_binding_bytes: Some(bytes),
        ..Default::default()
    })
}

/// Runs `backend` (and `variant`) on `problem` after clearing its output. The cleared output
/// must fail verification, so that a backend that writes nothing cannot pass on an earlier
/// result, and the run must pass. `case` names the problem in the messages.
pub fn assert_cpu_run_verifies(
    problem: &mut (impl Problem + ?Sized),
    backend: Backend,
    variant: Option<&str>,
    case: &str,
) -> Verification {
    problem.clear_output();
    assert!(
        !problem.verify().passed,
        "{case}: a cleared output must fail verification"
    );
    problem.run_cpu(backend, variant);
    assert_verifies(
        problem,
        &format!("{backend} {} at {case}", variant.unwrap_or("")),
    )
}

/// The problem's verification, which must pass; `case` names the run in the message.
pub fn assert_verifies(problem: &(impl Problem + ?Sized), case: &str) -> Verification {
    let verification = problem.verify();
    assert!(verification.passed, "{case}: {verification:?}");
    verification
}

/// One sample of the GPU `variant` on a cleared output, which must then pass verification.
pub fn assert_gpu_run_verifies(
    problem: &mut (impl Problem + ?Sized),
    context: &GpuContext,
    variant: &str,
    case: &str,
) -> Verification {
    gpu_samples(problem, context, Some(variant), 1);
    assert_verifies(problem, &format!("gpu {variant} {case}"))
}

/// Clears the output, sets up the GPU `variant` and takes `samples` samples; they are returned,
/// and the problem holds the last one's output.
pub fn gpu_samples(
    problem: &mut (impl Problem + ?Sized),
    context: &GpuContext,
    variant: Option<&str>,
    samples: usize,
) -> Vec<PhaseSample> {
    problem.clear_output();
    let mut run = problem.gpu(context, variant).expect("GPU set-up");
    (0..samples)
        .map(|_| run.sample().expect("GPU sample"))
        .collect()
}

/// A reader of the PNG at `path`, its header read.
pub fn png_reader(path: &Path) -> png::Reader<BufReader<File>> {
    png::Decoder::new(BufReader::new(File::open(path).unwrap()))
        .read_info()
        .unwrap()
}

/// Setting up the GPU `variant` of `problem` must fail with a usage error that mentions
/// `mentions`.
pub fn assert_gpu_usage_error(
    problem: &mut (impl Problem + ?Sized),
    context: &GpuContext,
    variant: Option<&str>,
    mentions: &str,
) {
    match problem.gpu(context, variant) {
        Err(Error::Usage(message)) => assert!(message.contains(mentions), "{message}"),
        Err(other) => panic!("want a usage error, got {other}"),
        Ok(_) => panic!("want a usage error, got a GPU run"),
    }
}

/// The hpclab binary, ready for arguments.
pub fn hpclab() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("hpclab").unwrap();
    // Tables at their full width whatever the shell that runs the tests exports.
    command.env_remove("COLUMNS");
    command
}

/// Runs hpclab with `args` and `envs`; its stdout, after checking that it succeeded.
pub fn stdout_of(args: &[&str], envs: &[(&str, &str)]) -> Vec<u8> {
    let output = hpclab()
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
