//! `hpclab devices`: the CPU and every GPU adapter.

use crate::cli::{DevicesArgs, ListFormat};
use crate::cpu::info::CpuInfo;
use crate::error::{Error, Result};
use crate::gpu::{AdapterSummary, NO_ADAPTER_HINT, context::list_adapters};
use crate::report::table::{Rows, render_terminal};
use crate::size::format_bytes;
use serde::Serialize;

/// The CPU and every adapter, as `hpclab devices` shows them.
#[derive(Serialize)]
pub struct Devices {
    cpu: CpuInfo,
    adapters: Vec<AdapterSummary>,
}

/// Prints the devices.
pub fn execute(args: &DevicesArgs) -> Result<()> {
    let devices = Devices {
        cpu: CpuInfo::detect(),
        adapters: list_adapters(args.gpu_api),
    };
    let text = match args.format {
        ListFormat::Json => {
            serde_json::to_string_pretty(&devices)
                .map_err(|e| Error::io("encoding JSON", std::io::Error::other(e)))?
                + "\n"
        }
        ListFormat::Table => render(&devices),
    };
    print!("{text}");
    Ok(())
}

/// Describes this machine's devices.
pub fn detect(api: Option<crate::gpu::GpuApi>) -> Devices {
    Devices {
        cpu: CpuInfo::detect(),
        adapters: list_adapters(api),
    }
}

/// The devices as the terminal table of `hpclab devices`.
pub fn render(devices: &Devices) -> String {
    let cpu = &devices.cpu;
    let mut text = format!(
        "CPU: {} · {} logical cores · {} · simd backend uses {} ({} f32 lanes{})\n",
        cpu.model,
        cpu.logical_cores,
        cpu.arch,
        cpu.simd,
        cpu.f32_lanes,
        if cpu.simd != cpu.simd_detected {
            format!("; the CPU has {}", cpu.simd_detected)
        } else {
            String::new()
        }
    );
    if devices.adapters.is_empty() {
        text.push_str(&format!("GPU: {NO_ADAPTER_HINT}\n"));
        return text;
    }
    let header = [
        "#",
        "adapter",
        "type",
        "API",
        "driver",
        "timestamps",
        "max buffer",
        "max storage binding",
        "max workgroups/dim",
        "workgroup memory",
    ];
    let rows = devices
        .adapters
        .iter()
        .map(|a| {
            vec![
                a.index.to_string(),
                a.name.clone(),
                if a.software {
                    format!("{} (software)", a.device_type)
                } else {
                    a.device_type.clone()
                },
                a.api.clone(),
                format!("{} {}", a.driver, a.driver_info).trim().to_string(),
                if a.timestamps { "yes" } else { "no" }.to_string(),
                format_bytes(a.max_buffer_bytes),
                format_bytes(a.max_storage_binding_bytes),
                a.max_workgroups_per_dimension.to_string(),
                format_bytes(a.max_workgroup_storage_bytes as u64),
            ]
        })
        .collect();
    text.push_str(&render_terminal(&Rows {
        header: header.iter().map(|s| s.to_string()).collect(),
        rows,
        numeric: vec![0, 6, 7, 8, 9],
    }));
    text.push_str("\n`hpclab run … --adapter N` picks one; by default the first (discrete before integrated before software).\n");
    text
}
