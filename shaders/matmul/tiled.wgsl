// matmul, tiled: C = A·B with TILE × TILE tiles of A and B staged through workgroup memory.
//
// Each workgroup computes a TILE × TILE block of C, one element per invocation. For each step of
// TILE along the depth, every invocation loads one element of A's tile and one of B's into
// workgroup memory, the workgroup waits (workgroupBarrier), and each invocation then reads TILE
// values of each tile from there: global loads drop from 2n to 2n / TILE per element of C.
// Loads outside the matrices (sizes that are not multiples of TILE) store zero, which adds
// nothing to the sums; every invocation takes part in every barrier.
//
// Bands: as in naive.wgsl, one dispatch sees rows i0 .. i0 + rows of C and A and the depth range
// k0 .. k0 + k_count (rows of B), and `accumulate` adds to C for every depth band after the first.

struct Params {
    n: u32,
    rows: u32,
    k0: u32,
    k_count: u32,
    accumulate: u32,
}

// Tile side, set from Rust: TILE² invocations and 2 · TILE² · 4 bytes of workgroup memory, both
// checked against the adapter's limits.
override TILE: u32 = 16u;
override TILE_AREA: u32 = TILE * TILE;

@group(0) @binding(0) var<storage, read_write> c: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> a_tile: array<f32, TILE_AREA>;
var<workgroup> b_tile: array<f32, TILE_AREA>;

@compute @workgroup_size(TILE, TILE)
fn main(
    @builtin(local_invocation_id) local: vec3<u32>,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let n = params.n;
    let rows = params.rows;
    let k_count = params.k_count;
    let col = group.x * TILE + local.x;
    let row = group.y * TILE + local.y;
    let slot = local.y * TILE + local.x;

    var sum = 0.0;
    if col < n && row < rows && params.accumulate != 0u {
        sum = c[row * n + col];
    }
    for (var t = 0u; t < k_count; t += TILE) {
        // A's tile: this workgroup's rows, depth t .. t + TILE (local.x walks the depth).
        let ka = t + local.x;
        var a_value = 0.0;
        if row < rows && ka < k_count {
            a_value = a[row * n + params.k0 + ka];
        }
        a_tile[slot] = a_value;
        // B's tile: depth t .. t + TILE (local.y), this workgroup's columns.
        let kb = t + local.y;
        var b_value = 0.0;
        if kb < k_count && col < n {
            b_value = b[kb * n + col];
        }
        b_tile[slot] = b_value;
        workgroupBarrier();
        for (var k = 0u; k < TILE; k++) {
            sum += a_tile[local.y * TILE + k] * b_tile[k * TILE + local.x];
        }
        // Nobody overwrites the tiles until everyone has read them.
        workgroupBarrier();
    }
    if col < n && row < rows {
        c[row * n + col] = sum;
    }
}
