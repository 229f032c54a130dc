// nbody `split`: the tiled all-pairs step of `body_per_thread.wgsl` with SPLIT invocations per
// body. What it changes: a workgroup of WORKGROUP_SIZE invocations steps WORKGROUP_SIZE / SPLIT
// bodies; the SPLIT invocations of one body each walk 1/SPLIT of every tile and keep a partial
// acceleration, and the partials are added in workgroup memory at the end. Why it helps: the
// grid grows SPLIT times for the same n (8192 bodies, 256 invocations, SPLIT 8: 256 workgroups
// instead of body-per-thread's 64), so every SM of a large GPU (132 on an H100) gets work and
// has several workgroups to hide latency with, at the cost of SPLIT − 1 additions per body.
//
// The tile is the workgroup: each invocation loads one body of it per round (padded past the
// last body with bodies of mass 0, which pull with exactly 0 force), a barrier makes it visible,
// invocation `part` of a body reads entries part, part + SPLIT, … (neighbouring invocations read
// neighbouring entries), and a second barrier lets the tile be overwritten. Then v += a·dt,
// x += v·dt by the body's first invocation. WORKGROUP_SIZE must be a multiple of SPLIT.
override WORKGROUP_SIZE: u32 = 256u;
override SPLIT: u32 = 8u;
// ε² and dt, set from Rust.
override SOFTENING_SQUARED: f32 = 0.0025;
override DT: f32 = 0.01;

// (x, y, z, mass) and (vx, vy, vz, 0) per body.
@group(0) @binding(0) var<storage, read> bodies: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> velocities: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> new_bodies: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> new_velocities: array<vec4<f32>>;

var<workgroup> tile: array<vec4<f32>, WORKGROUP_SIZE>;
var<workgroup> partials: array<vec4<f32>, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn step(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let n = arrayLength(&bodies);
    let per_group = WORKGROUP_SIZE / SPLIT;
    // The SPLIT invocations of one body are neighbours: body slot, and part of every tile.
    let slot = lane / SPLIT;
    let part = lane % SPLIT;
    // A grid-stride loop over blocks of bodies (at most 65 535 workgroups per dispatch). Its
    // bounds depend on the workgroup only, so all invocations of a workgroup meet every barrier.
    for (var base = group.x * per_group; base < n; base += groups.x * per_group) {
        let i = base + slot;
        var me = vec4<f32>(0.0);
        if (i < n) {
            me = bodies[i];
        }
        var acceleration = vec3<f32>(0.0);
        for (var start = 0u; start < n; start += WORKGROUP_SIZE) {
            let j = start + lane;
            var other = vec4<f32>(0.0);
            if (j < n) {
                other = bodies[j];
            }
            tile[lane] = other;
            workgroupBarrier();
            for (var k = part; k < WORKGROUP_SIZE; k += SPLIT) {
                let body = tile[k];
                let d = body.xyz - me.xyz;
                let inverse = inverseSqrt(dot(d, d) + SOFTENING_SQUARED);
                acceleration = fma(vec3<f32>(body.w * inverse * inverse * inverse), d, acceleration);
            }
            workgroupBarrier();
        }
        partials[lane] = vec4<f32>(acceleration, 0.0);
        workgroupBarrier();
        if (part == 0u && i < n) {
            var total = partials[lane].xyz;
            for (var p = 1u; p < SPLIT; p++) {
                total += partials[lane + p].xyz;
            }
            let velocity = velocities[i].xyz + total * DT;
            new_velocities[i] = vec4<f32>(velocity, 0.0);
            new_bodies[i] = vec4<f32>(me.xyz + velocity * DT, me.w);
        }
        // The partials are written again in the next block only after this read.
        workgroupBarrier();
    }
}
