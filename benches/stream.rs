//! Criterion benchmarks of triad and dot on each backend (the GPU one includes its transfers:
//! one sample = upload + compute + download, as `hpclab run` times it).
//!
//! `cargo bench --bench stream`; `HPCLAB_BENCH_SIZE=32Mi` changes the size (default 4Mi).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hpclab::Backend;
use hpclab::gpu::{GpuContext, GpuRequest};
use hpclab::kernels;
use hpclab::size::parse_size;

fn bench_stream(c: &mut Criterion) {
    let n = std::env::var("HPCLAB_BENCH_SIZE")
        .ok()
        .and_then(|s| parse_size(&s).ok())
        .unwrap_or(4 << 20);
    let gpu = GpuContext::new(&GpuRequest::default()).ok();
    if gpu.is_none() {
        eprintln!("no GPU adapter: benchmarking the CPU backends only");
    }
    for name in ["triad", "dot"] {
        let kernel = kernels::find(name).expect("registered kernel");
        let mut group = c.benchmark_group(format!("{name}/{n}"));
        group.throughput(Throughput::Bytes(kernel.cost(n).device_bytes));
        let mut problem = kernel.prepare(n as usize, 42, &Default::default());
        for backend in [Backend::Scalar, Backend::Simd, Backend::Rayon] {
            group.bench_function(backend.name(), |b| {
                b.iter(|| problem.run_cpu(std::hint::black_box(backend), None))
            });
        }
        if let Some(context) = &gpu {
            let mut run = problem.gpu(context, None).expect("GPU set-up");
            group.bench_function("gpu (with transfers)", |b| {
                b.iter(|| run.sample().expect("GPU sample"))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench_stream);
criterion_main!(benches);
