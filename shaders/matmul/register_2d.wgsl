// matmul, register-2d: each invocation computes a TM × TN block of C (an outer product per depth).
//
// A workgroup computes a BM × BN block of C from BM × BK tiles of A and BK × BN tiles of B staged
// through workgroup memory. For each depth k of the tile an invocation loads TM values of A's
// column and TN values of B's row into registers and does TM · TN FMAs with them: workgroup-
// memory loads per FMA fall from 1 + 1/TM (register-1d) to (TM + TN) / (TM · TN) = 1/4 at 8 × 8,
// and global loads per element of C to (BM + BN)·n / (BM·BN) = n/64 at 128 × 128 (2n/16 in
// `tiled`). The price is registers: 64 sums and 16 operands per invocation, which bounds how many
// warps an SM can hold.
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

// The block of C per invocation: WGSL arrays in registers need a const size.
const TM: u32 = 8u;
const TN: u32 = 8u;
// The block of C per workgroup and the depth of a tile, set from Rust: (BM / TM) · (BN / TN)
// invocations and (BM + BN) · BK · 4 bytes of workgroup memory, checked against the limits.
override BM: u32 = 128u;
override BN: u32 = 128u;
override BK: u32 = 8u;
override COLUMN_GROUPS: u32 = BN / TN;
override THREADS: u32 = (BM / TM) * COLUMN_GROUPS;
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
    let first_row = (lane / COLUMN_GROUPS) * TM;
    let first_col = (lane % COLUMN_GROUPS) * TN;

    var sums: array<f32, TM * TN>;
    var a_values: array<f32, TM>;
    var b_values: array<f32, TN>;
    for (var t = 0u; t < k_count; t += BK) {
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
            for (var m = 0u; m < TM; m++) {
                a_values[m] = a_tile[(first_row + m) * BK + k];
            }
            for (var j = 0u; j < TN; j++) {
                b_values[j] = b_tile[k * BN + first_col + j];
            }
            for (var m = 0u; m < TM; m++) {
                for (var j = 0u; j < TN; j++) {
                    sums[m * TN + j] = fma(a_values[m], b_values[j], sums[m * TN + j]);
                }
            }
        }
        // Nobody overwrites the tiles until everyone has read them.
        workgroupBarrier();
    }
    for (var m = 0u; m < TM; m++) {
        let row = row0 + first_row + m;
        for (var j = 0u; j < TN; j++) {
            let col = col0 + first_col + j;
            if row < rows && col < n {
                var value = sums[m * TN + j];
                if params.accumulate != 0u {
                    value += c[row * n + col];
                }
                c[row * n + col] = value;
            }
        }
    }
}
