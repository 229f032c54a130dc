// matmul, naive: C = A·B with one invocation per element of C, every operand read from global
// memory, and the invocations of a workgroup laid down the COLUMNS of C: neighbouring
// invocations (local.x) take neighbouring rows. A warp then reads A at addresses n floats apart
// (one memory transaction per invocation instead of one per warp) and writes C the same way;
// only B's element is shared. `coalesced.wgsl` differs in one line: it swaps local.x and
// local.y.
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
// adapter's limits. Each workgroup covers a WORKGROUP_SIDE × WORKGROUP_SIDE block of C:
// workgroup_id.x counts blocks along a row, workgroup_id.y blocks down the columns.
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
    // local.x runs DOWN a column: the uncoalesced mapping.
    let row = group.y * WORKGROUP_SIDE + local.x;
    let col = group.x * WORKGROUP_SIDE + local.y;
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
