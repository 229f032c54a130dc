//! `hpclab list`: the kernels, what --size means for each, and the cost model.

use crate::cli::{ListArgs, ListFormat};
use crate::error::{Error, Result};
use crate::kernels::{self, KernelInfo};
use crate::report::table::{Rows, render_terminal};

/// Prints the kernel catalogue.
pub fn execute(args: &ListArgs) -> Result<()> {
    let infos: Vec<&KernelInfo> = kernels::all().into_iter().map(|k| k.info()).collect();
    let text = match args.format {
        ListFormat::Json => {
            serde_json::to_string_pretty(&infos)
                .map_err(|e| Error::io("encoding JSON", std::io::Error::other(e)))?
                + "\n"
        }
        ListFormat::Table => render(&infos),
    };
    print!("{text}");
    Ok(())
}

fn render(infos: &[&KernelInfo]) -> String {
    let header = [
        "kernel",
        "computes",
        "--size",
        "memory bytes",
        "flops",
        "upload",
        "download",
    ];
    let rows = infos
        .iter()
        .map(|k| {
            vec![
                k.name.to_string(),
                k.summary.to_string(),
                k.size_meaning.to_string(),
                k.cost_model.device_bytes.to_string(),
                k.cost_model.flops.to_string(),
                k.cost_model.upload_bytes.to_string(),
                k.cost_model.download_bytes.to_string(),
            ]
        })
        .collect();
    let mut text = render_terminal(&Rows {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows,
        numeric: vec![],
    });
    text.push_str("\n\nBytes are counted per run of the compute phase (each array read or written once), 1 GB = 10^9 B.\n");
    text.push_str(
        "The simd and rayon backends write output arrays of 8 MiB or more with streaming (non-temporal) stores, which skip \
         the read-for-ownership of each cache line; HPCLAB_STORES=cached turns that off to show its cost.\n",
    );
    for k in infos {
        text.push_str(&format!(
            "\n{}: {}\n  scalar loop: {}\n  verification: {}\n",
            k.name, k.reference, k.scalar_loop, k.verification
        ));
    }
    text
}
