//! The catalogue of kernels as `hpclab list` shows it: what --size means for each, the cost
//! model, the backends and variants, and the kernel-specific options.

use crate::backend::Backend;
use crate::error::Result;
use crate::kernels::{self, Kernel, KernelInfo, KernelOption, Variant};
use crate::report::Document;
use crate::report::table::Rows;
use serde::Serialize;

/// A kernel as `hpclab list --format json` describes it.
#[derive(Serialize)]
struct Entry<'a> {
    #[serde(flatten)]
    info: &'a KernelInfo,
    backends: Vec<Backend>,
    /// The `--size` run uses when none is given.
    default_size: u64,
    variants: Vec<BackendVariants>,
    options: &'static [KernelOption],
}

#[derive(Serialize)]
struct BackendVariants {
    backend: Backend,
    variants: &'static [Variant],
}

fn entry(kernel: &'static dyn Kernel) -> Entry<'static> {
    Entry {
        info: kernel.info(),
        backends: kernel.every_backend(),
        default_size: kernel.default_size(),
        variants: kernel
            .every_backend()
            .iter()
            .filter(|&&b| !kernel.variants(b).is_empty())
            .map(|&backend| BackendVariants {
                backend,
                variants: kernel.variants(backend),
            })
            .collect(),
        options: kernel.options(),
    }
}

/// The document of `hpclab list`: every registered kernel.
pub struct CatalogueDocument {
    entries: Vec<Entry<'static>>,
}

impl CatalogueDocument {
    /// The catalogue of every registered kernel.
    pub fn new() -> CatalogueDocument {
        CatalogueDocument {
            entries: kernels::all().into_iter().map(entry).collect(),
        }
    }
}

impl Default for CatalogueDocument {
    fn default() -> Self {
        CatalogueDocument::new()
    }
}

impl Document for CatalogueDocument {
    fn heading(&self) -> Vec<String> {
        Vec::new()
    }

    fn tables(&self) -> Vec<Rows> {
        vec![table(&self.entries)]
    }

    fn footer(&self) -> Vec<String> {
        notes(&self.entries)
    }

    fn csv(&self) -> Result<String> {
        crate::report::csv::table(&table(&self.entries))
    }

    fn json(&self) -> Result<serde_json::Value> {
        crate::report::to_json(&self.entries)
    }

    fn verified(&self) -> bool {
        true
    }
}

/// One row per kernel: name, summary, what --size means, the cost model.
fn table(entries: &[Entry]) -> Rows {
    let header = [
        "kernel",
        "computes",
        "--size",
        "memory bytes",
        "flops",
        "upload",
        "download",
    ];
    let rows = entries
        .iter()
        .map(|e| {
            let k = e.info;
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
    Rows::new(&header, rows, vec![]).droppable(&["download", "upload", "flops", "memory bytes"])
}

/// The lines under the table: how bytes are counted, then each kernel's reference, backends,
/// default size, scalar loop, verification, variants and options.
fn notes(entries: &[Entry]) -> Vec<String> {
    let mut text = String::from(
        "\nBytes are counted per run of the compute phase (each array read or written once), 1 GB = 10^9 B.\n",
    );
    text.push_str(
        "The simd and rayon backends write output arrays of 8 MiB or more with streaming (non-temporal) stores, which skip \
         the read-for-ownership of each cache line; HPCLAB_STORES=cached turns that off to show its cost.\n",
    );
    text.push_str(
        "python, numpy and numba are the Python rungs, run by a Python worker (HPCLAB_PYTHON, default python3): not part of \
         --backend all; --backend ladder runs python, numpy, numba, scalar, simd, rayon and gpu in that order.\n",
    );
    for e in entries {
        let k = e.info;
        let backends: Vec<&str> = e.backends.iter().map(|b| b.name()).collect();
        text.push_str(&format!(
            "\n{}: {}\n  backends: {} · default --size {}\n  scalar loop: {}\n  verification: {}\n",
            k.name,
            k.reference,
            backends.join(", "),
            crate::size::format_count(e.default_size),
            k.scalar_loop,
            k.verification
        ));
        for group in &e.variants {
            let names: Vec<String> = group
                .variants
                .iter()
                .map(|v| {
                    format!(
                        "{}{} ({})",
                        v.name,
                        if v.default { "*" } else { "" },
                        v.summary
                    )
                })
                .collect();
            text.push_str(&format!(
                "  {} variants (* = default): {}\n",
                group.backend,
                names.join("; ")
            ));
        }
        if !e.options.is_empty() {
            let flags: Vec<&str> = e.options.iter().map(|o| o.flag()).collect();
            text.push_str(&format!("  options: {}\n", flags.join(", ")));
        }
    }
    text.lines().map(str::to_string).collect()
}
