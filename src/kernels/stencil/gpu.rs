//! The stencil on the GPU, in two variants.
//!
//! - `resident`: one upload, every step a dispatch of one compute pass (ping-ponging between two
//!   device buffers; wgpu puts a barrier between dispatches), one download.
//! - `roundtrip`: the field goes back to the host after every step: upload, one step, download,
//!   `steps` times per sample.
//!
//! Fields larger than one storage binding are processed in bands of whole rows. A band's input
//! window includes the row above and the row below (its halo) and starts at the aligned offset at
//! or before them; the shader gets the band's position inside each window in a small uniform.
//! When one row plus its halo does not fit in a binding, the set-up refuses with a usage error.

use super::{DIFFUSION, Field, StencilProblem, step_fields};
use crate::error::{Error, Result};
use crate::gpu::pipeline::CompiledPipeline;
use crate::gpu::{Dispatch, GpuContext, Setup, ShaderSpec};
use crate::kernels::GpuRun;

/// Where the field stays between steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Residency {
    /// On the device for all steps.
    Resident,
    /// Back to the host after every step.
    Roundtrip,
}

impl Residency {
    /// The variant's name; `None` is the default, `resident`.
    pub(crate) fn parse(variant: Option<&str>) -> Result<Residency> {
        match variant {
            None | Some("resident") => Ok(Residency::Resident),
            Some("roundtrip") => Ok(Residency::Roundtrip),
            Some(other) => Err(Error::usage(format!(
                "stencil has no GPU variant '{other}'; it has resident, roundtrip"
            ))),
        }
    }
}

/// One band of rows and the windows of the fields it binds (all in f32 elements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BandPlan {
    pub first_row: u64,
    pub rows: u64,
    /// Input window: aligned start and length; covers rows first_row − 1 .. first_row + rows + 1
    /// clipped to the grid.
    pub in_first: u64,
    pub in_count: u64,
    /// Output window: aligned start and length; covers the band's rows.
    pub out_first: u64,
    pub out_count: u64,
}

/// Splits an n × n field into bands whose windows each fit `chunk` elements, with window starts
/// on multiples of `align` elements (`chunk` is one too). `None` when a single row with its halo
/// (and the alignment slack) does not fit.
pub(crate) fn plan_bands(n: u64, chunk: u64, align: u64) -> Option<Vec<BandPlan>> {
    let total = n.checked_mul(n)?;
    let rows_per_band = if total <= chunk {
        n
    } else {
        // (rows + 2)·n + (align − 1) ≤ chunk: the halo rows, and a start moved back to alignment.
        let fit = (chunk + 1).saturating_sub(align) / n;
        if fit < 3 {
            return None;
        }
        fit - 2
    };
    let mut bands = Vec::new();
    let mut first_row = 0;
    while first_row < n {
        let rows = rows_per_band.min(n - first_row);
        let in_first = first_row.saturating_sub(1) * n / align * align;
        let in_end = (first_row + rows + 1).min(n) * n;
        let out_first = first_row * n / align * align;
        let out_end = (first_row + rows) * n;
        bands.push(BandPlan {
            first_row,
            rows,
            in_first,
            in_count: in_end - in_first,
            out_first,
            out_count: out_end - out_first,
        });
        first_row += rows;
    }
    Some(bands)
}

/// The step shader (`shaders/stencil.wgsl`) compiled for `context`, and its workgroup tile
/// (x along a row, y across rows). The catalogue's GPU stencil and the distributed stencil's
/// GPU slab both step with it.
pub(crate) fn step_pipeline(context: &GpuContext) -> Result<(CompiledPipeline, (u32, u32))> {
    let limits = context.device.limits();
    let tile_x = 16u32.min(limits.max_compute_workgroup_size_x);
    let tile_y =
        (context.workgroup_size(256) / tile_x).clamp(1, limits.max_compute_workgroup_size_y.max(1));
    let spec = ShaderSpec::new(
        "stencil",
        include_str!("../../../shaders/stencil.wgsl"),
        "step",
    )
    .constant("TILE_X", tile_x)
    .constant("TILE_Y", tile_y)
    .constant("DIFFUSION", DIFFUSION);
    Ok((context.pipelines().get(context, &spec)?, (tile_x, tile_y)))
}

/// The bind groups of one band made so far, one per (source, destination) pair its steps use.
type BandGroups = Vec<((Field, Field), wgpu::BindGroup)>;

/// Sets the stencil up on the GPU: upload, compute pass, download once (`resident`) or once per
/// step (`roundtrip`).
pub(crate) fn run<'a>(
    problem: &'a mut StencilProblem,
    context: &'a GpuContext,
    residency: Residency,
) -> Result<Box<dyn GpuRun + 'a>> {
    let n = problem.n as u64;
    let limits = context.device.limits();
    let align = (limits.min_storage_buffer_offset_alignment.max(4) / 4) as u64;
    let chunk = context.chunk_elements(4);
    let plans = plan_bands(n, chunk, align).ok_or_else(|| {
        Error::usage(format!(
            "--size {n}: one grid row and its two halo rows ({} bytes) do not fit in one GPU storage binding of {} bytes; use a smaller --size",
            3 * 4 * n,
            context.max_binding_bytes
        ))
    })?;

    let mut setup = Setup::new(context, "stencil");
    let (compiled, (tile_x, tile_y)) = step_pipeline(context)?;
    let pipeline = setup.compiled(compiled);

    let bytes = 4 * n * n;
    let initial = setup.input("stencil initial", bytes)?;
    let output = setup.output("stencil output", bytes)?;
    // The second buffer of the resident ping-pong; the round trip needs none.
    let scratch = match residency {
        Residency::Resident => Some(setup.scratch("stencil scratch", bytes)?),
        Residency::Roundtrip => None,
    };
    // The (source, destination) of each step of one compute pass: every step when the
    // field stays on the device; one step, initial to output, when it goes back to the host
    // after each.
    let steps = problem.steps;
    let (rounds, pass): (u32, Vec<(Field, Field)>) = match residency {
        Residency::Resident => (1, (1..=steps).map(|k| step_fields(k, steps)).collect()),
        Residency::Roundtrip => (steps, vec![(Field::Initial, Field::Output)]),
    };
    let field = |which: Field| match which {
        Field::Initial => Ok(&initial),
        Field::Output => Ok(&output),
        Field::Scratch => scratch
            .as_ref()
            .ok_or_else(|| Error::gpu("creating the stencil's bind groups", "no scratch field")),
    };
    let max_groups = context.adapter.max_workgroups_per_dimension as u64;
    let groups_for =
        |count: u64, tile: u32| count.div_ceil(tile as u64).clamp(1, max_groups) as u32;
    // Each band's position in the grid and inside its windows.
    let params: Vec<[u32; 8]> = plans
        .iter()
        .map(|plan| {
            [
                n as u32,
                plan.rows as u32,
                plan.first_row as u32,
                (plan.first_row * n - plan.in_first) as u32,
                (plan.first_row * n - plan.out_first) as u32,
                n as u32, // grid rows
                0,
                0,
            ]
        })
        .collect();
    let dispatches = context.scoped("creating the stencil's bind groups", || {
        let params = setup.uniforms("stencil bands", &params);
        let mut bands: Vec<BandGroups> = vec![Vec::new(); plans.len()];
        // Step by step, one dispatch per band (wgpu orders the dispatches of a pass).
        let mut dispatches = Vec::new();
        for &pair in &pass {
            for ((index, plan), groups) in (0..).zip(&plans).zip(&mut bands) {
                let made = groups.iter().find(|(made, _)| *made == pair);
                let group = match made {
                    Some((_, group)) => group.clone(),
                    None => {
                        let bindings = [
                            params.binding(index),
                            field(pair.0)?.binding(plan.in_first, plan.in_count, 4),
                            field(pair.1)?.binding(plan.out_first, plan.out_count, 4),
                        ];
                        let group = context.bind_group(&pipeline, "stencil step", &bindings);
                        groups.push((pair, group.clone()));
                        group
                    }
                };
                let workgroups = [groups_for(n, tile_x), groups_for(plan.rows, tile_y), 1];
                dispatches.push(Dispatch { group, workgroups });
            }
        }
        Ok(dispatches)
    })??;
    setup.dispatch(&pipeline, dispatches);
    let gpu = setup.finish()?;
    // Each phase is the sum over the rounds, so the round trip's transfers show `steps` times
    // larger, and its compute phase uses the timestamps only when every step had a valid pair.
    Ok(gpu.sampled_by(move |gpu| {
        let mut phases = gpu.phases();
        for round in 0..rounds {
            // The first round starts from the initial field, every later one from the field
            // the previous round brought back to the host.
            let host = match round {
                0 => problem.initial.as_bytes(),
                _ => problem.output.as_bytes(),
            };
            phases.upload(&[host])?;
            phases.compute()?;
            phases.download(&mut [problem.output.as_bytes_mut()])?;
        }
        Ok(phases.finish())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_every_row_once_with_their_halos_inside_aligned_windows() {
        for (n, chunk, align) in [(5, 1024, 8), (67, 1024, 8), (131, 1024, 8), (131, 4096, 64)] {
            let bands = plan_bands(n, chunk, align).unwrap();
            let mut next_row = 0;
            for band in &bands {
                assert_eq!(band.first_row, next_row);
                next_row += band.rows;
                assert!(band.in_first % align == 0 && band.out_first % align == 0);
                assert!(band.in_count <= chunk && band.out_count <= chunk);
                let halo_first = band.first_row.saturating_sub(1) * n;
                let halo_end = (band.first_row + band.rows + 1).min(n) * n;
                assert!(band.in_first <= halo_first && band.in_first + band.in_count >= halo_end);
                assert!(band.out_first <= band.first_row * n);
                assert_eq!(
                    band.out_first + band.out_count,
                    (band.first_row + band.rows) * n
                );
            }
            assert_eq!(next_row, n);
            assert_eq!(bands.len() == 1, n * n <= chunk, "n={n}");
        }
        assert!(plan_bands(600, 1024, 8).is_none());
    }
}
