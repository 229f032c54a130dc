// The residual of the distributed stencil: the largest |now[i] − before[i]| over the `count`
// points from `first` (a slab's rows, its ghost rows left out), computed where the two fields
// are, so that only 4 bytes come back to the host.
//
// Each invocation keeps the max of its grid-stride share in a register; a tree in workgroup
// memory gives the workgroup's max (the tree halves the active invocations each step, so
// WORKGROUP_SIZE must be a power of two); invocation 0 folds it into `result` with atomicMax on
// the f32's bits. That is exact: the values are ≥ 0, and non-negative f32 bit patterns order as
// u32 do; a max does not round, so the order in which workgroups finish does not matter and the
// result equals the host's max bit for bit. `result` must be zeroed (= +0.0) before the pass.
override WORKGROUP_SIZE: u32 = 256u;

struct Span {
    first: u32,
    count: u32,
}

@group(0) @binding(0) var<uniform> span: Span;
@group(0) @binding(1) var<storage, read> now: array<f32>;
@group(0) @binding(2) var<storage, read> before: array<f32>;
@group(0) @binding(3) var<storage, read_write> result: atomic<u32>;

var<workgroup> maxima: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn max_change(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let stride = groups.x * WORKGROUP_SIZE;
    var largest = 0.0;
    for (var i = id.x; i < span.count; i += stride) {
        let at = span.first + i;
        largest = max(largest, abs(now[at] - before[at]));
    }
    maxima[lane] = largest;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half /= 2u) {
        if (lane < half) {
            maxima[lane] = max(maxima[lane], maxima[lane + half]);
        }
        workgroupBarrier();
    }
    if (lane == 0u) {
        atomicMax(&result, bitcast<u32>(maxima[0]));
    }
}
