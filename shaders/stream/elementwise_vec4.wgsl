// The element-wise STREAM kernels, variant `vec4`: the loops of `elementwise.wgsl`, but each
// invocation loads and stores a vec4<f32> (4 elements, 16 bytes) per round instead of one f32.
// Why it helps: a memory-bound kernel is limited by the bytes in flight (Little's law: bandwidth
// × latency). 16-byte accesses put 4× the bytes in flight per invocation and per load
// instruction, which HBM (an H100/H200's ~3–5 TB/s at ~µs latency) needs to be kept busy; a
// warp's 16-byte loads are 512-byte fully coalesced transactions. The host pads every array to
// a multiple of 4 elements (the inputs' padding is zero, the output's is never read back), so
// the last vec4 needs no scalar tail. Entry points, bindings and constants as `elementwise.wgsl`.
override WORKGROUP_SIZE: u32 = 256u;
override SCALAR: f32;

@group(0) @binding(0) var<storage, read_write> result: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn copy(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < arrayLength(&result); i += groups.x * WORKGROUP_SIZE) {
        result[i] = a[i];
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn scale(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < arrayLength(&result); i += groups.x * WORKGROUP_SIZE) {
        result[i] = SCALAR * a[i];
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn add(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < arrayLength(&result); i += groups.x * WORKGROUP_SIZE) {
        result[i] = a[i] + b[i];
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn triad(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    for (var i = id.x; i < arrayLength(&result); i += groups.x * WORKGROUP_SIZE) {
        result[i] = a[i] + SCALAR * b[i];
    }
}
