// Sum of n f32, `subgroup`: the tree's workgroup-memory steps replaced by subgroupAdd, which
// adds across the invocations of one subgroup (a warp or wave: 32 on NVIDIA, 8 on lavapipe,
// never assumed) in registers. Needs the device feature SUBGROUP; the builtins work without
// `enable subgroups;` (which naga 30 rejects).
// `partial_sums`: each invocation adds its grid-stride share in a register; subgroupAdd gives
// each subgroup's sum; one invocation per subgroup stores it in workgroup memory; then every
// subgroup adds those (num_subgroups of them) and subgroupAdd again, so all invocations hold the
// workgroup's sum and control flow stays uniform. `finish`: one workgroup does the same over all
// partials and leaves the total in partials[0].
override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<storage, read_write> partials: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;

// One slot per subgroup; a workgroup has at most WORKGROUP_SIZE subgroups.
var<workgroup> subgroup_sums: array<f32, WORKGROUP_SIZE>;

fn workgroup_sum(value: f32, subgroup: u32, subgroups: u32, sub_lane: u32, sub_size: u32) -> f32 {
    let own = subgroupAdd(value);
    if (sub_lane == 0u) {
        subgroup_sums[subgroup] = own;
    }
    workgroupBarrier();
    var sum = 0.0;
    for (var i = sub_lane; i < subgroups; i += sub_size) {
        sum += subgroup_sums[i];
    }
    return subgroupAdd(sum);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn partial_sums(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(num_subgroups) subgroups: u32,
    @builtin(subgroup_invocation_id) sub_lane: u32,
    @builtin(subgroup_size) sub_size: u32,
) {
    let n = arrayLength(&x);
    let stride = groups.x * WORKGROUP_SIZE;
    var sum = 0.0;
    for (var i = id.x; i < n; i += stride) {
        sum += x[i];
    }
    let total = workgroup_sum(sum, subgroup, subgroups, sub_lane, sub_size);
    if (lane == 0u) {
        partials[group.x] = total;
    }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn finish(
    @builtin(local_invocation_index) lane: u32,
    @builtin(subgroup_id) subgroup: u32,
    @builtin(num_subgroups) subgroups: u32,
    @builtin(subgroup_invocation_id) sub_lane: u32,
    @builtin(subgroup_size) sub_size: u32,
) {
    let n = arrayLength(&partials);
    var sum = 0.0;
    for (var i = lane; i < n; i += WORKGROUP_SIZE) {
        sum += partials[i];
    }
    let total = workgroup_sum(sum, subgroup, subgroups, sub_lane, sub_size);
    if (lane == 0u) {
        partials[0] = total;
    }
}
