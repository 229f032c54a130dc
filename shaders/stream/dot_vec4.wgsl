// STREAM dot, variant `vec4`: the two passes of `dot.wgsl`, but `partial_sums` loads a vec4<f32>
// of each input per round (16-byte loads: 4× the bytes in flight per invocation, which HBM needs
// to be kept busy) into a vec4 accumulator, whose 4 lanes are added at the end (2 more roundings
// on a product's path). The host pads both inputs with zeros to a multiple of 4 elements, so the
// last vec4 adds exactly 0 for the padding. `finish` is `dot.wgsl`'s.
// The tree halves the active invocations each step, so WORKGROUP_SIZE must be a power of two.
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;

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
    let n = arrayLength(&a);
    let stride = groups.x * WORKGROUP_SIZE;
    var sum = vec4<f32>(0.0);
    for (var i = id.x; i < n; i += stride) {
        sum = fma(a[i], b[i], sum);
    }
    sums[lane] = (sum.x + sum.y) + (sum.z + sum.w);
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
