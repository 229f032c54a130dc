//! The GPU path through wgpu: the context (adapter, device, limits, error capture), the host
//! transfer module (typed upload and download through reused staging buffers, each timed), the
//! pipeline cache (each shader compiled once per process), the timestamp timer, and the run that
//! every kernel's GPU backend is built on (set up once, then sampled phase by phase).

pub mod context;
pub mod pipeline;
pub mod run;
pub mod timer;
pub mod transfer;

pub use context::{AdapterChoice, AdapterSummary, GpuApi, GpuContext, GpuRequest};
pub use pipeline::ShaderSpec;
pub use run::{
    Chunk, Dispatch, GpuRun, GpuSetup, PARTIALS_PER_CHUNK, Phases, Runner, Setup, Uniforms, chunks,
};
pub use timer::{PassTimer, timed_compute_pass};
pub use transfer::{
    DeviceArray, Download, UploadPipeline, download_ranges_timed, download_timed,
    upload_pipelined_timed, upload_ranges_timed, upload_timed,
};

/// What to tell a user who has no GPU adapter at all.
pub const NO_ADAPTER_HINT: &str = "no GPU adapter found; install a Vulkan driver (on Debian/Ubuntu without a GPU: \
     `sudo apt-get install mesa-vulkan-drivers libvulkan1` gives the lavapipe software adapter)";
