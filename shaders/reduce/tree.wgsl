// Sum of n f32, `tree`: two passes, no atomics.
// `partial_sums`: each invocation adds its grid-stride share in a register (in order), then the
// workgroup adds its invocations' sums by a tree in workgroup memory and writes one partial.
// `finish`: one workgroup adds all partials the same way and leaves the total in partials[0].
// The tree halves the active invocations each step, so WORKGROUP_SIZE must be a power of two.
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;

var<workgroup> sums: array<f32, WORKGROUP_SIZE>;

fn tree_sum(lane: u32) -> f32 {
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half /= 2u) {
        if (lane < half) {
            sums[lane] += sums[lane + half];
        }
        workgroupBarrier();
    }
    return sums[0];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn partial_sums(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let n = arrayLength(&x);
    let stride = groups.x * WORKGROUP_SIZE;
    var sum = 0.0;
    for (var i = id.x; i < n; i += stride) {
        sum += x[i];
    }
    sums[lane] = sum;
    let total = tree_sum(lane);
    if (lane == 0u) {
        partials[group.x] = total;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn finish(@builtin(local_invocation_index) lane: u32) {
    let n = arrayLength(&partials);
    var sum = 0.0;
    for (var i = lane; i < n; i += WORKGROUP_SIZE) {
        sum += partials[i];
    }
    sums[lane] = sum;
    let total = tree_sum(lane);
    if (lane == 0u) {
        partials[0] = total;
    }
}
