//! GPU-side timing of a compute pass with timestamp queries.
//!
//! Pass-boundary timestamps are the reliable kind (in-encoder ones may be reordered); a
//! difference of zero or less means "no measurement", not an error, and the caller falls back to
//! the host clock.

use super::context::GpuContext;
use crate::error::{Error, Result};

/// Timestamps at the beginning and end of one compute pass, resolved and read back each sample.
pub struct PassTimer {
    query_set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    period_ns: f64,
}

const PAIR_BYTES: u64 = 2 * wgpu::QUERY_SIZE as u64;

impl PassTimer {
    /// A timer, or `None` when the device has no timestamp queries.
    pub fn new(context: &GpuContext) -> Result<Option<PassTimer>> {
        if !context.timestamps || context.timestamp_period_ns <= 0.0 {
            return Ok(None);
        }
        context.scoped("creating the timestamp queries", || {
            let buffer = |label, usage| {
                context.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: PAIR_BYTES,
                    usage,
                    mapped_at_creation: false,
                })
            };
            Some(PassTimer {
                query_set: context.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("pass timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2,
                }),
                resolve: buffer(
                    "timestamp resolve",
                    wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                ),
                readback: buffer(
                    "timestamp readback",
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                ),
                period_ns: context.timestamp_period_ns,
            })
        })
    }

    /// The `timestamp_writes` of the compute pass to time.
    pub fn pass_writes(&self) -> wgpu::ComputePassTimestampWrites<'_> {
        wgpu::ComputePassTimestampWrites {
            query_set: &self.query_set,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    /// Records the resolve and the copy to the readback buffer; call after the pass ends.
    pub fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        encoder.resolve_query_set(&self.query_set, 0..2, &self.resolve, 0);
        encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, PAIR_BYTES);
    }

    /// Reads the pass duration in seconds once the submission that resolved it has completed;
    /// `None` when the pair is not a valid measurement.
    pub fn read_seconds(&self, context: &GpuContext) -> Result<Option<f64>> {
        map_for_read(context, &self.readback, "reading timestamps")?;
        let ticks = {
            let view = self
                .readback
                .get_mapped_range(..)
                .map_err(|e| Error::gpu("reading timestamps", e))?;
            let pair: &[u64] = bytemuck::cast_slice(&view);
            pair[1] as i128 - pair[0] as i128
        };
        self.readback.unmap();
        Ok((ticks > 0).then_some(ticks as f64 * self.period_ns * 1e-9))
    }
}

/// Maps `buffer` for reading and waits until the mapping is done.
pub(crate) fn map_for_read(context: &GpuContext, buffer: &wgpu::Buffer, doing: &str) -> Result<()> {
    map_and_wait(context, buffer, wgpu::MapMode::Read, doing)
}

/// Maps `buffer` in `mode` and waits for the device to grant it.
pub(crate) fn map_and_wait(
    context: &GpuContext,
    buffer: &wgpu::Buffer,
    mode: wgpu::MapMode,
    doing: &str,
) -> Result<()> {
    map_range_and_wait(context, buffer, mode, 0..buffer.size(), doing)
}

/// Maps bytes `range` of `buffer` in `mode` (start a multiple of 8, length a multiple of 4) and waits for
/// the device to grant it: a transfer of a few rows maps only those.
pub(crate) fn map_range_and_wait(
    context: &GpuContext,
    buffer: &wgpu::Buffer,
    mode: wgpu::MapMode,
    range: std::ops::Range<u64>,
    doing: &str,
) -> Result<()> {
    let (sender, receiver) = std::sync::mpsc::channel();
    buffer.map_async(mode, range, move |result| {
        let _ = sender.send(result);
    });
    context
        .device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::gpu(doing, e))?;
    receiver
        .recv()
        .map_err(|e| Error::gpu(doing, e))?
        .map_err(|e| Error::gpu(doing, e))?;
    context.check(doing)
}

/// The compute phase of one GPU sample, the one way every kernel times it: zeroes the `clear`
/// buffers (accumulators that must start empty), records one compute pass (`record` sets
/// pipelines, bind groups and dispatches), timed by `timer` when the device has timestamps,
/// submits it and waits. Returns the host-clock seconds (recording, submission
/// and wait included) and the GPU's own pass duration when it gave a valid one.
pub fn timed_compute_pass(
    context: &GpuContext,
    timer: Option<&PassTimer>,
    label: &str,
    clear: &[&wgpu::Buffer],
    record: impl FnOnce(&mut wgpu::ComputePass<'_>) -> Result<()>,
) -> Result<(f64, Option<f64>)> {
    let started = std::time::Instant::now();
    let mut encoder = context
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
    for buffer in clear {
        encoder.clear_buffer(buffer, 0, None);
    }
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(label),
            timestamp_writes: timer.map(PassTimer::pass_writes),
        });
        record(&mut pass)?;
    }
    if let Some(timer) = timer {
        timer.resolve(&mut encoder);
    }
    context.submit_and_wait([encoder.finish()], &format!("computing {label}"))?;
    let wall_s = started.elapsed().as_secs_f64();
    let timestamp_s = match timer {
        Some(timer) => timer.read_seconds(context)?,
        None => None,
    };
    Ok((wall_s, timestamp_s))
}
