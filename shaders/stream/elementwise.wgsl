// The element-wise STREAM kernels, one entry point each, named as the kernel. Each is a
// grid-stride loop: the dispatch is capped at the adapter's workgroups-per-dimension limit and
// each invocation strides over the rest, so any chunk length works with one dispatch. An entry
// point binds only what it reads (copy and scale have no `b`), and the pipeline's layout follows.
override WORKGROUP_SIZE: u32 = 256u;
override SCALAR: f32;

@group(0) @binding(0) var<storage, read_write> result: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;

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
