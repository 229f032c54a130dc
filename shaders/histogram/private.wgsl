// Byte histogram, `private`: each workgroup counts into its own 256 bins in workgroup memory
// (atomics there are fast and contended only by the workgroup's own invocations), then adds
// each nonzero bin to the global histogram once: 256 global atomics per workgroup instead of
// one per byte. The contention lesson: same answer, far less traffic on the shared words.
//
// The bytes arrive packed four per u32 (byte k of a word is bits 8k .. 8k + 7, the little-endian
// order the host array has). `chunk.valid_bytes` counts the bytes of this chunk that are real:
// the last word of the whole array may hold 1 to 3 padding bytes, which are skipped by index.
override WORKGROUP_SIZE: u32 = 256u;

struct Chunk {
    valid_bytes: u32,
}

@group(0) @binding(0) var<storage, read_write> bins: array<atomic<u32>, 256>;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> chunk: Chunk;

var<workgroup> local_bins: array<atomic<u32>, 256>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
    @builtin(global_invocation_id) id: vec3<u32>,
    @builtin(local_invocation_index) lane: u32,
    @builtin(num_workgroups) groups: vec3<u32>,
) {
    // Workgroup memory is not zeroed for us (the pipelines skip zero-initialisation).
    for (var bin = lane; bin < 256u; bin += WORKGROUP_SIZE) {
        atomicStore(&local_bins[bin], 0u);
    }
    workgroupBarrier();

    let words = arrayLength(&data);
    let valid = chunk.valid_bytes;
    let stride = groups.x * WORKGROUP_SIZE;
    for (var w = id.x; w < words; w += stride) {
        let word = data[w];
        // w < words = ceil(valid / 4), so at least one byte of this word is valid.
        let bytes = min(valid - 4u * w, 4u);
        for (var k = 0u; k < bytes; k++) {
            atomicAdd(&local_bins[(word >> (8u * k)) & 0xffu], 1u);
        }
    }
    workgroupBarrier();

    for (var bin = lane; bin < 256u; bin += WORKGROUP_SIZE) {
        let count = atomicLoad(&local_bins[bin]);
        if (count != 0u) {
            atomicAdd(&bins[bin], count);
        }
    }
}
