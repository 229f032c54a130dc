// matmul, coalesced: naive.wgsl with the invocations of a workgroup laid along the ROWS of C:
// neighbouring invocations (local.x) take neighbouring columns, so a warp reads 32 consecutive
// floats of B (one 128-byte transaction), shares one element of A (a broadcast) and writes 32
// consecutive floats of C. Still two global loads per FMA (n of A and n of B per element of C):
// the memory system, not the ALUs, sets the pace.
//
// One dispatch sees one band of rows of C and of A (rows i0 .. i0 + rows, bound at an offset)
// and one band of rows of B (the depth range k0 .. k0 + k_count), so matrices larger than one
// storage binding are done band by band; `accumulate` adds to C instead of overwriting it for
// every depth band after the first. With one band, rows = k_count = n, k0 = 0, accumulate = 0.

struct Params {
    n: u32,
    rows: u32,
    k0: u32,
    k_count: u32,
    accumulate: u32,
}

// Side of the square workgroup (WORKGROUP_SIDE² invocations), set from Rust within the
// adapter's limits; each workgroup covers a WORKGROUP_SIDE × WORKGROUP_SIDE block of C.
override WORKGROUP_SIDE: u32 = 16u;

@group(0) @binding(0) var<storage, read_write> c: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(WORKGROUP_SIDE, WORKGROUP_SIDE)
fn main(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let n = params.n;
    // local.x runs ALONG a row: neighbouring invocations read neighbouring elements of B and C.
    let row = group.y * WORKGROUP_SIDE + local.y;
    let col = group.x * WORKGROUP_SIDE + local.x;
    if col >= n || row >= params.rows {
        return;
    }
    var sum = 0.0;
    if params.accumulate != 0u {
        sum = c[row * n + col];
    }
    let a_row = row * n + params.k0;
    for (var k = 0u; k < params.k_count; k++) {
        sum += a[a_row + k] * b[k * n + col];
    }
    c[row * n + col] = sum;
}
