// matmul, register-1d: each invocation computes a column of TM outputs of C, not one.
//
// A workgroup computes a BM × BN block of C from BM × BK tiles of A and BK × BN tiles of B staged
// through workgroup memory. Invocation (row group r, column j) keeps TM sums in registers: for
// each depth k of the tile it reads B's element (k, j) once into a register and A's TM elements
// (r·TM .. r·TM + TM, k) from the tile, so one workgroup-memory load of B serves TM FMAs. In
// `tiled` every FMA needs two workgroup-memory loads; here it needs 1 + 1/TM. The invocations of a
// warp share r (j is the fast index), so A's element is a broadcast. Global loads per element of
// C: (BM + BN)·n / (BM·BN), against 2n / TILE in `tiled`.
//
// Bands: as in naive.wgsl (rows 0 .. rows of C and A in this dispatch, depth k0 .. k0 + k_count,
// `accumulate` for every depth band after the first). Loads outside the matrices store zero.

struct Params {
    n: u32,
    rows: u32,
    k0: u32,
    k_count: u32,
    accumulate: u32,
}

// Outputs per invocation: a WGSL array in registers needs a const size.
const TM: u32 = 8u;
// The block of C per workgroup and the depth of a tile, set from Rust: BN · BM / TM invocations
// and (BM + BN) · BK · 4 bytes of workgroup memory, checked against the adapter's limits.
override BM: u32 = 64u;
override BN: u32 = 64u;
override BK: u32 = 8u;
override THREADS: u32 = BN * BM / TM;
override A_TILE: u32 = BM * BK;
override B_TILE: u32 = BK * BN;

@group(0) @binding(0) var<storage, read_write> c: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

// A's tile row-major (BM rows of BK), B's tile row-major (BK rows of BN).
var<workgroup> a_tile: array<f32, A_TILE>;
var<workgroup> b_tile: array<f32, B_TILE>;

@compute @workgroup_size(THREADS)
fn main(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let n = params.n;
    let rows = params.rows;
    let k_count = params.k_count;
    let row0 = group.y * BM;
    let col0 = group.x * BN;
    let j = lane % BN;
    let r = lane / BN;

    var sums: array<f32, TM>;
    for (var t = 0u; t < k_count; t += BK) {
        // Every invocation loads A_TILE / THREADS elements of A's tile and B_TILE / THREADS of
        // B's, neighbouring invocations neighbouring addresses.
        for (var i = lane; i < A_TILE; i += THREADS) {
            let row = row0 + i / BK;
            let k = t + i % BK;
            var value = 0.0;
            if row < rows && k < k_count {
                value = a[row * n + params.k0 + k];
            }
            a_tile[i] = value;
        }
        for (var i = lane; i < B_TILE; i += THREADS) {
            let k = t + i / BN;
            let col = col0 + i % BN;
            var value = 0.0;
            if k < k_count && col < n {
                value = b[k * n + col];
            }
            b_tile[i] = value;
        }
        workgroupBarrier();
        for (var k = 0u; k < BK; k++) {
            let b_value = b_tile[k * BN + j];
            for (var m = 0u; m < TM; m++) {
                sums[m] = fma(a_tile[(r * TM + m) * BK + k], b_value, sums[m]);
            }
        }
        // Nobody overwrites the tiles until everyone has read them.
        workgroupBarrier();
    }
    let col = col0 + j;
    for (var m = 0u; m < TM; m++) {
        let row = row0 + r * TM + m;
        if row < rows && col < n {
            var value = sums[m];
            if params.accumulate != 0u {
                value += c[row * n + col];
            }
            c[row * n + col] = value;
        }
    }
}
