// An empty kernel: what a dispatch costs when it does no work (the latency experiment).
@compute @workgroup_size(1)
fn main() {}
