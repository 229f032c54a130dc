// The roofline probe: each element goes through a chain of FMAS fused multiply-adds, so the
// kernel does 2·FMAS flops per 8 bytes moved (one load, one store). FMAS = 0 means a single
// multiply (1 flop per 8 bytes, the memory-bound end). Grid-stride loop as in stream/elementwise.wgsl.
override WORKGROUP_SIZE: u32 = 256u;
override FMAS: u32 = 1u;

@group(0) @binding(0) var<storage, read_write> result: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = arrayLength(&result);
    let stride = groups.x * WORKGROUP_SIZE;
    for (var i = id.x; i < n; i += stride) {
        var x = a[i];
        if (FMAS == 0u) {
            x = x * 0.999;
        }
        for (var k = 0u; k < FMAS; k++) {
            x = fma(x, 0.999, 0.001);
        }
        result[i] = x;
    }
}
