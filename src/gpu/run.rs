//! A kernel's GPU run, built once and sampled many times: [`Setup`] compiles the pipelines,
//! allocates the arrays and lists the dispatches of the compute pass; the [`Runner`] it yields
//! times each sample as upload, compute pass and download, the same way for every kernel.

use super::context::GpuContext;
use super::pipeline::{CompiledPipeline, ShaderSpec};
use super::timer::{PassTimer, timed_compute_pass};
use super::transfer::{DeviceArray, Download, Role, download_timed, upload_timed};
use crate::error::{Error, Result};
use crate::phase::PhaseSample;
use serde::Serialize;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Instant;
use wgpu::util::DeviceExt;

/// One dispatch of the compute pass: the bind group it sees and its workgroup counts.
pub struct Dispatch {
    /// Bound at group 0.
    pub group: wgpu::BindGroup,
    /// Workgroups in x, y and z.
    pub workgroups: [u32; 3],
}

impl Dispatch {
    /// `workgroups` of `pipeline` with `resources` at bindings 0, 1, 2, … of its group 0 (see
    /// [`GpuContext::bind_group`]; create it inside [`GpuContext::scoped`]).
    pub fn new(
        context: &GpuContext,
        pipeline: &wgpu::ComputePipeline,
        label: &str,
        resources: &[wgpu::BindingResource<'_>],
        workgroups: [u32; 3],
    ) -> Dispatch {
        Dispatch {
            group: context.bind_group(pipeline, label, resources),
            workgroups,
        }
    }
}

/// Parameter blocks in one uniform buffer, each at a `min_uniform_buffer_offset_alignment`
/// boundary so that each dispatch binds its own; made by [`Setup::uniforms`].
pub struct Uniforms {
    buffer: wgpu::Buffer,
    stride: u64,
    size: u64,
}

impl Uniforms {
    /// The binding of block `index`.
    pub fn binding(&self, index: u64) -> wgpu::BindingResource<'_> {
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: index * self.stride,
            size: NonZeroU64::new(self.size),
        })
    }
}

/// A pipeline and the dispatches that run it, in order.
struct Stage {
    pipeline: Arc<wgpu::ComputePipeline>,
    dispatches: Vec<Dispatch>,
}

/// One chunk of an array that is bound chunk by chunk (see [`chunks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chunk {
    /// Position among the chunks.
    pub index: u64,
    /// First element.
    pub first: u64,
    /// Elements in the chunk.
    pub count: u64,
}

/// Partial results per chunk in the first pass of a two-pass reduction (dot, reduce): the most
/// workgroups one chunk's dispatch uses. A multiple of 64, so that each chunk's partials start on
/// the 256-byte binding-offset alignment.
pub const PARTIALS_PER_CHUNK: u64 = 1024;

/// `elements` split into chunks of `chunk` elements (the last one shorter); none when there
/// are no elements.
pub fn chunks(elements: u64, chunk: u64) -> impl Iterator<Item = Chunk> {
    (0..elements.div_ceil(chunk)).map(move |index| {
        let first = index * chunk;
        Chunk {
            index,
            first,
            count: chunk.min(elements - first),
        }
    })
}

/// Builds a [`Runner`]. Compile time adds up over [`Setup::pipeline`]; the buffer clock runs
/// from the first array ([`Setup::input`], [`Setup::output`] or [`Setup::scratch`]) to
/// [`Setup::finish`], bind groups, uniforms and the pass timer included. Neither is ever inside
/// a phase.
pub struct Setup<'a> {
    context: &'a GpuContext,
    label: &'static str,
    compile_s: f64,
    buffers_started: Option<Instant>,
    arrays: Arrays,
    stages: Vec<Stage>,
    clear: Vec<wgpu::Buffer>,
    poison: Vec<(wgpu::Buffer, u8)>,
}

/// The arrays of a run: those uploaded and downloaded every sample, in the order the set-up
/// made them, and everything else its bind groups use, kept alive as long as the run.
#[derive(Default)]
struct Arrays {
    inputs: Vec<DeviceArray>,
    outputs: Vec<DeviceArray>,
    kept: Vec<wgpu::Buffer>,
}

impl<'a> Setup<'a> {
    /// A set-up on `context`; `label` names the compute pass in wgpu's labels and errors.
    pub fn new(context: &'a GpuContext, label: &'static str) -> Setup<'a> {
        Setup {
            context,
            label,
            compile_s: 0.0,
            buffers_started: None,
            arrays: Arrays::default(),
            stages: Vec::new(),
            clear: Vec::new(),
            poison: Vec::new(),
        }
    }

    /// The pipeline of `spec`, compiled on first use.
    pub fn pipeline(&mut self, spec: &ShaderSpec) -> Result<Arc<wgpu::ComputePipeline>> {
        let compiled = self.context.pipelines().get(self.context, spec)?;
        Ok(self.compiled(compiled))
    }

    /// Takes a pipeline compiled elsewhere, counting its compile time.
    pub fn compiled(&mut self, compiled: CompiledPipeline) -> Arc<wgpu::ComputePipeline> {
        self.compile_s += compiled.compile_s;
        compiled.pipeline
    }

    /// An array every sample uploads, after the inputs made before it; returns a handle for
    /// the bind groups.
    pub fn input(&mut self, label: &str, bytes: u64) -> Result<DeviceArray> {
        let array = self.array(label, bytes, Role::Input)?;
        self.arrays.inputs.push(array.clone());
        Ok(array)
    }

    /// An array every sample downloads, after the outputs made before it.
    pub fn output(&mut self, label: &str, bytes: u64) -> Result<DeviceArray> {
        let array = self.array(label, bytes, Role::Output)?;
        self.arrays.outputs.push(array.clone());
        Ok(array)
    }

    /// An array that lives on the device only (partial sums, parameters, a second field).
    pub fn scratch(&mut self, label: &str, bytes: u64) -> Result<DeviceArray> {
        let array = self.array(label, bytes, Role::Scratch)?;
        self.keep(&array.buffer);
        Ok(array)
    }

    /// `blocks` in one uniform buffer, one per dispatch (written at creation, so they reach the
    /// device with the next submission); create it inside [`GpuContext::scoped`].
    pub fn uniforms<T: bytemuck::Pod>(&mut self, label: &str, blocks: &[T]) -> Uniforms {
        let size = std::mem::size_of::<T>() as u64;
        let alignment = self
            .context
            .device
            .limits()
            .min_uniform_buffer_offset_alignment as u64;
        let stride = size.next_multiple_of(alignment.max(1));
        let mut contents = vec![0u8; (stride * blocks.len() as u64) as usize];
        for (slot, block) in contents.chunks_mut(stride as usize).zip(blocks) {
            slot[..size as usize].copy_from_slice(bytemuck::bytes_of(block));
        }
        let buffer = self
            .context
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &contents,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        self.keep(&buffer);
        Uniforms {
            buffer,
            stride,
            size,
        }
    }

    /// Keeps `buffer` alive as long as the run, for the bind groups that use it.
    pub fn keep(&mut self, buffer: &wgpu::Buffer) {
        self.arrays.kept.push(buffer.clone());
    }

    /// A device array (see [`DeviceArray::new`]); the first one starts the buffer clock.
    fn array(&mut self, label: &str, bytes: u64, role: Role) -> Result<DeviceArray> {
        self.buffers_started.get_or_insert_with(Instant::now);
        DeviceArray::new(self.context, label, bytes, role)
    }

    /// Appends `dispatches` of `pipeline` to the compute pass of every sample.
    pub fn dispatch(&mut self, pipeline: &Arc<wgpu::ComputePipeline>, dispatches: Vec<Dispatch>) {
        self.stages.push(Stage {
            pipeline: Arc::clone(pipeline),
            dispatches,
        });
    }

    /// Zeroes `array` before the compute pass of every sample: an accumulator that must start
    /// empty (inside the pass's host-clock time, outside its timestamps).
    pub fn clear_each_sample(&mut self, array: &DeviceArray) {
        self.clear.push(array.buffer.clone());
    }

    /// Fills `array` with `byte` before every sample, outside every timed phase: a device
    /// output that keeps the previous sample's values would let a shader that writes nothing
    /// pass. 0xFF makes f32 NaN and u32 `u32::MAX`; 0 empties partial sums.
    pub fn poison_each_sample(&mut self, array: &DeviceArray, byte: u8) {
        self.poison.push((array.buffer.clone(), byte));
    }

    /// Creates the pass timer and stops the buffer clock.
    pub fn finish(self) -> Result<Runner<'a>> {
        let timer = PassTimer::new(self.context)?;
        let buffers_s = self
            .buffers_started
            .map_or(0.0, |started| started.elapsed().as_secs_f64());
        Ok(Runner {
            context: self.context,
            label: self.label,
            arrays: self.arrays,
            stages: self.stages,
            clear: self.clear,
            poison: self.poison,
            timer,
            compile_s: self.compile_s,
            buffers_s,
        })
    }
}

/// A kernel set up on the GPU: the dispatches of its compute pass, its timer and what setting
/// it up cost.
pub struct Runner<'a> {
    context: &'a GpuContext,
    label: &'static str,
    arrays: Arrays,
    stages: Vec<Stage>,
    clear: Vec<wgpu::Buffer>,
    poison: Vec<(wgpu::Buffer, u8)>,
    timer: Option<PassTimer>,
    /// Seconds spent compiling the pipelines (0 when they came from the cache).
    pub compile_s: f64,
    /// Seconds spent allocating arrays, creating bind groups and the timer.
    pub buffers_s: f64,
}

impl<'a> Runner<'a> {
    /// One sample: `uploads` into the inputs (no upload phase when there are none), the compute
    /// pass, the outputs into `downloads`; host arrays in the order the set-up made the device
    /// arrays.
    pub fn sample(&self, uploads: &[&[u8]], downloads: &mut [&mut [u8]]) -> Result<PhaseSample> {
        self.poison()?;
        let mut phases = self.phases();
        phases.upload(uploads)?;
        phases.compute()?;
        phases.download(downloads)?;
        Ok(phases.finish())
    }

    /// Fills the arrays given to [`Setup::poison_each_sample`] and waits for the device, so
    /// that none of it lands in a phase; [`Runner::sample`] calls it first.
    pub fn poison(&self) -> Result<()> {
        const BLOCK: u64 = 4 << 20;
        if self.poison.is_empty() {
            return Ok(());
        }
        let doing = "poisoning the outputs";
        let context = self.context;
        let mut encoder = context
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(doing) });
        context.scoped(doing, || {
            for (buffer, byte) in &self.poison {
                if *byte == 0 {
                    encoder.clear_buffer(buffer, 0, None);
                    continue;
                }
                // Buffer sizes are multiples of 4, and so is every piece written.
                let block = vec![*byte; buffer.size().min(BLOCK) as usize];
                for offset in (0..buffer.size()).step_by(BLOCK as usize) {
                    let len = (buffer.size() - offset).min(BLOCK) as usize;
                    context.queue.write_buffer(buffer, offset, &block[..len]);
                }
            }
        })?;
        context.submit_and_wait([encoder.finish()], doing)
    }

    /// A sample made of several uploads, passes and downloads (each phase the sum of its
    /// parts), for a run that goes back and forth.
    pub fn phases(&self) -> Phases<'_, 'a> {
        Phases {
            runner: self,
            upload_s: None,
            compute_wall_s: 0.0,
            compute_timestamp_s: Some(0.0),
            download_s: None,
        }
    }
}

/// The phases of one sample so far; see [`Runner::phases`].
pub struct Phases<'r, 'a> {
    runner: &'r Runner<'a>,
    upload_s: Option<f64>,
    compute_wall_s: f64,
    compute_timestamp_s: Option<f64>,
    download_s: Option<f64>,
}

impl Phases<'_, '_> {
    /// Uploads `hosts` into the inputs through their staging buffers (see [`upload_timed`]); a
    /// run without inputs has no upload phase.
    pub fn upload(&mut self, hosts: &[&[u8]]) -> Result<()> {
        let inputs = &self.runner.arrays.inputs;
        if inputs.is_empty() && hosts.is_empty() {
            return Ok(());
        }
        check_count("uploading", hosts.len(), inputs.len())?;
        let transfers: Vec<(&DeviceArray, &[u8])> =
            inputs.iter().zip(hosts.iter().copied()).collect();
        *self.upload_s.get_or_insert(0.0) += upload_timed(self.runner.context, &transfers)?;
        Ok(())
    }

    /// Runs the compute pass through [`timed_compute_pass`]. The timestamps count only when
    /// every pass of the sample gave a valid pair.
    pub fn compute(&mut self) -> Result<()> {
        let runner = self.runner;
        let clear: Vec<&wgpu::Buffer> = runner.clear.iter().collect();
        let (wall_s, timestamp_s) = timed_compute_pass(
            runner.context,
            runner.timer.as_ref(),
            runner.label,
            &clear,
            |pass| {
                for stage in &runner.stages {
                    pass.set_pipeline(&stage.pipeline);
                    for Dispatch { group, workgroups } in &stage.dispatches {
                        pass.set_bind_group(0, group, &[]);
                        pass.dispatch_workgroups(workgroups[0], workgroups[1], workgroups[2]);
                    }
                }
                Ok(())
            },
        )?;
        self.compute_wall_s += wall_s;
        self.compute_timestamp_s = self
            .compute_timestamp_s
            .zip(timestamp_s)
            .map(|(a, b)| a + b);
        Ok(())
    }

    /// Downloads the outputs into `hosts` through their readback buffers (see
    /// [`download_timed`]); each host array takes as many bytes as it holds.
    pub fn download(&mut self, hosts: &mut [&mut [u8]]) -> Result<()> {
        let outputs = &self.runner.arrays.outputs;
        check_count("downloading", hosts.len(), outputs.len())?;
        let mut downloads: Vec<Download<'_>> = outputs
            .iter()
            .zip(hosts.iter_mut())
            .map(|(array, host)| Download { array, host })
            .collect();
        *self.download_s.get_or_insert(0.0) += download_timed(self.runner.context, &mut downloads)?;
        Ok(())
    }

    /// The sample's phases.
    pub fn finish(self) -> PhaseSample {
        PhaseSample {
            upload_s: self.upload_s,
            compute_wall_s: self.compute_wall_s,
            compute_timestamp_s: self.compute_timestamp_s,
            download_s: self.download_s,
        }
    }
}

/// An error unless the host arrays match the device arrays one for one.
fn check_count(doing: &str, hosts: usize, arrays: usize) -> Result<()> {
    match hosts == arrays {
        true => Ok(()),
        false => Err(Error::gpu(
            doing,
            format!("{hosts} host arrays for {arrays} device arrays"),
        )),
    }
}

/// A kernel set up on the GPU: what the engine samples.
pub trait GpuRun {
    /// One sample: upload the inputs, compute, download the output into the problem, each
    /// phase timed apart.
    fn sample(&mut self) -> Result<PhaseSample>;
    /// One-time costs paid to set this up.
    fn setup(&self) -> GpuSetup;
}

/// One-time GPU costs of a kernel, in seconds: reported under the table, never in a phase.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct GpuSetup {
    /// Compiling the kernel's shaders into pipelines (0 when already cached).
    pub shader_compile_s: f64,
    /// Allocating device, staging and readback buffers and creating bind groups.
    pub buffers_s: f64,
}

impl<'a> Runner<'a> {
    /// What setting this runner up cost.
    pub fn costs(&self) -> GpuSetup {
        GpuSetup {
            shader_compile_s: self.compile_s,
            buffers_s: self.buffers_s,
        }
    }

    /// The run the engine samples: this runner and the kernel's own sample, which says what
    /// goes up, where the download lands and what it means (usually one [`Runner::sample`]).
    pub fn sampled_by<F>(self, sample: F) -> Box<dyn GpuRun + 'a>
    where
        F: FnMut(&Runner<'a>) -> Result<PhaseSample> + 'a,
    {
        Box::new(SampledBy {
            runner: self,
            sample,
        })
    }
}

struct SampledBy<'a, F> {
    runner: Runner<'a>,
    sample: F,
}

impl<'a, F> GpuRun for SampledBy<'a, F>
where
    F: FnMut(&Runner<'a>) -> Result<PhaseSample>,
{
    fn sample(&mut self) -> Result<PhaseSample> {
        (self.sample)(&self.runner)
    }

    fn setup(&self) -> GpuSetup {
        self.runner.costs()
    }
}
