//! The GPU backend of the escape-time kernels: `shaders/fractal.wgsl`, one invocation per
//! pixel, the n × n u32 counts bound chunk by chunk when they exceed one storage binding.
//!
//! There is no upload: each chunk's grid parameters (and the Julia constant) sit in a small uniform written once at
//! set-up. The compute pass runs one dispatch per chunk; the download brings back 4·n² bytes.

use super::{FractalProblem, Set};
use crate::error::Result;
use crate::gpu::{Chunk, Dispatch, GpuContext, Setup, ShaderSpec, chunks};
use crate::kernels::GpuRun;

/// The shader's `Params` uniform (48 bytes, std140-compatible: scalars only).
#[repr(C)]
#[derive(Debug, Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    first_row: u32,
    first_col: u32,
    n: u32,
    max_iter: u32,
    a: f32,
    b: f32,
    step_x: f32,
    step_y: f32,
    /// The Julia constant (unused for the Mandelbrot set).
    c_re: f32,
    c_im: f32,
    /// Always 0: the shader XORs intermediate results with it to hide them from the compiler.
    zero: u32,
    /// Pads the block to 16 bytes.
    padding: u32,
}

/// One escape-time image set up on the GPU.
pub(super) fn run<'a>(
    problem: &'a mut FractalProblem,
    context: &'a GpuContext,
) -> Result<Box<dyn GpuRun + 'a>> {
    let grid = problem.grid;
    let workgroup_size = context.workgroup_size(256);
    let julia = match grid.set {
        Set::Mandelbrot => 0.0,
        Set::Julia => 1.0,
    };
    let mut setup = Setup::new(context, "fractal");
    let pipeline = setup.pipeline(
        &ShaderSpec::new(
            "fractal",
            include_str!("../../../shaders/fractal.wgsl"),
            "main",
        )
        .constant("WORKGROUP_SIZE", workgroup_size)
        .constant("JULIA", julia)
        .trusted("one grid-stride loop, i < arrayLength(&counts)"),
    )?;

    let pixels = grid.pixels() as u64;
    let counts = setup.output("fractal counts", 4 * pixels)?;
    // u32::MAX, the host's poison: a pixel no invocation writes cannot keep an earlier count.
    setup.poison_each_sample(&counts, 0xFF);
    let n = grid.n as u64;
    let chunks: Vec<Chunk> = chunks(pixels, context.chunk_elements(4)).collect();
    let params: Vec<Params> = chunks
        .iter()
        .map(|chunk| Params {
            first_row: (chunk.first / n) as u32,
            first_col: (chunk.first % n) as u32,
            n: n as u32,
            max_iter: grid.max_iter,
            a: grid.a,
            b: grid.b,
            step_x: grid.step_x,
            step_y: grid.step_y,
            c_re: grid.c.0,
            c_im: grid.c.1,
            zero: 0,
            padding: 0,
        })
        .collect();
    let dispatches = context.scoped("creating the fractal uniforms and bind groups", || {
        let params = setup.uniforms("fractal params", &params);
        chunks
            .iter()
            .map(|chunk| {
                let bindings = [
                    counts.binding(chunk.first, chunk.count, 4),
                    params.binding(chunk.index),
                ];
                let groups = context.grid_stride_groups(chunk.count, workgroup_size);
                Dispatch::new(
                    context,
                    &pipeline,
                    "fractal chunk",
                    &bindings,
                    [groups, 1, 1],
                )
            })
            .collect()
    })?;
    setup.dispatch(&pipeline, dispatches);
    let gpu = setup.finish()?;
    // No upload: the parameters were written at set-up.
    Ok(gpu.sampled_by(move |gpu| gpu.sample(&[], &mut [problem.output.as_bytes_mut()])))
}
