//! The CPU and every GPU adapter, as `hpclab devices` and the report's machine section show them.

use crate::cpu::info::CpuInfo;
use crate::error::Result;
use crate::gpu::{AdapterSummary, GpuApi, NO_ADAPTER_HINT, context::list_adapters};
use crate::report::table::{Rows, TableExporter};
use crate::report::{Document, Exporter};
use crate::size::format_bytes;
use serde::Serialize;

/// The CPU and every adapter, as `hpclab devices` shows them.
#[derive(Serialize)]
pub struct Devices {
    cpu: CpuInfo,
    adapters: Vec<AdapterSummary>,
}

impl Devices {
    /// Describes this machine's CPU and its adapters of `api` (every API when `None`).
    pub fn detect(api: Option<GpuApi>) -> Devices {
        Devices {
            cpu: CpuInfo::detect(),
            adapters: list_adapters(api),
        }
    }

    /// The line that describes the CPU.
    fn cpu_line(&self) -> String {
        let cpu = &self.cpu;
        format!(
            "CPU: {} · {} logical cores · {} · simd backend uses {} ({} f32 lanes{})",
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
        )
    }

    /// One row per adapter.
    fn adapter_rows(&self) -> Rows {
        let header = [
            "#",
            "adapter",
            "type",
            "API",
            "driver",
            "timestamps",
            "f32 atomics",
            "max buffer",
            "max storage binding",
            "max workgroups/dim",
            "workgroup memory",
        ];
        let rows = self
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
                    if a.float32_atomics { "yes" } else { "no" }.to_string(),
                    format_bytes(a.max_buffer_bytes),
                    format_bytes(a.max_storage_binding_bytes),
                    a.max_workgroups_per_dimension.to_string(),
                    format_bytes(a.max_workgroup_storage_bytes as u64),
                ]
            })
            .collect();
        Rows::new(&header, rows, vec![0, 7, 8, 9, 10]).droppable(&[
            "f32 atomics",
            "workgroup memory",
            "max workgroups/dim",
            "driver",
            "max buffer",
        ])
    }
}

impl Document for Devices {
    fn heading(&self) -> Vec<String> {
        let mut lines = vec![self.cpu_line()];
        if self.adapters.is_empty() {
            lines.push(format!("GPU: {NO_ADAPTER_HINT}"));
        }
        lines
    }

    fn tables(&self) -> Vec<Rows> {
        if self.adapters.is_empty() {
            Vec::new()
        } else {
            vec![self.adapter_rows()]
        }
    }

    fn footer(&self) -> Vec<String> {
        if self.adapters.is_empty() {
            Vec::new()
        } else {
            vec!["`hpclab run … --adapter N` picks one; by default the first (discrete before integrated before software).".to_string()]
        }
    }

    fn csv(&self) -> Result<String> {
        crate::report::csv::table(&self.adapter_rows())
    }

    fn json(&self) -> Result<serde_json::Value> {
        crate::report::to_json(self)
    }

    fn verified(&self) -> bool {
        true
    }
}

/// The devices as the terminal table of `hpclab devices`.
pub fn render(devices: &Devices) -> String {
    TableExporter.render(devices).unwrap_or_default()
}
