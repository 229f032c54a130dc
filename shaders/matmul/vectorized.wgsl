// matmul, vectorized: register-2d with vec4 loads and stores, and A's tile stored transposed.
//
// The matrices are bound as arrays of vec4<f32> (n must be a multiple of 4): every global load
// and store moves 16 bytes, a quarter of the load instructions of register-2d. A's tile is
// written transposed (depth-major, a_tile[k][m]) so that the TM values of A's column that an
// invocation needs at depth k are consecutive, like B's TN values of a row: each comes from
// workgroup memory as two vec4 loads instead of eight scalar ones. The sums are 16 vec4 (an
// 8 × 8 block), updated with vec4 FMAs.
//
// Bands: as in naive.wgsl (rows 0 .. rows of C and A in this dispatch, depth k0 .. k0 + k_count,
// `accumulate` for every depth band after the first), with k0 and k_count multiples of 4.
// Loads outside the matrices store zero.

struct Params {
    n: u32,
    rows: u32,
    k0: u32,
    k_count: u32,
    accumulate: u32,
}

// The block of C per invocation (8 × 8, two vec4 per row): WGSL arrays in registers need a const
// size.
const TM: u32 = 8u;
const TN: u32 = 8u;
// The block of C per workgroup and the depth of a tile, set from Rust: (BM / TM) · (BN / TN)
// invocations and (BM + BN) · BK · 4 bytes of workgroup memory, checked against the limits. BK is
// a multiple of 4.
override BM: u32 = 128u;
override BN: u32 = 128u;
override BK: u32 = 8u;
override COLUMN_GROUPS: u32 = BN / TN;
override THREADS: u32 = (BM / TM) * COLUMN_GROUPS;
// Tiles in vec4: A's as BK rows of BM / 4, B's as BK rows of BN / 4.
override A_TILE: u32 = BM * BK / 4u;
override B_TILE: u32 = BK * BN / 4u;

@group(0) @binding(0) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> params: Params;

// A's tile transposed (a_tile[k · BM / 4 + m / 4][m % 4] holds A[row0 + m][t + k]); B's tile
// row-major.
var<workgroup> a_tile: array<vec4<f32>, A_TILE>;
var<workgroup> b_tile: array<vec4<f32>, B_TILE>;

@compute @workgroup_size(THREADS)
fn main(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
) {
    let n = params.n;
    let n4 = n / 4u;
    let rows = params.rows;
    let k_count = params.k_count;
    let row0 = group.y * BM;
    let col0 = group.x * BN;
    let first_row = (lane / COLUMN_GROUPS) * TM;
    let first_col = (lane % COLUMN_GROUPS) * TN;

    // sums[m · 2 + h] holds C[first_row + m][first_col + 4h .. first_col + 4h + 4].
    var sums: array<vec4<f32>, TM * TN / 4u>;
    for (var t = 0u; t < k_count; t += BK) {
        // A: each vec4 is 4 depths of one row, scattered into 4 rows of the transposed tile.
        for (var i = lane; i < A_TILE; i += THREADS) {
            let m = i / (BK / 4u);
            let k = (i % (BK / 4u)) * 4u;
            let row = row0 + m;
            var value = vec4<f32>(0.0);
            // k_count is a multiple of 4: a vec4 is in range whole or not at all.
            if row < rows && t + k < k_count {
                value = a[row * n4 + (params.k0 + t + k) / 4u];
            }
            let slot = m / 4u;
            let lane_of_m = m % 4u;
            a_tile[(k + 0u) * (BM / 4u) + slot][lane_of_m] = value.x;
            a_tile[(k + 1u) * (BM / 4u) + slot][lane_of_m] = value.y;
            a_tile[(k + 2u) * (BM / 4u) + slot][lane_of_m] = value.z;
            a_tile[(k + 3u) * (BM / 4u) + slot][lane_of_m] = value.w;
        }
        for (var i = lane; i < B_TILE; i += THREADS) {
            let k = i / (BN / 4u);
            let col4 = i % (BN / 4u);
            var value = vec4<f32>(0.0);
            // n is a multiple of 4: a vec4 is in range whole or not at all.
            if t + k < k_count && col0 + col4 * 4u < n {
                value = b[(t + k) * n4 + col0 / 4u + col4];
            }
            b_tile[i] = value;
        }
        workgroupBarrier();
        for (var k = 0u; k < BK; k++) {
            let a_low = a_tile[k * (BM / 4u) + first_row / 4u];
            let a_high = a_tile[k * (BM / 4u) + first_row / 4u + 1u];
            let b_low = b_tile[k * (BN / 4u) + first_col / 4u];
            let b_high = b_tile[k * (BN / 4u) + first_col / 4u + 1u];
            var a_values = array<f32, TM>(
                a_low.x, a_low.y, a_low.z, a_low.w, a_high.x, a_high.y, a_high.z, a_high.w,
            );
            for (var m = 0u; m < TM; m++) {
                let a_value = vec4<f32>(a_values[m]);
                sums[m * 2u] = fma(a_value, b_low, sums[m * 2u]);
                sums[m * 2u + 1u] = fma(a_value, b_high, sums[m * 2u + 1u]);
            }
        }
        // Nobody overwrites the tiles until everyone has read them.
        workgroupBarrier();
    }
    for (var m = 0u; m < TM; m++) {
        let row = row0 + first_row + m;
        for (var h = 0u; h < 2u; h++) {
            let col = col0 + first_col + h * 4u;
            if row < rows && col < n {
                var value = sums[m * 2u + h];
                if params.accumulate != 0u {
                    value += c[row * n4 + col / 4u];
                }
                c[row * n4 + col / 4u] = value;
            }
        }
    }
}
