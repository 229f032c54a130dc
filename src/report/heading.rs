//! The lines of a heading that say where a document was measured, written one way for every
//! document.

use crate::environment::Environment;

/// What a document's heading says about the machine.
#[derive(Debug, Clone, Default)]
pub struct Machine<'a> {
    /// What the CPU line counts (`4 threads`, `8 logical cores`); no CPU line without it.
    pub cpu_count: Option<String>,
    /// The SIMD set's f32 lanes on the CPU line, for documents whose rates depend on them.
    pub lanes: bool,
    /// The driver on the GPU line.
    pub driver: bool,
    /// What a software adapter means for this document's figures; nothing said without it.
    pub software: Option<&'a str>,
}

impl Machine<'_> {
    /// The CPU line counting the threads the work ran on, and the plain GPU line.
    pub fn threads(environment: &Environment) -> Machine<'static> {
        Machine {
            cpu_count: Some(match environment.threads {
                1 => "1 thread".to_string(),
                threads => format!("{threads} threads"),
            }),
            ..Machine::default()
        }
    }
}

/// The CPU line, then the GPU line when an adapter was used.
pub fn machine_lines(environment: &Environment, machine: Machine) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(count) = &machine.cpu_count {
        let lanes = environment.cpu.f32_lanes;
        lines.push(format!(
            "CPU: {} · {count} · simd {}{}",
            environment.cpu.model,
            environment.simd,
            if !machine.lanes {
                String::new()
            } else if lanes == 1 {
                " (1 f32 lane)".to_string()
            } else {
                format!(" ({lanes} f32 lanes)")
            }
        ));
    }
    if let Some(adapter) = &environment.adapter {
        let driver = if machine.driver {
            format!(", {}", adapter.driver_info)
        } else {
            String::new()
        };
        let software = match machine.software {
            Some(meaning) if adapter.software => format!(" — software adapter: {meaning}"),
            _ => String::new(),
        };
        lines.push(format!(
            "GPU: {} ({}, {}{driver}){software}",
            adapter.name, adapter.device_type, adapter.api
        ));
    }
    lines
}
