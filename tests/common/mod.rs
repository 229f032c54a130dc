//! What the integration tests share: getting the GPU, or skipping loudly without one.

#![allow(dead_code)]

use hpclab::gpu::{GpuContext, GpuRequest};

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
