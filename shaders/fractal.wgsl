// Escape-time fractals (mandelbrot, julia): one invocation per pixel, writing the number of
// iterations of z <- z^2 + c before |z| > 2, or max_iter if it never escapes.
//
// What is an override and what is a uniform:
// - override constants fix the shape of the code, so the compiler specialises it: the workgroup
//   size and which set (JULIA: the unused start is compiled away). They are set from Rust at
//   pipeline creation.
// - the uniform `params` carries what changes from run to run: the grid (n, the coordinate
//   offsets and the pixel steps, from --window), the Julia constant c (--c), the iteration cap,
//   and where this chunk starts. One compiled pipeline per set then serves every size, window,
//   c and --max-iter. A uniform cap costs nothing
//   measurable here: the loop exit is data-dependent anyway, so an override cap would not let the
//   compiler unroll it usefully.
//
// Rounding: the same f32 operations in the same order as the CPU backends, and no fma() (see
// src/kernels/fractal/mod.rs, ITERATION). WGSL (and the SPIR-V naga makes, which carries no
// NoContraction decoration) lets a driver fuse a*b + c into an FMA and reassociate sums; either
// changes the counts of points near the set's boundary, so `exact` below forbids both. With it
// the counts match the CPU's bit for bit wherever f32 add and multiply are correctly rounded, as
// Vulkan requires.
//
// The output may be larger than one storage binding: the host binds it chunk by chunk; this
// chunk's pixel 0 is pixel (first_row, first_col) of the image. A grid-stride loop covers a
// chunk with more pixels than 65 535 workgroups hold.
override WORKGROUP_SIZE: u32 = 256u;
override JULIA: bool = false;

struct Params {
    first_row: u32,
    first_col: u32,
    n: u32,
    max_iter: u32,
    a: f32,
    b: f32,
    step_x: f32,
    step_y: f32,
    c_re: f32,
    c_im: f32,
    // Always 0; the compiler cannot know that (see `exact`).
    zero: u32,
    padding: u32,
}

@group(0) @binding(0) var<storage, read_write> counts: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

// `v`, rounded as it is, hidden from the compiler's floating-point rewrites: an integer XOR
// with a runtime zero, which no optimizer can see through. One integer operation each.
fn exact(v: f32) -> f32 {
    return bitcast<f32>(bitcast<u32>(v) ^ params.zero);
}

// The iteration of src/kernels/fractal/mod.rs (ITERATION), operation for operation. Each
// product is hidden before it is added (no fusing into an FMA) and each difference or double
// before c is added (no reassociating (x2 - y2) + cx into (x2 + cx) - y2, which Mesa's
// lavapipe was measured to do). Without `exact`, lavapipe changed 1% of the Julia counts.
fn escape_count(z: vec2<f32>, c: vec2<f32>) -> u32 {
    var x = z.x;
    var y = z.y;
    var count = 0u;
    while (count < params.max_iter) {
        let x2 = exact(x * x);
        let y2 = exact(y * y);
        if (x2 + y2 > 4.0) {
            break;
        }
        let xy = exact(x * y);
        x = exact(x2 - y2) + c.x;
        y = exact(xy + xy) + c.y;
        count += 1u;
    }
    return count;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let pixels = arrayLength(&counts);
    let stride = groups.x * WORKGROUP_SIZE;
    for (var i = id.x; i < pixels; i += stride) {
        // first_col + i stays far below 2^32: a chunk is at most one binding (< 2^30 pixels).
        let along = params.first_col + i;
        let row = params.first_row + along / params.n;
        let col = along % params.n;
        let point = vec2<f32>(
            exact(f32(col) + params.a) * params.step_x,
            exact(params.b - f32(row)) * params.step_y,
        );
        var z = vec2<f32>(0.0, 0.0);
        var c = point;
        if (JULIA) {
            z = point;
            c = vec2<f32>(params.c_re, params.c_im);
        }
        counts[i] = escape_count(z, c);
    }
}
