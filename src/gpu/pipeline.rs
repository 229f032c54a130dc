//! Compute pipelines, compiled once per process and device and cached.
//!
//! Compiling WGSL into a pipeline is the just-in-time step of the GPU path: it costs
//! milliseconds, so it is reported as setup and never repeated inside a phase.

use super::context::GpuContext;
use crate::error::Result;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A shader entry point with the values of its `override` constants.
#[derive(Debug, Clone)]
pub struct ShaderSpec {
    /// Name for labels and error messages (the shader's file name).
    pub label: &'static str,
    /// WGSL source, from `include_str!("…/shaders/….wgsl")`.
    pub source: &'static str,
    /// The `@compute` function to run.
    pub entry_point: &'static str,
    /// Values for the shader's `override` constants (the workgroup size among them).
    pub constants: Vec<(&'static str, f64)>,
    /// Why every index of this shader is bounded by its own guards, when it is: the shader then
    /// runs without wgpu's added bounds checks (a trusted module). `None` keeps the checks, for
    /// shaders whose indices rely on offsets and counts the host chose.
    pub trusted: Option<&'static str>,
}

impl ShaderSpec {
    /// Entry point `entry_point` of the WGSL `source`, labelled `label`, with no override
    /// constants yet.
    pub fn new(label: &'static str, source: &'static str, entry_point: &'static str) -> ShaderSpec {
        ShaderSpec {
            label,
            source,
            entry_point,
            constants: Vec::new(),
            trusted: None,
        }
    }

    /// Runs without wgpu's added bounds checks; `why` says which guards bound every index.
    pub fn trusted(mut self, why: &'static str) -> ShaderSpec {
        self.trusted = Some(why);
        self
    }

    /// Sets the `override` constant `name` to `value`.
    pub fn constant(mut self, name: &'static str, value: impl Into<f64>) -> ShaderSpec {
        self.constants.push((name, value.into()));
        self
    }

    fn key(&self) -> String {
        let constants: Vec<String> = self
            .constants
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        format!(
            "{}:{}:{}:{}",
            self.label,
            self.entry_point,
            constants.join(","),
            self.trusted.is_some()
        )
    }
}

/// A compiled pipeline and how long compiling it took (0 when it came from the cache).
pub struct CompiledPipeline {
    /// The pipeline, shared with the cache.
    pub pipeline: Arc<wgpu::ComputePipeline>,
    /// Seconds spent compiling it now; 0 when it came from the cache.
    pub compile_s: f64,
}

/// Pipelines by shader, entry point and constants.
#[derive(Default)]
pub struct PipelineCache {
    pipelines: Mutex<HashMap<String, Arc<wgpu::ComputePipeline>>>,
}

impl PipelineCache {
    /// Returns the pipeline for `spec`, compiling it on first use. Shader errors come back as
    /// `Err` with wgpu's full message.
    pub fn get(&self, context: &GpuContext, spec: &ShaderSpec) -> Result<CompiledPipeline> {
        let key = spec.key();
        if let Some(pipeline) = self
            .pipelines
            .lock()
            .ok()
            .and_then(|map| map.get(&key).cloned())
        {
            return Ok(CompiledPipeline {
                pipeline,
                compile_s: 0.0,
            });
        }
        let started = Instant::now();
        let pipeline = context.scoped(&format!("compiling shader {}", spec.label), || {
            let descriptor = wgpu::ShaderModuleDescriptor {
                label: Some(spec.label),
                source: wgpu::ShaderSource::Wgsl(spec.source.into()),
            };
            let module = match spec.trusted {
                // SAFETY: `trusted` is set only on shaders whose every index is bounded by the
                // shader's own guards (each call site says which), so no access can leave its
                // binding; loop bounding and the other checks stay on.
                Some(_) => unsafe {
                    context.device.create_shader_module_trusted(
                        descriptor,
                        wgpu::ShaderRuntimeChecks {
                            bounds_checks: false,
                            ..wgpu::ShaderRuntimeChecks::checked()
                        },
                    )
                },
                None => context.device.create_shader_module(descriptor),
            };
            context
                .device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(spec.label),
                    layout: None,
                    module: &module,
                    entry_point: Some(spec.entry_point),
                    compilation_options: wgpu::PipelineCompilationOptions {
                        constants: &spec.constants,
                        zero_initialize_workgroup_memory: false,
                    },
                    cache: None,
                })
        })?;
        let compile_s = started.elapsed().as_secs_f64();
        let pipeline = Arc::new(pipeline);
        if let Ok(mut map) = self.pipelines.lock() {
            map.insert(key, Arc::clone(&pipeline));
        }
        Ok(CompiledPipeline {
            pipeline,
            compile_s,
        })
    }
}
