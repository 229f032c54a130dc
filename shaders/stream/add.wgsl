// STREAM add: result[i] = a[i] + b[i]. Grid-stride loop (see copy.wgsl).
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> result: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let n = arrayLength(&result);
    let stride = groups.x * WORKGROUP_SIZE;
    for (var i = id.x; i < n; i += stride) {
        result[i] = a[i] + b[i];
    }
}
