//! The pipelined upload delivers exactly the host bytes: at sizes below one chunk, at whole
//! numbers of chunks, at sizes that end in a partial chunk, with more chunks than staging
//! buffers (so each buffer is mapped again and reused), and on a second upload through the same
//! buffers. Runs on any adapter (lavapipe in CI); no timing is checked.

mod common;

use hpclab::error::Error;
use hpclab::gpu::transfer::Role;
use hpclab::gpu::{
    DeviceArray, Download, GpuContext, UploadPipeline, download_timed, upload_pipelined_timed,
    upload_timed,
};

/// Bytes that differ from chunk to chunk and from round to round, so a chunk copied to the
/// wrong place, left out, or left over from the previous upload shows.
fn pattern(bytes: usize, round: u8) -> Vec<u8> {
    (0..bytes as u64)
        .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as u8 ^ round)
        .collect()
}

/// Fills the whole device array with `0xAA`, so bytes an upload fails to write stay wrong.
fn poison(context: &GpuContext, array: &DeviceArray) {
    let junk = vec![0xAA; array.bytes as usize];
    upload_timed(context, &[(array, &junk)]).expect("poisoning the array");
}

/// Uploads `host` through `pipeline` into a poisoned `array`, reads it back, and says where
/// the first differing byte is.
fn assert_delivers(
    context: &GpuContext,
    pipeline: &UploadPipeline,
    array: &DeviceArray,
    host: &[u8],
) {
    poison(context, array);
    upload_pipelined_timed(context, pipeline, array, host).expect("pipelined upload");
    let mut back = vec![0u8; host.len()];
    download_timed(
        context,
        &mut [Download {
            array,
            host: &mut back,
        }],
    )
    .expect("reading back");
    let chunk = pipeline.chunk_bytes() as usize;
    if let Some(at) = back.iter().zip(host).position(|(b, h)| b != h) {
        panic!(
            "{} bytes in chunks of {chunk}: byte {at} (chunk {}) differs",
            host.len(),
            at / chunk
        );
    }
}

#[test]
fn pipelined_upload_delivers_every_byte() {
    let Some(context) = common::gpu(Default::default()) else {
        return;
    };
    // Small chunks so that every case below stays quick.
    let chunk = 64 << 10;
    let sizes = [
        4,                // one word, far below one chunk
        1000,             // below one chunk
        chunk,            // exactly one chunk
        3 * chunk + 12,   // a partial last chunk, fewer chunks than buffers
        4 * chunk,        // one chunk per buffer
        9 * chunk + 4096, // more chunks than buffers: each buffer is reused
    ];
    let largest = *sizes.iter().max().unwrap();
    let array = DeviceArray::new(&context, "pipelined", largest, Role::InputOutput).unwrap();
    let pipeline = UploadPipeline::new(&context, chunk, UploadPipeline::BUFFERS).unwrap();
    for (round, &bytes) in sizes.iter().enumerate() {
        assert_delivers(
            &context,
            &pipeline,
            &array,
            &pattern(bytes as usize, round as u8),
        );
    }
    // A second upload through the same buffers, other bytes: nothing left over.
    assert_delivers(
        &context,
        &pipeline,
        &array,
        &pattern(largest as usize, 0x5A),
    );
}

#[test]
fn pipelined_upload_with_the_experiments_chunks_delivers_every_byte() {
    let Some(context) = common::gpu(Default::default()) else {
        return;
    };
    // 4 KiB: chunks of 1 KiB; 5 MiB + 4 B: 4 MiB chunks, the second one partial (two buffers
    // used).
    for bytes in [4096, (5 << 20) + 4] {
        let array = DeviceArray::new(&context, "pipelined", bytes, Role::InputOutput).unwrap();
        let pipeline = UploadPipeline::for_upload(&context, bytes).unwrap();
        assert_delivers(&context, &pipeline, &array, &pattern(bytes as usize, 3));
    }
    assert_eq!(UploadPipeline::chunk_for(4096), 1024);
    assert_eq!(
        UploadPipeline::chunk_for(1 << 30),
        UploadPipeline::MAX_CHUNK
    );
    assert_eq!(UploadPipeline::chunk_for(4), 4);
}

#[test]
fn pipelined_upload_refuses_what_it_cannot_copy() {
    let Some(context) = common::gpu(Default::default()) else {
        return;
    };
    let array = DeviceArray::new(&context, "pipelined", 1024, Role::InputOutput).unwrap();
    let pipeline = UploadPipeline::new(&context, 256, 2).unwrap();
    // Not whole words, and more than the array holds: errors, not panics.
    for bytes in [1001, 2048] {
        match upload_pipelined_timed(&context, &pipeline, &array, &vec![1; bytes]) {
            Err(Error::Gpu { message, .. }) => assert!(message.contains("bytes"), "{message}"),
            other => panic!("{bytes} bytes: want an error, got {other:?}"),
        }
    }
    // The pipeline still works after refusing.
    assert_delivers(&context, &pipeline, &array, &pattern(1024, 9));
}
