//! The byte histogram on the GPU: the bytes uploaded packed four per u32, bound chunk by chunk,
//! counted into 256 u32 bins by global atomics or by per-workgroup private bins.

use super::HistogramProblem;
use super::cpu::BINS;
use crate::error::Result;
use crate::gpu::{Chunk, Dispatch, GpuContext, Setup, ShaderSpec, chunks};
use crate::kernels::GpuRun;

/// How the GPU counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// One atomicAdd per byte on 256 global bins.
    GlobalAtomics,
    /// Per-workgroup bins in workgroup memory, then one global atomicAdd per bin.
    Private,
}

/// The most workgroups one chunk's dispatch uses; the grid-stride loop covers the rest. With
/// `private`, every workgroup costs 256 global atomics at the end, so more is not better.
const MAX_GROUPS_PER_CHUNK: u32 = 1024;

/// Words per chunk at most, so that a chunk's byte count fits the shader's u32.
const MAX_CHUNK_WORDS: u64 = 1 << 29;

/// The histogram set up on the GPU.
pub(super) fn run<'a>(
    problem: &'a mut HistogramProblem,
    context: &'a GpuContext,
    method: Method,
) -> Result<Box<dyn GpuRun + 'a>> {
    let workgroup_size = context.workgroup_size(256);
    let (label, source) = match method {
        Method::GlobalAtomics => (
            "histogram global-atomics",
            include_str!("../../../shaders/histogram/global_atomics.wgsl"),
        ),
        Method::Private => (
            "histogram private",
            include_str!("../../../shaders/histogram/private.wgsl"),
        ),
    };
    let mut setup = Setup::new(context, "histogram");
    let pipeline = setup.pipeline(
        &ShaderSpec::new(label, source, "main")
            .constant("WORKGROUP_SIZE", workgroup_size)
            .trusted("w < arrayLength(&data); bins indexed by a byte, & 0xff, of 256"),
    )?;

    let n = problem.n as u64;
    let words = n.div_ceil(4);
    let data = setup.input("histogram data", 4 * words)?;
    let bins = setup.output("histogram bins", 4 * BINS as u64)?;
    // No bytes still make one chunk, of one (padding) word.
    let chunks: Vec<Chunk> =
        chunks(words.max(1), context.chunk_elements(4).min(MAX_CHUNK_WORDS)).collect();
    // One `valid_bytes` word per chunk, each at a binding-offset boundary.
    let stride = (context.device.limits().min_storage_buffer_offset_alignment as u64).max(4);
    let chunk_info = setup.scratch("histogram chunk sizes", stride * chunks.len() as u64)?;
    let mut info = vec![0u32; stride as usize / 4 * chunks.len()];
    for chunk in &chunks {
        let first_byte = chunk.first * 4;
        info[(chunk.index * stride / 4) as usize] = (n - first_byte).min(chunk.count * 4) as u32;
    }
    let doing = "writing the histogram chunk sizes";
    context.write_and_wait(&chunk_info.buffer, bytemuck::cast_slice(&info), doing)?;
    let dispatches = context.scoped("creating bind groups", || {
        chunks
            .iter()
            .map(|chunk| {
                let bindings = [
                    bins.whole(),
                    data.binding(chunk.first, chunk.count, 4),
                    chunk_info.binding(chunk.index * stride / 4, 1, 4),
                ];
                let groups = context
                    .grid_stride_groups(chunk.count, workgroup_size)
                    .min(MAX_GROUPS_PER_CHUNK);
                Dispatch::new(context, &pipeline, label, &bindings, [groups, 1, 1])
            })
            .collect()
    })?;
    setup.dispatch(&pipeline, dispatches);
    // The bins start at zero every sample.
    setup.clear_each_sample(&bins);
    let gpu = setup.finish()?;
    Ok(gpu.sampled_by(move |gpu| {
        let mut bins = [0u32; BINS];
        let host = bytemuck::cast_slice_mut(&mut bins);
        let phases = gpu.sample(&[problem.padded_bytes()], &mut [host])?;
        for (count, bin) in problem.counts.iter_mut().zip(bins) {
            *count = bin as u64;
        }
        Ok(phases)
    }))
}
