// nbody `body-per-thread`: one all-pairs gravitational step with softening, tiled through
// workgroup memory (Nyland, Harris & Prins, GPU Gems 3, ch. 31), one body per invocation. The
// ladder's first step: global memory is read once per tile, not once per interaction. Its limit
// is the grid: n/TILE workgroups (8192 bodies in tiles of 128: 64 workgroups, fewer than an
// H100's 132 SMs), so at moderate n most of a large GPU idles; `split.wgsl` fixes that.
//
// Each invocation owns one body i. The workgroup walks over the bodies in tiles of TILE: each
// invocation loads one body of the tile into workgroup memory, a barrier makes the tile visible,
// every invocation adds the pull of all TILE bodies from there, and a second barrier lets the
// tile be overwritten. Global memory is read once per tile instead of once per interaction.
// Past the last body the tile is padded with bodies of mass 0, which pull with exactly 0 force,
// so n need not be a multiple of TILE. Then v += a·dt, x += v·dt.
override TILE: u32 = 128u;
// ε² and dt, set from Rust.
override SOFTENING_SQUARED: f32 = 0.0025;
override DT: f32 = 0.01;

// (x, y, z, mass) and (vx, vy, vz, 0) per body.
@group(0) @binding(0) var<storage, read> bodies: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> velocities: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> new_bodies: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> new_velocities: array<vec4<f32>>;

var<workgroup> tile: array<vec4<f32>, TILE>;

@compute @workgroup_size(TILE)
fn step(
    @builtin(local_invocation_index) lane: u32,
    @builtin(workgroup_id) group: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    let n = arrayLength(&bodies);
    // A grid-stride loop over blocks of TILE bodies (at most 65 535 workgroups per dispatch). Its
    // bounds depend on the workgroup only, so all invocations of a workgroup meet every barrier.
    for (var base = group.x * TILE; base < n; base += groups.x * TILE) {
        let i = base + lane;
        var me = vec4<f32>(0.0);
        if (i < n) {
            me = bodies[i];
        }
        var acceleration = vec3<f32>(0.0);
        for (var start = 0u; start < n; start += TILE) {
            let j = start + lane;
            var other = vec4<f32>(0.0);
            if (j < n) {
                other = bodies[j];
            }
            tile[lane] = other;
            workgroupBarrier();
            for (var k = 0u; k < TILE; k++) {
                let body = tile[k];
                let d = body.xyz - me.xyz;
                let inverse = inverseSqrt(dot(d, d) + SOFTENING_SQUARED);
                acceleration = fma(vec3<f32>(body.w * inverse * inverse * inverse), d, acceleration);
            }
            workgroupBarrier();
        }
        if (i < n) {
            let velocity = velocities[i].xyz + acceleration * DT;
            new_velocities[i] = vec4<f32>(velocity, 0.0);
            new_bodies[i] = vec4<f32>(me.xyz + velocity * DT, me.w);
        }
    }
}
