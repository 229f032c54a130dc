//! The GPU as a measurement sees it: a device and the machine model probed on it once, or the
//! reason there is none.

use super::plan::Plan;
use crate::Backend;
use crate::error::{Error, Result};
use crate::experiments::probe::probe;
use crate::gpu::{AdapterChoice, GpuContext, GpuRequest};
use crate::measure::verdict::MachineModel;
use crate::size::format_bytes;
use std::sync::Mutex;

/// The model of `context`'s adapter: probed on first use in this process, then remembered.
fn model_of(context: &GpuContext) -> Option<MachineModel> {
    static MODELS: Mutex<Vec<(String, Option<MachineModel>)>> = Mutex::new(Vec::new());
    let adapter = &context.adapter;
    let key = format!(
        "{} {} {:?} {}",
        adapter.index, adapter.name, adapter.api, adapter.driver
    );
    let mut models = MODELS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, model)) = models.iter().find(|(known, _)| *known == key) {
        return *model;
    }
    let model = probe(context).ok();
    models.push((key, model));
    model
}

/// The GPU as a run sees it: a device, or the reason there is none.
pub struct GpuState {
    pub context: Option<GpuContext>,
    /// Why the GPU rows are missing, when the user did not insist on the GPU.
    pub unavailable: Option<String>,
    /// The machine model behind the verdicts, measured on first use.
    model: std::cell::OnceCell<Option<MachineModel>>,
}

impl GpuState {
    /// A GPU state around an open device.
    pub fn with(context: GpuContext) -> GpuState {
        GpuState {
            context: Some(context),
            ..GpuState::none()
        }
    }

    /// No GPU: the CPU backends only.
    pub fn none() -> GpuState {
        GpuState {
            context: None,
            unavailable: None,
            model: Default::default(),
        }
    }

    /// Opens the adapter `request` names. Without any adapter, and when `optional` (the user
    /// named neither the GPU, an adapter nor an API), the work goes on without the GPU and
    /// the reason is kept.
    pub fn open(request: &GpuRequest, optional: bool) -> Result<GpuState> {
        match GpuContext::new(request) {
            Ok(context) => Ok(GpuState::with(context)),
            Err(Error::Usage(message))
                if optional
                    && request.adapter == AdapterChoice::Preferred
                    && request.api.is_none() =>
            {
                Ok(GpuState {
                    unavailable: Some(message),
                    ..GpuState::none()
                })
            }
            Err(error) => Err(error),
        }
    }

    /// Opens the GPU when `plan` needs it (see [`GpuState::open`]).
    pub fn for_plan(plan: &Plan) -> Result<GpuState> {
        if !plan.wants_gpu() {
            return Ok(GpuState::none());
        }
        GpuState::open(&plan.gpu, !plan.backends_explicit)
    }

    /// The machine model, probed once per adapter per process (every plan, and every section of
    /// a report, judges against the same one); `None` when there is no GPU or the probe could
    /// not fit a model (a very noisy machine).
    pub fn model(&self) -> Option<&MachineModel> {
        self.model
            .get_or_init(|| self.context.as_ref().and_then(model_of))
            .as_ref()
    }

    /// Refuses a plan the adapter cannot run: its largest GPU buffer, and the kernel's own
    /// limits (bindings, loop lengths). Made before the inputs and the reference.
    pub fn check_plan(&self, plan: &Plan) -> Result<()> {
        let Some(context) = self.context.as_ref().filter(|_| plan.wants_gpu()) else {
            return Ok(());
        };
        let largest = plan.kernel.footprint(plan.size).largest_gpu_buffer_bytes;
        if largest > context.adapter.max_buffer_bytes {
            return Err(Error::usage(format!(
                "--size {}: {} needs a {} GPU buffer but {} allows at most {}; use a smaller --size or leave out the gpu backend",
                plan.size,
                plan.kernel.info().name,
                format_bytes(largest),
                context.adapter.name,
                format_bytes(context.adapter.max_buffer_bytes)
            )));
        }
        // Each planned GPU variant against its own limits (nbody's tiles differ by variant).
        plan.implementations
            .iter()
            .filter(|i| i.backend == Backend::Gpu)
            .try_for_each(|i| {
                plan.kernel
                    .check_gpu(plan.size, &plan.kernel_options, i.variant, context)
            })
    }
}
