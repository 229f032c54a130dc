//! Monte Carlo π on the GPU: a 2-D dispatch of (groups, rows) over the sample indices, a
//! workgroup tree of u32 counts, and one workgroup that adds the partials as 64-bit integers.
//! No upload: the points are made on the device from their indices; the download is the count.

use super::PiProblem;
use crate::error::{Error, Result};
use crate::gpu::{Dispatch, GpuContext, Setup, ShaderSpec};
use crate::kernels::GpuRun;

/// The most workgroups one row uses: 1024 × 256 invocations keep a large GPU busy, and each
/// invocation still counts thousands of samples of a 2^31-sample row.
const MAX_GROUPS_PER_ROW: u64 = 1024;

/// Monte Carlo π set up on the GPU.
pub(super) fn run<'a>(
    problem: &'a mut PiProblem,
    context: &'a GpuContext,
) -> Result<Box<dyn GpuRun + 'a>> {
    // The tree reduction needs a power of two.
    let workgroup_size = 1u32 << context.workgroup_size(256).ilog2();
    let row_shift = problem.row_shift;
    let mut setup = Setup::new(context, "pi");
    let spec = |entry| {
        ShaderSpec::new("pi", include_str!("../../../shaders/pi/count.wgsl"), entry)
            .constant("WORKGROUP_SIZE", workgroup_size)
            .constant("ROW_SHIFT", row_shift)
    };
    let count = setup.pipeline(&spec("count_hits"))?;
    let finish = setup.pipeline(&spec("finish"))?;

    let n = problem.n;
    let row = 1u64 << row_shift;
    let rows = n.div_ceil(row).max(1);
    let max_rows = context.adapter.max_workgroups_per_dimension as u64;
    if rows > max_rows {
        return Err(Error::usage(format!(
            "--size {n}: pi needs {rows} rows of workgroups, more than the adapter's {max_rows}; use a smaller --size"
        )));
    }
    let last_row_samples = (n - (rows - 1) * row) as u32;
    // One u32 partial per workgroup, all in one binding.
    let fit = (context.max_binding_bytes / 4 / rows).max(1);
    let groups = (context.grid_stride_groups(n.min(row), workgroup_size) as u64)
        .min(MAX_GROUPS_PER_ROW)
        .min(fit);
    let params = setup.scratch("pi params", 16)?;
    let partials = setup.scratch("pi partials", 4 * groups * rows)?;
    let total = setup.output("pi total", 8)?;
    let words: [u32; 4] = [problem.seed_key, rows as u32, last_row_samples, 0];
    let doing = "writing the pi parameters";
    context.write_and_wait(&params.buffer, bytemuck::cast_slice(&words), doing)?;
    let (counts, total) = context.scoped("creating bind groups", || {
        let bindings = [params.whole(), partials.whole()];
        let workgroups = [groups as u32, rows as u32, 1];
        let counts = Dispatch::new(context, &count, "pi count", &bindings, workgroups);
        // The finish entry point uses bindings 1 and 2 only.
        let bindings = [partials.whole(), total.whole()];
        let total = Dispatch {
            group: context.bind_group_from(&finish, "pi finish", 1, &bindings),
            workgroups: [1, 1, 1],
        };
        (counts, total)
    })?;
    setup.dispatch(&count, vec![counts]);
    setup.dispatch(&finish, vec![total]);
    let gpu = setup.finish()?;
    // No upload: the points are made on the device from their indices.
    Ok(gpu.sampled_by(move |gpu| {
        let mut words = [0u32; 2];
        let host = bytemuck::cast_slice_mut(&mut words);
        let phases = gpu.sample(&[], &mut [host])?;
        problem.count = words[0] as u64 | (words[1] as u64) << 32;
        Ok(phases)
    }))
}
