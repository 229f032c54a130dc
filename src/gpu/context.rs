//! Instance, adapter choice and device: everything the GPU path creates once per process.
//!
//! The device asks for the adapter's own limits (the defaults stop at 256 MiB buffers) and for
//! timestamp queries, subgroup operations and f32 atomics when the adapter has them. wgpu panics on errors
//! unless told otherwise, so an uncaptured-error handler collects them and every step that can
//! fail checks the collection.

use crate::error::{Error, Result};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::pipeline::PipelineCache;

/// The graphics API wgpu drives the adapter through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GpuApi {
    Vulkan,
    Metal,
    Dx12,
    Gl,
}

impl GpuApi {
    fn backends(self) -> wgpu::Backends {
        match self {
            GpuApi::Vulkan => wgpu::Backends::VULKAN,
            GpuApi::Metal => wgpu::Backends::METAL,
            GpuApi::Dx12 => wgpu::Backends::DX12,
            GpuApi::Gl => wgpu::Backends::GL,
        }
    }
}

/// Which adapter to use.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum AdapterChoice {
    /// The high-performance one (a discrete GPU before an integrated one before software).
    #[default]
    Preferred,
    /// The n-th adapter of `hpclab devices`.
    Index(usize),
    /// The first adapter whose name contains this text (case-insensitive).
    Name(String),
}

impl AdapterChoice {
    /// Reads `--adapter`: an index or a name substring.
    pub fn parse(text: &str) -> AdapterChoice {
        match text.trim().parse::<usize>() {
            Ok(index) => AdapterChoice::Index(index),
            // An empty name would match every adapter: [`check_request`] refuses it.
            Err(_) => AdapterChoice::Name(text.trim().to_string()),
        }
    }
}

/// What the caller wants from the GPU path.
#[derive(Debug, Clone, Default)]
pub struct GpuRequest {
    /// Restrict to one graphics API; `None` tries all of them.
    pub api: Option<GpuApi>,
    /// Which adapter.
    pub adapter: AdapterChoice,
    /// Use storage bindings no larger than this many bytes even if the adapter allows more
    /// (tests use it to exercise chunking at small sizes).
    pub max_binding_bytes: Option<u64>,
}

/// An adapter as `hpclab devices` and the records describe it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AdapterSummary {
    /// Position in `hpclab devices` (the value `--adapter` takes).
    pub index: usize,
    /// The adapter's name as its driver reports it.
    pub name: String,
    /// `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` (software) or `Other`.
    pub device_type: String,
    /// Graphics API: `Vulkan`, `Metal`, `Dx12`, `Gl`.
    pub api: String,
    /// The driver's name.
    pub driver: String,
    /// The driver's version and build, as it reports them.
    pub driver_info: String,
    /// True when the adapter supports timestamp queries (GPU-side compute timing).
    pub timestamps: bool,
    /// True when the adapter offers `SHADER_FLOAT32_ATOMIC` (WGSL `atomic<f32>` with
    /// `atomicAdd` on storage buffers; Vulkan's `VK_EXT_shader_atomic_float`). Absent in
    /// documents written before it was recorded, read as false.
    #[serde(default)]
    pub float32_atomics: bool,
    /// The largest buffer the adapter can allocate.
    pub max_buffer_bytes: u64,
    /// The largest storage binding a shader can see at once.
    pub max_storage_binding_bytes: u64,
    /// The most workgroups one dispatch may have in each dimension.
    pub max_workgroups_per_dimension: u32,
    /// Workgroup memory per workgroup.
    pub max_workgroup_storage_bytes: u32,
    /// The most invocations one workgroup may have.
    pub max_invocations_per_workgroup: u32,
    /// True for a software rasterizer such as lavapipe: fine for correctness, not a speed reference.
    pub software: bool,
    /// The most iterations one shader loop runs on this driver, where it stops loops early:
    /// Mesa's llvmpipe (lavapipe) ends a loop after 65 535 iterations, silently.
    pub loop_iteration_cap: Option<u64>,
}

/// Iterations after which llvmpipe leaves a shader loop (Mandelbrot at --max-iter 100000 stops
/// every count at 65 535 there).
const LLVMPIPE_LOOP_CAP: u64 = 65_535;

impl GpuContext {
    /// Refuses, before any work, a shader loop of `trips` iterations that this driver would cut
    /// short. `subject` says what loops (it starts the message, with the flag at fault); `fix`
    /// turns the driver's cap into the advice.
    pub fn check_loop_trips(
        &self,
        trips: u64,
        subject: &str,
        fix: impl Fn(u64) -> String,
    ) -> Result<()> {
        match self.adapter.loop_iteration_cap {
            Some(cap) if trips > cap => Err(Error::usage(format!(
                "{subject} takes {trips} iterations of one shader loop, and {} stops a loop after {cap}; {}, or leave out the gpu backend",
                self.adapter.name,
                fix(cap)
            ))),
            _ => Ok(()),
        }
    }
}

impl AdapterSummary {
    fn new(index: usize, adapter: &wgpu::Adapter) -> AdapterSummary {
        let info = adapter.get_info();
        let limits = adapter.limits();
        AdapterSummary {
            index,
            loop_iteration_cap: info.name.contains("llvmpipe").then_some(LLVMPIPE_LOOP_CAP),
            name: info.name,
            device_type: format!("{:?}", info.device_type),
            api: format!("{:?}", info.backend),
            driver: info.driver,
            driver_info: info.driver_info,
            timestamps: adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY),
            float32_atomics: adapter
                .features()
                .contains(wgpu::Features::SHADER_FLOAT32_ATOMIC),
            max_buffer_bytes: limits.max_buffer_size,
            max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_workgroup_storage_bytes: limits.max_compute_workgroup_storage_size,
            max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            software: info.device_type == wgpu::DeviceType::Cpu,
        }
    }
}

/// One-time costs of getting a device, in seconds; never inside any phase.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ContextSetup {
    /// Creating the instance and choosing the adapter.
    pub adapter_s: f64,
    /// Creating the device and queue.
    pub device_s: f64,
}

/// A device ready for compute work.
pub struct GpuContext {
    /// The adapter the device runs on.
    pub adapter: AdapterSummary,
    /// The device, created with the adapter's own limits.
    pub device: wgpu::Device,
    /// The device's queue.
    pub queue: wgpu::Queue,
    /// True when the device was created with timestamp queries.
    pub timestamps: bool,
    /// True when the device was created with `Features::SUBGROUP` (WGSL `subgroupAdd`,
    /// `subgroup_size`, …); kernels that use subgroups check it and refuse without it.
    pub subgroups: bool,
    /// True when the device was created with `Features::SHADER_FLOAT32_ATOMIC` (requested only
    /// where the adapter offers it): reduce `atomics` then adds with a native f32 `atomicAdd`
    /// instead of a compare-and-swap loop.
    pub float32_atomics: bool,
    /// Nanoseconds per timestamp tick.
    pub timestamp_period_ns: f64,
    /// The largest storage binding the kernels may use (bytes).
    pub max_binding_bytes: u64,
    /// How long getting here took.
    pub setup: ContextSetup,
    pipelines: PipelineCache,
    errors: Arc<Mutex<Vec<String>>>,
}

/// The APIs tried when the user names none: the native ones. OpenGL is tried only when they
/// find nothing (its EGL start-up is slow and noisy, and it lacks features the kernels use).
fn default_backends(api: Option<GpuApi>) -> wgpu::Backends {
    api.map_or(wgpu::Backends::PRIMARY, GpuApi::backends)
}

fn make_instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
    descriptor.backends = backends;
    // No validation layers unless WGPU_VALIDATION/WGPU_DEBUG ask for them: they distort timings.
    descriptor.flags = wgpu::InstanceFlags::empty().with_env();
    wgpu::Instance::new(descriptor)
}

/// Every adapter of the requested API (or of the default set), in a stable order.
fn ordered_adapters(api: Option<GpuApi>) -> Vec<wgpu::Adapter> {
    let enumerate =
        |backends| pollster::block_on(make_instance(backends).enumerate_adapters(backends));
    let mut adapters = enumerate(default_backends(api));
    if adapters.is_empty() && api.is_none() {
        adapters = enumerate(wgpu::Backends::GL);
    }
    // A stable, meaningful order: discrete, integrated, virtual, other, software; then API.
    let rank = |a: &wgpu::Adapter| {
        let info = a.get_info();
        let kind = match info.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other => 3,
            wgpu::DeviceType::Cpu => 4,
        };
        let api = match info.backend {
            wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
            _ => 1,
        };
        (kind, api)
    };
    adapters.sort_by_key(rank);
    adapters
}

/// Every adapter wgpu finds, in the order `--adapter N` counts them.
pub fn list_adapters(api: Option<GpuApi>) -> Vec<AdapterSummary> {
    ordered_adapters(api)
        .iter()
        .enumerate()
        .map(|(index, adapter)| AdapterSummary::new(index, adapter))
        .collect()
}

impl GpuApi {
    /// The operating system this API exists on, where it is not this one.
    fn only_on_another_os(self) -> Option<&'static str> {
        match self {
            GpuApi::Metal if !cfg!(target_os = "macos") => Some("macOS"),
            GpuApi::Dx12 if !cfg!(windows) => Some("Windows"),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            GpuApi::Vulkan => "vulkan",
            GpuApi::Metal => "metal",
            GpuApi::Dx12 => "dx12",
            GpuApi::Gl => "gl",
        }
    }
}

/// The APIs that have at least one adapter here, as `--gpu-api` names them.
fn apis_with_adapters() -> String {
    let mut apis: Vec<&str> = [GpuApi::Vulkan, GpuApi::Metal, GpuApi::Dx12, GpuApi::Gl]
        .into_iter()
        .filter(|&api| !ordered_adapters(Some(api)).is_empty())
        .map(GpuApi::name)
        .collect();
    apis.dedup();
    match apis.is_empty() {
        true => "no adapter on any API".to_string(),
        false => apis.join(", "),
    }
}

/// The position in `adapters` of the one `request` names; a usage error that says what this
/// machine has when it names none.
fn choose_adapter(adapters: &[wgpu::Adapter], request: &GpuRequest) -> Result<usize> {
    if let AdapterChoice::Name(name) = &request.adapter
        && name.is_empty()
    {
        return Err(Error::usage(
            "--adapter is empty; give an index or part of a name from `hpclab devices`",
        ));
    }
    if adapters.is_empty() {
        return Err(Error::usage(match request.api {
            Some(api) => match api.only_on_another_os() {
                Some(os) => format!(
                    "--gpu-api {}: {} exists only on {os}; this machine has: {}",
                    api.name(),
                    match api {
                        GpuApi::Metal => "Metal",
                        _ => "Direct3D 12",
                    },
                    apis_with_adapters()
                ),
                None => format!(
                    "--gpu-api {}: no adapter on this API; this machine has: {}",
                    api.name(),
                    apis_with_adapters()
                ),
            },
            None => super::NO_ADAPTER_HINT.to_string(),
        }));
    }
    let names = || {
        adapters
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{i}: {}", a.get_info().name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &request.adapter {
        AdapterChoice::Preferred => Ok(0),
        AdapterChoice::Index(index) if *index < adapters.len() => Ok(*index),
        AdapterChoice::Index(index) => Err(Error::usage(format!(
            "--adapter {index}: there is no adapter with that index (have {}); see `hpclab devices`",
            names()
        ))),
        AdapterChoice::Name(name) => {
            let wanted = name.to_lowercase();
            adapters
                .iter()
                .position(|a| a.get_info().name.to_lowercase().contains(&wanted))
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--adapter '{name}' matches no adapter (have {}); see `hpclab devices`",
                        names()
                    ))
                })
        }
    }
}

/// Checks, before any work, that `request` names what this machine has: an API with an
/// adapter, an adapter index or name that matches. Looks at the adapters only when the user
/// named one or an API.
pub fn check_request(request: &GpuRequest) -> Result<()> {
    if request.adapter == AdapterChoice::Preferred && request.api.is_none() {
        return Ok(());
    }
    choose_adapter(&ordered_adapters(request.api), request).map(drop)
}

impl GpuContext {
    /// Chooses the adapter and creates the device. A missing or unmatched adapter is a
    /// [`Error::Usage`] whose message says what to do.
    pub fn new(request: &GpuRequest) -> Result<GpuContext> {
        let started = Instant::now();
        let adapters = ordered_adapters(request.api);
        let index = choose_adapter(&adapters, request)?;
        let adapter = &adapters[index];
        let summary = AdapterSummary::new(index, adapter);
        let adapter_s = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let timestamps = summary.timestamps;
        let subgroups = adapter.features().contains(wgpu::Features::SUBGROUP);
        let mut required_features = wgpu::Features::empty();
        if timestamps {
            required_features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        if subgroups {
            required_features |= wgpu::Features::SUBGROUP;
        }
        let float32_atomics = summary.float32_atomics;
        if float32_atomics {
            required_features |= wgpu::Features::SHADER_FLOAT32_ATOMIC;
        }
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("hpclab"),
            required_features,
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        }))
        .map_err(|e| Error::gpu(format!("creating a device on {}", summary.name), e))?;
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            if let Ok(mut list) = sink.lock() {
                list.push(error.to_string());
            }
        }));
        let device_s = started.elapsed().as_secs_f64();
        let adapter_binding = device.limits().max_storage_buffer_binding_size;
        let max_binding_bytes = request
            .max_binding_bytes
            .map_or(adapter_binding, |cap| cap.min(adapter_binding));
        Ok(GpuContext {
            timestamp_period_ns: queue.get_timestamp_period() as f64,
            adapter: summary,
            device,
            queue,
            timestamps,
            subgroups,
            float32_atomics,
            max_binding_bytes,
            setup: ContextSetup {
                adapter_s,
                device_s,
            },
            pipelines: PipelineCache::default(),
            errors,
        })
    }

    /// The pipeline cache of this device.
    pub fn pipelines(&self) -> &PipelineCache {
        &self.pipelines
    }

    /// Runs `work` inside validation and out-of-memory error scopes and turns any error it
    /// raised into an `Err` that says what hpclab was doing.
    pub fn scoped<T>(&self, doing: &str, work: impl FnOnce() -> T) -> Result<T> {
        let out_of_memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = work();
        let validation_error = pollster::block_on(validation.pop());
        let memory_error = pollster::block_on(out_of_memory.pop());
        if let Some(error) = validation_error.or(memory_error) {
            return Err(Error::gpu(doing, error));
        }
        self.check(doing)?;
        Ok(value)
    }

    /// Returns the first error wgpu reported outside any scope since the last check.
    pub fn check(&self, doing: &str) -> Result<()> {
        let mut list = self
            .errors
            .lock()
            .map_err(|_| Error::gpu(doing, "error sink poisoned"))?;
        match list.drain(..).next() {
            Some(message) => Err(Error::gpu(doing, message)),
            None => Ok(()),
        }
    }

    /// Submits command buffers and blocks until the device has finished them.
    pub fn submit_and_wait(
        &self,
        commands: impl IntoIterator<Item = wgpu::CommandBuffer>,
        doing: &str,
    ) -> Result<()> {
        let index = self.queue.submit(commands);
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: None,
            })
            .map_err(|e| Error::gpu(doing, e))?;
        self.check(doing)
    }

    /// A bind group for group 0 of `pipeline` with `resources` at bindings 0, 1, 2, …; create it
    /// inside [`GpuContext::scoped`].
    pub fn bind_group(
        &self,
        pipeline: &wgpu::ComputePipeline,
        label: &str,
        resources: &[wgpu::BindingResource<'_>],
    ) -> wgpu::BindGroup {
        self.bind_group_from(pipeline, label, 0, resources)
    }

    /// [`GpuContext::bind_group`] with the resources at bindings `first_binding`,
    /// `first_binding + 1`, …: for an entry point that uses only the later bindings of a shader.
    pub fn bind_group_from(
        &self,
        pipeline: &wgpu::ComputePipeline,
        label: &str,
        first_binding: u32,
        resources: &[wgpu::BindingResource<'_>],
    ) -> wgpu::BindGroup {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = (first_binding..)
            .zip(resources)
            .map(|(binding, resource)| wgpu::BindGroupEntry {
                binding,
                resource: resource.clone(),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        })
    }

    /// Writes `bytes` at the start of `buffer` and waits until the device has them: parameters
    /// written once at set-up.
    pub fn write_and_wait(&self, buffer: &wgpu::Buffer, bytes: &[u8], doing: &str) -> Result<()> {
        self.scoped(doing, || self.queue.write_buffer(buffer, 0, bytes))?;
        self.submit_and_wait([], doing)
    }

    /// Workgroup size to use for a 1-D kernel that prefers `preferred` invocations.
    pub fn workgroup_size(&self, preferred: u32) -> u32 {
        preferred
            .min(self.adapter.max_invocations_per_workgroup)
            .min(self.device.limits().max_compute_workgroup_size_x)
    }

    /// Workgroups for a grid-stride loop over `elements`: enough to cover them, capped at the
    /// per-dimension limit (the loop strides over the rest).
    pub fn grid_stride_groups(&self, elements: u64, workgroup_size: u32) -> u32 {
        let wanted = elements.div_ceil(workgroup_size as u64).max(1);
        wanted.min(self.adapter.max_workgroups_per_dimension as u64) as u32
    }

    /// Elements of `element_bytes` each that one storage binding holds, rounded down to the
    /// binding-offset alignment so that consecutive chunks of a buffer can be bound in turn.
    pub fn chunk_elements(&self, element_bytes: u64) -> u64 {
        let alignment = self
            .device
            .limits()
            .min_storage_buffer_offset_alignment
            .max(4) as u64;
        let bytes = self.max_binding_bytes / alignment * alignment;
        (bytes / element_bytes).max(1)
    }
}

/// For unit tests: a GPU context, or `None` with a loud note; under `HPCLAB_REQUIRE_GPU=1` a
/// missing adapter fails the test (as `tests/common` does for the integration tests).
#[cfg(test)]
pub(crate) fn test_gpu(max_binding_bytes: Option<u64>) -> Option<GpuContext> {
    match GpuContext::new(&GpuRequest {
        api: None,
        adapter: AdapterChoice::Preferred,
        max_binding_bytes,
    }) {
        Ok(context) => Some(context),
        Err(error) if std::env::var("HPCLAB_REQUIRE_GPU").is_ok_and(|v| v == "1") => {
            panic!("HPCLAB_REQUIRE_GPU=1 but the GPU is unavailable: {error}")
        }
        Err(error) => {
            eprintln!("\n*** SKIPPED: no GPU adapter ({error}) ***\n");
            None
        }
    }
}
