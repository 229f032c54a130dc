// Sum of n f32, `atomics`: one pass. Each workgroup adds its share by a tree in workgroup memory
// (as `tree` does), then adds its partial straight into one global accumulator.
// Float atomics are not core WGSL (this is the path for devices without SHADER_FLOAT32_ATOMIC;
// `atomics_native.wgsl` is the other), so the accumulator is an atomic<u32> holding the f32's bits,
// updated by a compare-exchange loop: read the bits, add in f32, and swap the new bits in only if
// nobody changed the word meanwhile; otherwise retry with the value that won. The partials are
// therefore added in whatever order the workgroups finish: each is one more f32 rounding of a
// growing accumulator (a serial chain as long as the number of workgroups), and the last bits of
// the result can differ from run to run.
// The tree halves the active invocations each step, so WORKGROUP_SIZE must be a power of two.
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> total: atomic<u32>;
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
        let partial = sums[0];
        var seen = atomicLoad(&total);
        loop {
            let swapped = atomicCompareExchangeWeak(&total, seen, bitcast<u32>(bitcast<f32>(seen) + partial));
            if (swapped.exchanged) {
                break;
            }
            seen = swapped.old_value;
        }
    }
}
