//! Every shader in `shaders/` parses and validates with naga, the compiler wgpu uses, without a
//! GPU: a typo in WGSL fails a plain `cargo test`.

use std::path::{Path, PathBuf};

fn shader_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).expect("shaders/ exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            shader_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "wgsl") {
            found.push(path);
        }
    }
}

#[test]
fn every_shader_validates_with_naga() {
    let mut files = Vec::new();
    shader_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders"),
        &mut files,
    );
    assert!(
        files.len() >= 5,
        "expected the STREAM shaders, found {files:?}"
    );
    for path in files {
        let source = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let module = naga::front::wgsl::parse_str(&source)
            .unwrap_or_else(|e| panic!("{}", e.emit_to_string_with_path(&source, &name)));
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}", e.emit_to_string_with_path(&source, &name)));
    }
}
