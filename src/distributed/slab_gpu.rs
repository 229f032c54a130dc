//! One rank's slab on the GPU: its rows with a ghost row above and below, (rows + 2) × n f32 in
//! each of two device buffers that the steps use in turn (a step reads `current`, ghost rows
//! included, and writes rows 1..=rows of the other).
//!
//! The step is the catalogue's own shader (`shaders/stencil.wgsl`; its `grid_rows` lets a band
//! read ghost rows) with the slab bound whole as one band, so a slab computes exactly the values
//! the single-process GPU stencil computes for the same rows. Only edge rows travel between
//! steps, each way in one ranged transfer. The residual is reduced on the device
//! (`shaders/stencil_change.wgsl`), so 4 bytes come back instead of the slab.

use super::slab::{Halo, Sides, Slab, SlabSetup};
use crate::error::{Error, Result};
use crate::gpu::transfer::Role;
use crate::gpu::{
    DeviceArray, GpuContext, PassTimer, ShaderSpec, download_ranges_timed, timed_compute_pass,
    upload_ranges_timed,
};
use crate::kernels::stencil::step_pipeline;
use std::sync::Arc;
use std::time::Instant;
use wgpu::util::DeviceExt;

/// A slab of rows in device memory, stepped by the catalogue's stencil shader.
pub struct GpuSlab<'a> {
    context: &'a GpuContext,
    n: usize,
    rows: usize,
    initial: Vec<f32>,
    /// The two fields, (rows + 2) × n each; `fields[current]` is the one the next step reads.
    fields: [DeviceArray; 2],
    current: usize,
    step: Arc<wgpu::ComputePipeline>,
    change: Arc<wgpu::ComputePipeline>,
    /// Indexed by `current`: reads fields[i], writes fields[1 − i].
    step_groups: [wgpu::BindGroup; 2],
    /// Indexed by `current`: now = fields[i], before = fields[1 − i].
    change_groups: [wgpu::BindGroup; 2],
    step_workgroups: (u32, u32),
    change_workgroups: u32,
    /// One u32: the bits of the largest change.
    result: DeviceArray,
    timer: Option<PassTimer>,
    first_row: Vec<f32>,
    last_row: Vec<f32>,
    ghost_above: Vec<f32>,
    ghost_below: Vec<f32>,
    zeros: Vec<f32>,
    _params: [wgpu::Buffer; 2],
    setup: SlabSetup,
}

impl<'a> GpuSlab<'a> {
    /// A slab of `initial.len() / n` rows of `n` points on `context`'s device. Refuses rows that
    /// are not whole, and a slab (with its ghost rows) larger than one storage binding.
    pub fn new(context: &'a GpuContext, initial: &[f32], n: usize) -> Result<GpuSlab<'a>> {
        if n == 0 || initial.is_empty() || !initial.len().is_multiple_of(n) {
            return Err(Error::usage(format!(
                "a slab needs whole rows: {} points are not rows of {n}",
                initial.len()
            )));
        }
        let rows = initial.len() / n;
        // The step binds the slab whole (the shader's band is the slab), so it must fit one
        // binding; a rank that needs more is a rank too few.
        let points = (rows as u64 + 2) * n as u64;
        let bytes = 4 * points;
        if bytes > context.max_binding_bytes || u32::try_from(points).is_err() {
            return Err(Error::usage(format!(
                "a slab of {rows} rows of {n} points with its ghost rows needs {bytes} bytes, more than one GPU storage binding ({} bytes); use a smaller --size or more ranks",
                context.max_binding_bytes
            )));
        }
        let (step, (tile_x, tile_y)) = step_pipeline(context)?;
        // The reduction tree halves the workgroup: a power of two.
        let change_size = 1u32 << context.workgroup_size(256).ilog2();
        let change = context.pipelines().get(
            context,
            // Checked, not trusted: its indices start at an offset the host chose.
            &ShaderSpec::new(
                "stencil_change",
                include_str!("../../shaders/stencil_change.wgsl"),
                "max_change",
            )
            .constant("WORKGROUP_SIZE", change_size),
        )?;

        let started = Instant::now();
        let field = |label| DeviceArray::new(context, label, bytes, Role::InputOutput);
        let fields = [field("slab field A")?, field("slab field B")?];
        let result = DeviceArray::new(context, "slab change", 4, Role::Output)?;
        let (n32, rows32) = (n as u32, rows as u32);
        // Band: [n, rows, first_row, in_shift, out_shift, grid_rows, pad, pad]; the slab's
        // first row is buffer row 1, the ghost rows make the grid rows + 2 rows.
        let band: [u32; 8] = [n32, rows32, 1, n32, n32, rows32 + 2, 0, 0];
        // Span: the interior, from the first point of row 1.
        let span: [u32; 2] = [n32, rows32 * n32];
        let (step_layout, change_layout) = (
            step.pipeline.get_bind_group_layout(0),
            change.pipeline.get_bind_group_layout(0),
        );
        let (params, step_groups, change_groups) =
            context.scoped("creating the slab's bind groups", || {
                let uniform = |label, contents: &[u32]| {
                    context
                        .device
                        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: Some(label),
                            contents: bytemuck::cast_slice(contents),
                            usage: wgpu::BufferUsages::UNIFORM,
                        })
                };
                let params = [uniform("slab band", &band), uniform("slab span", &span)];
                let group = |layout, label, buffers: &[&wgpu::Buffer]| {
                    let entries: Vec<wgpu::BindGroupEntry> = buffers
                        .iter()
                        .enumerate()
                        .map(|(binding, buffer)| wgpu::BindGroupEntry {
                            binding: binding as u32,
                            resource: buffer.as_entire_binding(),
                        })
                        .collect();
                    context
                        .device
                        .create_bind_group(&wgpu::BindGroupDescriptor {
                            label: Some(label),
                            layout,
                            entries: &entries,
                        })
                };
                let [a, b] = [&fields[0].buffer, &fields[1].buffer];
                let step_groups = [
                    group(&step_layout, "slab step A→B", &[&params[0], a, b]),
                    group(&step_layout, "slab step B→A", &[&params[0], b, a]),
                ];
                let change_groups = [
                    group(
                        &change_layout,
                        "slab change A−B",
                        &[&params[1], a, b, &result.buffer],
                    ),
                    group(
                        &change_layout,
                        "slab change B−A",
                        &[&params[1], b, a, &result.buffer],
                    ),
                ];
                (params, step_groups, change_groups)
            })?;
        let max_groups = context.adapter.max_workgroups_per_dimension as u64;
        let groups_for = |count: usize, tile: u32| {
            (count as u64).div_ceil(tile as u64).clamp(1, max_groups) as u32
        };
        let timer = PassTimer::new(context)?;
        let buffers_s = started.elapsed().as_secs_f64();
        Ok(GpuSlab {
            context,
            n,
            rows,
            initial: initial.to_vec(),
            fields,
            current: 0,
            step: step.pipeline,
            change: change.pipeline,
            step_groups,
            change_groups,
            step_workgroups: (groups_for(n, tile_x), groups_for(rows, tile_y)),
            change_workgroups: context.grid_stride_groups(rows as u64 * n as u64, change_size),
            result,
            timer,
            first_row: vec![0.0; n],
            last_row: vec![0.0; n],
            ghost_above: vec![0.0; n],
            ghost_below: vec![0.0; n],
            zeros: vec![0.0; n],
            _params: params,
            setup: SlabSetup {
                shader_compile_s: step.compile_s + change.compile_s,
                buffers_s,
            },
        })
    }

    /// Byte offset of buffer row `row` (0 = ghost above, rows + 1 = ghost below).
    fn row_offset(&self, row: usize) -> u64 {
        (4 * row * self.n) as u64
    }
}

impl Slab for GpuSlab<'_> {
    fn rows(&self) -> usize {
        self.rows
    }

    fn columns(&self) -> usize {
        self.n
    }

    fn setup(&self) -> SlabSetup {
        self.setup
    }

    fn load_initial(&mut self) -> Result<f64> {
        let context = self.context;
        let zeros: &[u8] = bytemuck::cast_slice(&self.zeros);
        let below = self.row_offset(self.rows + 1);
        // The whole image in one transfer: zero ghost rows around the initial rows.
        let upload_s = upload_ranges_timed(
            context,
            &self.fields[self.current],
            &[
                (0, zeros),
                (self.row_offset(1), bytemuck::cast_slice(&self.initial)),
                (below, zeros),
            ],
        )?;
        // The other field may hold a neighbour's rows from the last sample: zero its ghosts.
        let started = Instant::now();
        let other = &self.fields[1 - self.current].buffer;
        let row_bytes = self.row_offset(1);
        context.scoped("zeroing the slab's ghost rows", || {
            let mut encoder =
                context
                    .device
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("slab ghosts"),
                    });
            encoder.clear_buffer(other, 0, Some(row_bytes));
            encoder.clear_buffer(other, below, Some(row_bytes));
            context.queue.submit([encoder.finish()]);
        })?;
        context.submit_and_wait([], "zeroing the slab's ghost rows")?;
        Ok(upload_s + started.elapsed().as_secs_f64())
    }

    fn fetch_boundary(&mut self, sides: Sides) -> Result<f64> {
        let (first, last) = (self.row_offset(1), self.row_offset(self.rows));
        let mut ranges: Vec<(u64, &mut [u8])> = Vec::with_capacity(2);
        if sides.above {
            ranges.push((first, bytemuck::cast_slice_mut(&mut self.first_row)));
        }
        if sides.below {
            ranges.push((last, bytemuck::cast_slice_mut(&mut self.last_row)));
        }
        download_ranges_timed(self.context, &self.fields[self.current], &mut ranges)
    }

    fn halo(&mut self) -> Halo<'_> {
        Halo {
            first_row: &self.first_row,
            last_row: &self.last_row,
            ghost_above: &mut self.ghost_above,
            ghost_below: &mut self.ghost_below,
        }
    }

    fn store_ghosts(&mut self, sides: Sides) -> Result<f64> {
        let mut ranges: Vec<(u64, &[u8])> = Vec::with_capacity(2);
        if sides.above {
            ranges.push((0, bytemuck::cast_slice(&self.ghost_above)));
        }
        if sides.below {
            let below = self.row_offset(self.rows + 1);
            ranges.push((below, bytemuck::cast_slice(&self.ghost_below)));
        }
        upload_ranges_timed(self.context, &self.fields[self.current], &ranges)
    }

    fn step(&mut self) -> Result<f64> {
        let group = &self.step_groups[self.current];
        let (x, y) = self.step_workgroups;
        let (wall_s, timestamp_s) = timed_compute_pass(
            self.context,
            self.timer.as_ref(),
            "slab step",
            &[],
            |pass| {
                pass.set_pipeline(&self.step);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, y, 1);
                Ok(())
            },
        )?;
        self.current = 1 - self.current;
        Ok(timestamp_s.unwrap_or(wall_s))
    }

    fn max_change(&mut self) -> Result<(f32, f64)> {
        let group = &self.change_groups[self.current];
        let groups = self.change_workgroups;
        let (wall_s, timestamp_s) = timed_compute_pass(
            self.context,
            self.timer.as_ref(),
            "slab change",
            &[&self.result.buffer],
            |pass| {
                pass.set_pipeline(&self.change);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(groups, 1, 1);
                Ok(())
            },
        )?;
        let mut bits = [0u32];
        let download_s = download_ranges_timed(
            self.context,
            &self.result,
            &mut [(0, bytemuck::cast_slice_mut(&mut bits))],
        )?;
        Ok((
            f32::from_bits(bits[0]),
            timestamp_s.unwrap_or(wall_s) + download_s,
        ))
    }

    fn rows_now(&mut self) -> Result<Vec<f32>> {
        let mut rows = vec![0.0f32; self.rows * self.n];
        download_ranges_timed(
            self.context,
            &self.fields[self.current],
            &mut [(self.row_offset(1), bytemuck::cast_slice_mut(&mut rows))],
        )?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributed::slab::CpuSlab;
    use crate::kernels::Problem;
    use crate::kernels::stencil::{StencilProblem, initial_field, initial_rows};

    fn gpu(max_binding_bytes: Option<u64>) -> Option<GpuContext> {
        crate::gpu::context::test_gpu(max_binding_bytes)
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// A slab that is the whole grid computes the catalogue GPU stencil's values bit for bit.
    #[test]
    fn a_whole_grid_gpu_slab_matches_the_catalogue_gpu_stencil_bit_for_bit() {
        let Some(context) = gpu(None) else { return };
        for (n, steps) in [(1, 2), (5, 3), (37, 4), (64, 5)] {
            let mut problem = StencilProblem::new(n, steps, 7);
            problem.gpu(&context, None).unwrap().sample().unwrap();
            let mut slab = GpuSlab::new(&context, &initial_field(n, 7), n).unwrap();
            // Twice: the second sample must start again from the initial rows.
            for _ in 0..2 {
                slab.load_initial().unwrap();
                for _ in 0..steps {
                    slab.step().unwrap();
                }
                let got = slab.rows_now().unwrap();
                assert!(same_bits(&got, problem.output()), "n={n} steps={steps}");
            }
        }
    }

    /// The device's residual is the host's max |u − u_previous| of the same rows, exactly.
    #[test]
    fn max_change_on_the_device_equals_the_host_max_bit_for_bit() {
        let Some(context) = gpu(None) else { return };
        // 300 × 300 spans many workgroups; 1 × 1 is a single point.
        for (n, steps) in [(1, 2), (37, 3), (300, 3)] {
            let mut slab = GpuSlab::new(&context, &initial_field(n, 3), n).unwrap();
            slab.load_initial().unwrap();
            let mut before = slab.rows_now().unwrap();
            for _ in 0..steps {
                slab.step().unwrap();
                let now = slab.rows_now().unwrap();
                let want = now
                    .iter()
                    .zip(&before)
                    .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                let (got, _) = slab.max_change().unwrap();
                assert!(want > 0.0, "n={n}: the field must change");
                assert_eq!(got.to_bits(), want.to_bits(), "n={n}: {got} vs {want}");
                before = now;
            }
        }
    }

    /// Ghost rows reach the step, reloading clears them from both fields, and the fetched
    /// boundary rows are the slab's first and last rows.
    #[test]
    fn ghost_rows_reach_the_step_and_boundary_rows_come_back() {
        let Some(context) = gpu(None) else { return };
        let (n, rows) = (7, 4);
        let initial = initial_rows(12, n, 5, 4..4 + rows);
        let both = Sides {
            above: true,
            below: true,
        };
        let fill = |halo: Halo<'_>| {
            for (j, (above, below)) in halo
                .ghost_above
                .iter_mut()
                .zip(halo.ghost_below)
                .enumerate()
            {
                (*above, *below) = (0.5 + 0.01 * j as f32, 0.25 - 0.01 * j as f32);
            }
        };
        let mut cpu = CpuSlab::new(&initial, n, 1).unwrap();
        cpu.load_initial().unwrap();
        fill(cpu.halo());
        cpu.step().unwrap();
        let want = cpu.rows_now().unwrap();

        let mut slab = GpuSlab::new(&context, &initial, n).unwrap();
        slab.load_initial().unwrap();
        fill(slab.halo());
        slab.store_ghosts(both).unwrap();
        slab.step().unwrap();
        let got = slab.rows_now().unwrap();
        for (i, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 1e-6, "point {i}: {a} vs {b}");
        }
        slab.fetch_boundary(both).unwrap();
        let halo = slab.halo();
        assert!(same_bits(halo.first_row, &got[..n]));
        assert!(same_bits(halo.last_row, &got[(rows - 1) * n..]));

        // Without ghosts (a fresh slab), the edge rows differ; after a reload, two steps of the
        // used slab (the second reads the field the ghosts went into) equal a fresh slab's.
        let mut fresh = GpuSlab::new(&context, &initial, n).unwrap();
        fresh.load_initial().unwrap();
        fresh.step().unwrap();
        let plain = fresh.rows_now().unwrap();
        assert!(
            (plain[0] - got[0]).abs() > 1e-3
                && (plain[rows * n - 1] - got[rows * n - 1]).abs() > 1e-3
        );
        fresh.step().unwrap();
        slab.load_initial().unwrap();
        slab.step().unwrap();
        slab.step().unwrap();
        assert!(same_bits(
            &slab.rows_now().unwrap(),
            &fresh.rows_now().unwrap()
        ));
    }

    /// The time loop on GPU slabs in thread ranks (halo exchange, residuals) equals one
    /// whole-grid GPU slab bit for bit: same shader, and the ghost rows hold the same values.
    #[test]
    fn a_decomposed_gpu_run_equals_the_whole_grid_gpu_run_bit_for_bit() {
        use crate::distributed::decomposition::slab_rows;
        use crate::distributed::timeloop::tests::thread_ranks;
        use crate::distributed::timeloop::{Alone, Schedule, run_sample};
        let Some(context) = gpu(None) else { return };
        let schedule = Schedule {
            steps: 7,
            residual_every: 3,
        };
        for (grid_rows, n, ranks) in [(23, 17, 3), (12, 5, 4), (4, 31, 4)] {
            let initial = initial_rows(grid_rows, n, 3, 0..grid_rows);
            let mut whole = GpuSlab::new(&context, &initial, n).unwrap();
            let single = run_sample(&mut whole, &Alone, schedule).unwrap();
            let expected = whole.rows_now().unwrap();
            let context = &context;
            let parts: Vec<(Vec<f32>, f32)> = std::thread::scope(|scope| {
                let handles: Vec<_> = thread_ranks(ranks)
                    .into_iter()
                    .enumerate()
                    .map(|(rank, neighbours)| {
                        scope.spawn(move || {
                            let rows = slab_rows(grid_rows, ranks, rank);
                            let initial = initial_rows(grid_rows, n, 3, rows);
                            let mut slab = GpuSlab::new(context, &initial, n).unwrap();
                            let result = run_sample(&mut slab, &neighbours, schedule).unwrap();
                            (slab.rows_now().unwrap(), result.residual)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            let field: Vec<f32> = parts.iter().flat_map(|(rows, _)| rows.clone()).collect();
            assert!(
                same_bits(&field, &expected),
                "{grid_rows}×{n} on {ranks} ranks"
            );
            for (_, residual) in &parts {
                assert_eq!(residual.to_bits(), single.residual.to_bits());
            }
        }
    }

    #[test]
    fn a_slab_larger_than_one_binding_or_of_broken_rows_is_refused() {
        let Some(context) = gpu(Some(1024)) else {
            return;
        };
        // 18 rows (ghosts included) of 16 f32 = 1152 bytes > 1024; 10 × 8 × 4 = 320 fits.
        match GpuSlab::new(&context, &[0.0; 16 * 16], 16) {
            Err(Error::Usage(message)) => {
                assert!(
                    message.contains("1152") && message.contains("1024"),
                    "{message}"
                );
                assert!(
                    message.contains("--size") && message.contains("ranks"),
                    "{message}"
                );
            }
            Err(other) => panic!("want a usage error, got {other}"),
            Ok(_) => panic!("want a usage error, got a slab"),
        }
        assert!(GpuSlab::new(&context, &[0.0; 8 * 8], 8).is_ok());
        assert!(matches!(
            GpuSlab::new(&context, &[0.0; 10], 3),
            Err(Error::Usage(_))
        ));
    }
}
