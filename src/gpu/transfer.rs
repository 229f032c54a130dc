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

/// Uploads with `queue.write_buffer` (wgpu copies into a fresh staging buffer each call) and
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

/// Uploads with `queue.write_buffer_with` (the caller fills wgpu's staging memory directly, one
/// host copy fewer than `write_buffer`) and waits for the copy; returns the elapsed seconds.
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
