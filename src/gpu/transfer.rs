//! The host module: typed arrays on the device, and the timed transfers between them and host
//! memory.
//!
//! `queue.write_buffer` allocates and fills a fresh staging buffer on every call, so each input
//! array here owns a `MAP_WRITE` staging buffer that is reused: an upload maps it, copies the host
//! bytes in, and records a buffer-to-buffer copy. Each output array owns a `MAP_READ` readback
//! buffer; a download copies into it, maps it and copies out into a host array that already
//! exists (so page faults of a fresh allocation are not counted as transfer time).

use super::context::GpuContext;
use super::timer::{map_and_wait, map_for_read, map_range_and_wait};
use crate::error::{Error, Result};
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A storage buffer on the device, with the host-visible buffer its transfers go through. A
/// clone is another handle to the same buffers.
#[derive(Clone)]
pub struct DeviceArray {
    /// The storage buffer the shaders bind.
    pub buffer: wgpu::Buffer,
    /// Size in bytes.
    pub bytes: u64,
    staging: Option<wgpu::Buffer>,
    readback: Option<wgpu::Buffer>,
}

/// Which transfers an array takes part in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Uploaded from the host before compute.
    Input,
    /// Downloaded to the host after compute.
    Output,
    /// Lives on the device only (partial sums, temporaries).
    Scratch,
    /// Uploaded and downloaded (the transfer experiment).
    InputOutput,
}

impl DeviceArray {
    /// Allocates a storage buffer of `bytes` (rounded up to 4) and, for inputs and outputs, its
    /// staging or readback buffer.
    pub fn new(context: &GpuContext, label: &str, bytes: u64, role: Role) -> Result<DeviceArray> {
        use wgpu::BufferUsages as Usage;
        let bytes = bytes.max(4).next_multiple_of(4);
        if bytes > context.device.limits().max_buffer_size {
            return Err(Error::usage(format!(
                "the GPU array '{label}' needs {bytes} bytes, more than the adapter's largest buffer ({} bytes); use a smaller --size",
                context.device.limits().max_buffer_size
            )));
        }
        context.scoped(
            &format!("allocating GPU buffer '{label}' ({bytes} bytes)"),
            || {
                let make = |suffix: &str, usage| {
                    context.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some(&format!("{label}{suffix}")),
                        size: bytes,
                        usage,
                        mapped_at_creation: false,
                    })
                };
                DeviceArray {
                    buffer: make("", Usage::STORAGE | Usage::COPY_DST | Usage::COPY_SRC),
                    bytes,
                    staging: matches!(role, Role::Input | Role::InputOutput)
                        .then(|| make(" staging", Usage::MAP_WRITE | Usage::COPY_SRC)),
                    readback: matches!(role, Role::Output | Role::InputOutput)
                        .then(|| make(" readback", Usage::MAP_READ | Usage::COPY_DST)),
                }
            },
        )
    }

    /// The binding of the whole buffer.
    pub fn whole(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }

    /// The binding of elements `first .. first + count` (of `element_bytes` each): the chunk a
    /// dispatch sees when the array is larger than one storage binding.
    pub fn binding(&self, first: u64, count: u64, element_bytes: u64) -> wgpu::BindingResource<'_> {
        let size = (count * element_bytes).max(4);
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: &self.buffer,
            offset: first * element_bytes,
            size: NonZeroU64::new(size),
        })
    }
}

/// Uploads each host byte slice into its device array through the array's staging buffer and
/// returns the elapsed seconds: mapping, the host copy, the device copy and the wait for it.
pub fn upload_timed(context: &GpuContext, transfers: &[(&DeviceArray, &[u8])]) -> Result<f64> {
    let started = Instant::now();
    let mut encoder = context
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("upload"),
        });
    for (array, host) in transfers {
        let staging = array
            .staging
            .as_ref()
            .ok_or_else(|| Error::gpu("uploading", "array has no staging buffer"))?;
        map_and_wait(
            context,
            staging,
            wgpu::MapMode::Write,
            "mapping a staging buffer",
        )?;
        {
            let mut view = staging
                .get_mapped_range_mut(..host.len() as u64)
                .map_err(|e| Error::gpu("writing a staging buffer", e))?;
            view.copy_from_slice(host);
        }
        staging.unmap();
        encoder.copy_buffer_to_buffer(staging, 0, &array.buffer, 0, host.len() as u64);
    }
    context.submit_and_wait([encoder.finish()], "uploading")?;
    Ok(started.elapsed().as_secs_f64())
}

/// Where a download's bytes go.
pub struct Download<'a> {
    /// The array to read; its first `host.len()` bytes are copied.
    pub array: &'a DeviceArray,
    /// The host bytes to fill.
    pub host: &'a mut [u8],
}

/// Copies each device array into its readback buffer, maps it and copies the bytes into the
/// host slice; returns the elapsed seconds.
pub fn download_timed(context: &GpuContext, downloads: &mut [Download<'_>]) -> Result<f64> {
    let started = Instant::now();
    let mut encoder = context
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("download"),
        });
    for download in downloads.iter() {
        let readback = download
            .array
            .readback
            .as_ref()
            .ok_or_else(|| Error::gpu("downloading", "array has no readback buffer"))?;
        encoder.copy_buffer_to_buffer(
            &download.array.buffer,
            0,
            readback,
            0,
            download.host.len() as u64,
        );
    }
    context.submit_and_wait([encoder.finish()], "downloading")?;
    for download in downloads.iter_mut() {
        let readback = download.array.readback.as_ref().expect("checked above");
        map_for_read(context, readback, "mapping a readback buffer")?;
        {
            let view = readback
                .get_mapped_range(..download.host.len() as u64)
                .map_err(|e| Error::gpu("reading a readback buffer", e))?;
            download.host.copy_from_slice(&view);
        }
        readback.unmap();
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Uploads with `queue.write_buffer` (wgpu copies into a fresh staging buffer each call, then
/// copies that on the device at the next submission) and
/// waits for the copy; returns the elapsed seconds. The transfer experiment compares it with
/// [`upload_timed`].
pub fn upload_write_buffer_timed(
    context: &GpuContext,
    array: &DeviceArray,
    host: &[u8],
) -> Result<f64> {
    let started = Instant::now();
    context.queue.write_buffer(&array.buffer, 0, host);
    context.submit_and_wait([], "uploading with write_buffer")?;
    Ok(started.elapsed().as_secs_f64())
}

/// Uploads with `queue.write_buffer_with` (wgpu hands out a mapped view of a fresh staging
/// buffer and the host bytes are copied into it) and waits for the copy; returns the elapsed
/// seconds. With the bytes already in memory this is one CPU copy, as `write_buffer` makes; it
/// saves a copy only for data produced straight into the view.
pub fn upload_write_buffer_with_timed(
    context: &GpuContext,
    array: &DeviceArray,
    host: &[u8],
) -> Result<f64> {
    let started = Instant::now();
    let size = wgpu::BufferSize::new(host.len() as u64)
        .ok_or_else(|| Error::gpu("uploading", "empty upload"))?;
    {
        let mut view = context
            .queue
            .write_buffer_with(&array.buffer, 0, size)
            .ok_or_else(|| {
                Error::gpu(
                    "uploading with write_buffer_with",
                    "wgpu refused the staging memory",
                )
            })?;
        view.copy_from_slice(host);
    }
    context.submit_and_wait([], "uploading with write_buffer_with")?;
    Ok(started.elapsed().as_secs_f64())
}

/// Uploads host byte slices into parts of one device array, each at its byte offset (multiples
/// of 4), through the array's staging buffer in one submission; returns the elapsed seconds.
/// The distributed stencil's GPU ranks put their neighbours' rows into their ghost rows with it.
pub fn upload_ranges_timed(
    context: &GpuContext,
    array: &DeviceArray,
    ranges: &[(u64, &[u8])],
) -> Result<f64> {
    let started = Instant::now();
    let staging = array
        .staging
        .as_ref()
        .ok_or_else(|| Error::gpu("uploading", "array has no staging buffer"))?;
    let total: u64 = ranges.iter().map(|(_, host)| host.len() as u64).sum();
    if total == 0 {
        return Ok(0.0);
    }
    map_range_and_wait(
        context,
        staging,
        wgpu::MapMode::Write,
        0..total,
        "mapping a staging buffer",
    )?;
    {
        let mut view = staging
            .get_mapped_range_mut(..total)
            .map_err(|e| Error::gpu("writing a staging buffer", e))?;
        let mut packed = 0;
        for (_, host) in ranges {
            view.slice(packed..packed + host.len())
                .copy_from_slice(host);
            packed += host.len();
        }
    }
    staging.unmap();
    let mut encoder = context
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("upload ranges"),
        });
    let mut packed = 0;
    for (offset, host) in ranges {
        let bytes = host.len() as u64;
        encoder.copy_buffer_to_buffer(staging, packed, &array.buffer, *offset, bytes);
        packed += bytes;
    }
    context.submit_and_wait([encoder.finish()], "uploading ranges")?;
    Ok(started.elapsed().as_secs_f64())
}

/// Downloads parts of one device array, each from its byte offset (multiples of 4), into host
/// slices through the array's readback buffer in one submission; returns the elapsed seconds.
pub fn download_ranges_timed(
    context: &GpuContext,
    array: &DeviceArray,
    ranges: &mut [(u64, &mut [u8])],
) -> Result<f64> {
    let started = Instant::now();
    let readback = array
        .readback
        .as_ref()
        .ok_or_else(|| Error::gpu("downloading", "array has no readback buffer"))?;
    let total: u64 = ranges.iter().map(|(_, host)| host.len() as u64).sum();
    if total == 0 {
        return Ok(0.0);
    }
    let mut encoder = context
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("download ranges"),
        });
    let mut packed = 0;
    for (offset, host) in ranges.iter() {
        let bytes = host.len() as u64;
        encoder.copy_buffer_to_buffer(&array.buffer, *offset, readback, packed, bytes);
        packed += bytes;
    }
    context.submit_and_wait([encoder.finish()], "downloading ranges")?;
    map_range_and_wait(
        context,
        readback,
        wgpu::MapMode::Read,
        0..total,
        "mapping a readback buffer",
    )?;
    {
        let view = readback
            .get_mapped_range(..total)
            .map_err(|e| Error::gpu("reading a readback buffer", e))?;
        let mut packed = 0;
        for (_, host) in ranges.iter_mut() {
            host.copy_from_slice(&view[packed..packed + host.len()]);
            packed += host.len();
        }
    }
    readback.unmap();
    Ok(started.elapsed().as_secs_f64())
}

/// Reused staging buffers for [`upload_pipelined_timed`]: `buffers` `MAP_WRITE | COPY_SRC`
/// buffers of one chunk each.
///
/// The experiment uses [`UploadPipeline::BUFFERS`] buffers of [`UploadPipeline::chunk_for`]
/// the upload: four chunks of at most 4 MiB. Four, so that every buffer is either being filled
/// by a thread or copied by the device with one spare; chunks no larger than a quarter of the
/// upload, so that even a small upload has chunks to overlap; at most 4 MiB, because past a
/// few MiB a copy's fixed cost is already small and larger chunks only delay the start of the
/// overlap.
pub struct UploadPipeline {
    buffers: Vec<wgpu::Buffer>,
    /// Whether each buffer is mapped now. Between uploads every buffer is left mapped so the
    /// next upload can start copying at once; after a failed upload a buffer may not be, and
    /// is mapped again when next used.
    mapped: Vec<AtomicBool>,
    chunk: u64,
}

impl UploadPipeline {
    /// Staging buffers the experiment uses.
    pub const BUFFERS: usize = 4;
    /// Largest chunk the experiment uses.
    pub const MAX_CHUNK: u64 = 4 << 20;

    /// The experiment's chunk for an upload of `bytes`: a quarter of it, in whole 4-byte words,
    /// at most [`UploadPipeline::MAX_CHUNK`].
    pub fn chunk_for(bytes: u64) -> u64 {
        (bytes.div_ceil(Self::BUFFERS as u64).next_multiple_of(4)).clamp(4, Self::MAX_CHUNK)
    }

    /// Allocates `buffers` staging buffers of `chunk` bytes (rounded up to 4).
    pub fn new(context: &GpuContext, chunk: u64, buffers: usize) -> Result<UploadPipeline> {
        let chunk = chunk.max(4).next_multiple_of(4);
        if buffers == 0 {
            return Err(Error::gpu(
                "allocating upload staging",
                "no staging buffers",
            ));
        }
        let buffers = context.scoped(
            &format!("allocating {buffers} upload staging buffers of {chunk} bytes"),
            || {
                (0..buffers)
                    .map(|index| {
                        context.device.create_buffer(&wgpu::BufferDescriptor {
                            label: Some(&format!("pipelined staging {index}")),
                            size: chunk,
                            usage: wgpu::BufferUsages::MAP_WRITE | wgpu::BufferUsages::COPY_SRC,
                            mapped_at_creation: true,
                        })
                    })
                    .collect::<Vec<_>>()
            },
        )?;
        Ok(UploadPipeline {
            mapped: buffers.iter().map(|_| AtomicBool::new(true)).collect(),
            buffers,
            chunk,
        })
    }

    /// The experiment's pipeline for uploads of `bytes`.
    pub fn for_upload(context: &GpuContext, bytes: u64) -> Result<UploadPipeline> {
        UploadPipeline::new(context, Self::chunk_for(bytes), Self::BUFFERS)
    }

    /// Bytes per chunk.
    pub fn chunk_bytes(&self) -> u64 {
        self.chunk
    }
}

/// Uploads `host` into the start of `array` in chunks of the pipeline's size: one thread per
/// staging buffer copies its chunks (buffer k takes chunks k, k + B, k + 2B, …) and submits a
/// device copy of each, then waits for the buffer to come back mapped before copying its next
/// chunk. So the CPU copies of some chunks overlap the device copies of others. Returns the
/// seconds from just before the first copy (starting the threads included, as they are part
/// of the path) until the device has every chunk and every staging buffer is mapped again.
/// `host` must be whole 4-byte words that fit in `array`; anything else is an error.
pub fn upload_pipelined_timed(
    context: &GpuContext,
    pipeline: &UploadPipeline,
    array: &DeviceArray,
    host: &[u8],
) -> Result<f64> {
    let bytes = host.len() as u64;
    if !bytes.is_multiple_of(4) || bytes > array.bytes {
        return Err(Error::gpu(
            "uploading in a pipeline",
            format!(
                "{bytes} bytes do not fit whole 4-byte words into the {}-byte array",
                array.bytes
            ),
        ));
    }
    let chunks = bytes.div_ceil(pipeline.chunk) as usize;
    let lanes = pipeline.buffers.len().min(chunks);
    let (device, queue) = (&context.device, &context.queue);
    let started = Instant::now();
    let lane = |slot: usize| -> Result<()> {
        let staging = &pipeline.buffers[slot];
        let mapped = &pipeline.mapped[slot];
        for chunk in (slot..chunks).step_by(lanes) {
            if !mapped.load(Ordering::Acquire) {
                remap(device, staging, None)?;
                mapped.store(true, Ordering::Release);
            }
            let offset = chunk as u64 * pipeline.chunk;
            let len = pipeline.chunk.min(bytes - offset);
            let part = &host[offset as usize..(offset + len) as usize];
            {
                let mut view = staging
                    .get_mapped_range_mut(..len)
                    .map_err(|e| Error::gpu("writing a pipelined staging buffer", e))?;
                view.copy_from_slice(part);
            }
            staging.unmap();
            mapped.store(false, Ordering::Release);
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("pipelined upload"),
            });
            encoder.copy_buffer_to_buffer(staging, 0, &array.buffer, offset, len);
            let submitted = queue.submit([encoder.finish()]);
            // Mapping again waits for this copy, so the buffer comes back once the device
            // has the chunk; other lanes keep copying meanwhile.
            remap(device, staging, Some(submitted))?;
            mapped.store(true, Ordering::Release);
        }
        Ok(())
    };
    // Buffer 0's lane runs on this thread; the others on scoped threads. Validation errors
    // from any thread reach the context's error sink (error scopes are per thread), which
    // `check` reads below.
    let lane = &lane;
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let others: Vec<_> = (1..lanes)
            .map(|slot| scope.spawn(move || lane(slot)))
            .collect();
        let mut results = vec![if lanes > 0 { lane(0) } else { Ok(()) }];
        results.extend(others.into_iter().map(|handle| {
            handle.join().unwrap_or_else(|_| {
                Err(Error::gpu(
                    "uploading in a pipeline",
                    "a copying thread panicked",
                ))
            })
        }));
        results
    });
    let elapsed = started.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<Vec<()>>>()?;
    context.check("uploading in a pipeline")?;
    Ok(elapsed)
}

/// Maps `staging` for writing and waits until it is mapped: after `submitted` (the copy that
/// reads it) when given. The callback may run on another lane's poll, so the wait is on the
/// callback's message, after this thread's own poll has pushed the device along.
fn remap(
    device: &wgpu::Device,
    staging: &wgpu::Buffer,
    submitted: Option<wgpu::SubmissionIndex>,
) -> Result<()> {
    const DOING: &str = "mapping a pipelined staging buffer";
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Write, .., move |result| {
        let _ = sender.send(result);
    });
    device
        .poll(wgpu::PollType::Wait {
            submission_index: submitted,
            timeout: None,
        })
        .map_err(|e| Error::gpu(DOING, e))?;
    receiver
        .recv()
        .map_err(|e| Error::gpu(DOING, e))?
        .map_err(|e| Error::gpu(DOING, e))
}
