// Monte Carlo π: count the samples whose point falls inside the quarter circle.
//
// The points come from a counter-based generator, so nothing is uploaded: sample i is the
// lowbias32 hash of its low 32 bits xor the key of its 2^32-sample block, exactly as on the CPU
// (src/kernels/pi/cpu.rs), and the hit test is exact u32 arithmetic, so the count matches the
// CPU's to the last sample.
//
// `count_hits`: the dispatch is (groups, rows). Row y covers samples y·2^ROW_SHIFT onwards
// (2^ROW_SHIFT of them, fewer in the last row); each invocation counts its grid-stride share of
// the row, then the workgroup adds its invocations' counts by a tree in workgroup memory and
// writes one u32 partial. `finish`: one workgroup adds all partials as 64-bit (low, high) pairs,
// because n can pass 2^32, and writes the total.
// The tree halves the active invocations each step, so WORKGROUP_SIZE must be a power of two.
override WORKGROUP_SIZE: u32 = 256u;
// log2 of the samples per row, 1 ..= 31 (31 unless a test makes rows small).
override ROW_SHIFT: u32 = 31u;

struct Params {
    seed_key: u32,
    rows: u32,
    // Samples in the last row, 0 ..= 2^ROW_SHIFT.
    last_row_samples: u32,
    unused: u32,
}

@group(0) @binding(0) var<storage, read> params: Params;
@group(0) @binding(1) var<storage, read_write> partials: array<u32>;
@group(0) @binding(2) var<storage, read_write> total: array<u32, 2>;

var<workgroup> counts: array<u32, WORKGROUP_SIZE>;
var<workgroup> wide: array<vec2<u32>, WORKGROUP_SIZE>;

fn lowbias32(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

// Cell centre (a, b) = (2X + 1, 2Y + 1) in units of 2^-16; inside iff a² + b² < 2^32, written as
// a² < 2^32 − b² so that nothing overflows (u32 arithmetic wraps, and b² ≥ 1).
fn inside(h: u32) -> u32 {
    let a = (h >> 16u) | 1u;
    let b = (h & 0xffffu) | 1u;
    return select(0u, 1u, a * a < 0u - b * b);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn count_hits(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let row = group.y;
    // The row's first sample index is row·2^ROW_SHIFT: its low 32 bits and its block.
    let first = row << ROW_SHIFT;
    let block = row >> (32u - ROW_SHIFT);
    let key = lowbias32(params.seed_key ^ (block * 0x9e3779b9u));
    let samples = select(1u << ROW_SHIFT, params.last_row_samples, row + 1u == params.rows);
    let stride = groups.x * WORKGROUP_SIZE;
    var count = 0u;
    for (var i = group.x * WORKGROUP_SIZE + lane; i < samples; i += stride) {
        count += inside(lowbias32((first + i) ^ key));
    }
    counts[lane] = count;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half /= 2u) {
        if (lane < half) {
            counts[lane] += counts[lane + half];
        }
        workgroupBarrier();
    }
    if (lane == 0u) {
        partials[row * groups.x + group.x] = counts[0];
    }
}

// 64-bit addition of (low, high) pairs: the carry is the wrap of the low word.
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let low = a.x + b.x;
    return vec2<u32>(low, a.y + b.y + select(0u, 1u, low < a.x));
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn finish(@builtin(local_invocation_index) lane: u32) {
    let n = arrayLength(&partials);
    var sum = vec2<u32>(0u, 0u);
    for (var i = lane; i < n; i += WORKGROUP_SIZE) {
        sum = add64(sum, vec2<u32>(partials[i], 0u));
    }
    wide[lane] = sum;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half /= 2u) {
        if (lane < half) {
            wide[lane] = add64(wide[lane], wide[lane + half]);
        }
        workgroupBarrier();
    }
    if (lane == 0u) {
        total[0] = wide[0].x;
        total[1] = wide[0].y;
    }
}
