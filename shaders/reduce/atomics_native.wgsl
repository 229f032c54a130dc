// Sum of n f32, `atomics` where the device has SHADER_FLOAT32_ATOMIC: the same one pass as
// `atomics.wgsl`, but each workgroup adds its partial with one native `atomicAdd` on an
// atomic<f32> (Vulkan's VK_EXT_shader_atomic_float, OpAtomicFAddEXT) instead of a
// compare-exchange retry loop on the f32's bits. Why it helps: under contention the loop makes a
// losing workgroup read, add and try again, a round trip to the accumulator's memory each time;
// the native add is one request the memory system serialises itself. WGSL needs no `enable` for
// it in wgpu (naga's capability SHADER_FLOAT32_ATOMIC, set from the device's feature). The
// partials are still added in whatever order the workgroups finish: one f32 rounding each, and
// the last bits of the result can differ from run to run.
// The tree halves the active invocations each step, so WORKGROUP_SIZE must be a power of two.
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> total: atomic<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;

var<workgroup> sums: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let n = arrayLength(&x);
    let stride = groups.x * WORKGROUP_SIZE;
    var sum = 0.0;
    for (var i = id.x; i < n; i += stride) {
        sum += x[i];
    }
    sums[lane] = sum;
    workgroupBarrier();
    for (var half = WORKGROUP_SIZE / 2u; half > 0u; half /= 2u) {
        if (lane < half) {
            sums[lane] += sums[lane + half];
        }
        workgroupBarrier();
    }
    if (lane == 0u) {
        atomicAdd(&total, sums[0]);
    }
}
