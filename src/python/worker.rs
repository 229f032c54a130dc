//! The Python worker process: started once per row, fed one kernel at a time, sampled one call
//! at a time. hpclab decides the samples and verifies the outputs; the worker's clock
//! (`time.perf_counter`, around the kernel call alone) times each one, since the call happens
//! in another process.

use super::{ArrayMut, PythonCall, sources};
use crate::error::{Error, Result};
use crate::files::ScratchFolder;
use serde::Serialize;
use serde_json::{Value, json};
use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The variable that picks the interpreter (default `python3` on the PATH).
pub const PYTHON_VARIABLE: &str = "HPCLAB_PYTHON";

/// The interpreter the worker runs under.
pub fn interpreter() -> OsString {
    std::env::var_os(PYTHON_VARIABLE)
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// Why a Python rung cannot run on this machine, with the line that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub reason: String,
}

/// What the interpreter said about itself when it started.
#[derive(Debug, Clone, Serialize)]
pub struct Interpreter {
    /// `3.11.2`.
    pub python: String,
    /// `cpython`, `pypy`.
    pub implementation: String,
    /// True for a free-threaded build running without the GIL (3.13t and later).
    pub free_threaded: bool,
}

/// One-time costs of loading a rung, in seconds: never inside any phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    /// `import numpy`, `import numba`: each module's import.
    pub imports_s: Vec<(String, f64)>,
    /// Reading the inputs and building the call (lists for pure Python, arrays otherwise).
    pub load_s: f64,
    /// Numba only: the first call, which compiles the loop (once per worker).
    pub first_call_s: Option<f64>,
    /// The modules' versions: `numpy 2.1.3`.
    pub versions: Vec<(String, String)>,
}

/// One run of a GIL mode: the parallel section's seconds, and for processes the start of the
/// pool (apart) and the busiest worker's own compute (the rest of `seconds` is pickling and
/// scheduling).
#[derive(Debug, Clone, Copy)]
pub struct GilSample {
    pub seconds: f64,
    pub start_s: Option<f64>,
    pub busiest_s: Option<f64>,
}

/// A running worker.
pub struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    /// Seconds from starting the process to its first answer (interpreter start).
    pub start_s: f64,
    /// What it runs on.
    pub interpreter: Interpreter,
    outputs: Vec<PathBuf>,
    scratch: ScratchFolder,
    program: OsString,
}

impl Worker {
    /// Starts the interpreter with the sources in a scratch folder; `threads` caps the threads
    /// of Numba's `prange` and of NumPy's BLAS.
    pub fn start(threads: usize) -> Result<std::result::Result<Worker, Unavailable>> {
        Worker::start_with(&interpreter(), threads)
    }

    /// [`Worker::start`] under `program` instead of [`interpreter`].
    pub fn start_with(
        program: &OsStr,
        threads: usize,
    ) -> Result<std::result::Result<Worker, Unavailable>> {
        let scratch = ScratchFolder::new("the Python worker")?;
        for (name, text) in sources::FILES {
            scratch.write(name, text.as_bytes())?;
        }
        let program = program.to_os_string();
        let threads = threads.to_string();
        let started = Instant::now();
        let spawned = Command::new(&program)
            .arg("-u")
            .arg(scratch.path().join("hpclab_worker.py"))
            .current_dir(scratch.path())
            .env("NUMBA_NUM_THREADS", &threads)
            .env("OPENBLAS_NUM_THREADS", &threads)
            .env("OMP_NUM_THREADS", &threads)
            .env("MKL_NUM_THREADS", &threads)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Err(Unavailable {
                    reason: format!(
                        "no Python interpreter '{}' (install Python 3, e.g. apt-get install python3, or set {PYTHON_VARIABLE})",
                        program.to_string_lossy()
                    ),
                }));
            }
            Err(error) => {
                return Err(Error::io(
                    format!("starting {}", program.to_string_lossy()),
                    error,
                ));
            }
        };
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while let Ok(read @ 1..) = pipe.read(&mut buffer) {
                    let mut kept = kept.lock().unwrap_or_else(|p| p.into_inner());
                    kept.extend_from_slice(&buffer[..read]);
                }
            });
        }
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut worker = Worker {
            child,
            stdin,
            stdout,
            stderr,
            start_s: 0.0,
            interpreter: Interpreter {
                python: String::new(),
                implementation: String::new(),
                free_threaded: false,
            },
            outputs: Vec::new(),
            scratch,
            program: program.clone(),
        };
        let ready = match worker.answer("starting") {
            Ok(ready) => ready,
            // Not a Python 3 this worker runs on (Python 2, a broken interpreter): not run.
            Err(Error::Python { message, .. }) => {
                return Ok(Err(Unavailable {
                    reason: format!(
                        "'{}' does not run hpclab's worker ({message}); install Python 3 or set {PYTHON_VARIABLE}",
                        program.to_string_lossy()
                    ),
                }));
            }
            Err(other) => return Err(other),
        };
        worker.start_s = started.elapsed().as_secs_f64();
        worker.interpreter = Interpreter {
            python: text(&ready, "python"),
            implementation: text(&ready, "implementation"),
            free_threaded: ready["free_threaded"].as_bool().unwrap_or(false),
        };
        Ok(Ok(worker))
    }

    /// Loads `kernel`'s `rung` (and `variant`) with `call`'s inputs; a module the machine lacks
    /// (NumPy, Numba) is returned as [`Unavailable`] with its install line.
    pub fn load(
        &mut self,
        kernel: &str,
        rung: &str,
        variant: Option<&str>,
        call: PythonCall<'_>,
    ) -> Result<std::result::Result<LoadReport, Unavailable>> {
        let command = json!({"cmd": "load", "kernel": kernel, "rung": rung, "variant": variant});
        self.load_with(command, call, &format!("loading {kernel} on {rung}"))
    }

    /// Loads one `mode` of the GIL experiment (`python/gil.py`) on `call`'s parameters.
    pub fn load_gil(
        &mut self,
        mode: &str,
        call: PythonCall<'_>,
    ) -> Result<std::result::Result<LoadReport, Unavailable>> {
        let command = json!({"cmd": "gil-load", "mode": mode});
        self.load_with(
            command,
            call,
            &format!("loading the GIL experiment's {mode}"),
        )
    }

    /// One run of the loaded GIL mode on `workers` workers.
    pub fn sample_gil(&mut self, workers: usize) -> Result<GilSample> {
        let context = format!("running on {workers} workers");
        let answer = self.request(&json!({"cmd": "gil-run", "workers": workers}), &context)?;
        let seconds = answer["seconds"]
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| Error::Python {
                context,
                message: format!("no time in its answer {answer}"),
            })?;
        Ok(GilSample {
            seconds,
            start_s: answer["start_s"].as_f64(),
            busiest_s: answer["busiest_s"].as_f64(),
        })
    }

    fn load_with(
        &mut self,
        mut command: Value,
        call: PythonCall<'_>,
        context: &str,
    ) -> Result<std::result::Result<LoadReport, Unavailable>> {
        let mut inputs = Vec::new();
        for input in &call.inputs {
            let path = self
                .scratch
                .write(&format!("in-{}.bin", input.name), input.data.bytes())?;
            inputs.push(json!({
                "name": input.name,
                "dtype": input.data.dtype(),
                "shape": input.shape,
                "path": path,
            }));
        }
        self.outputs.clear();
        let mut outputs = Vec::new();
        for output in &call.outputs {
            let path = self.scratch.path().join(format!("out-{}.bin", output.name));
            outputs.push(json!({
                "name": output.name,
                "dtype": output.dtype,
                "shape": output.shape,
                "path": path,
            }));
            self.outputs.push(path);
        }
        command["params"] = call.params;
        command["inputs"] = Value::Array(inputs);
        command["outputs"] = Value::Array(outputs);
        let answer = match self.command(&command, context) {
            Ok(answer) => answer,
            Err(Missing(module)) => {
                return Ok(Err(Unavailable {
                    reason: format!(
                        "{} has no {module} (install it: {} -m pip install {module})",
                        self.describe(),
                        self.program.to_string_lossy()
                    ),
                }));
            }
        }?;
        let pairs = |key: &str| -> Vec<(String, Value)> {
            answer[key]
                .as_array()
                .map(|list| {
                    list.iter()
                        .map(|pair| (pair[0].as_str().unwrap_or("").to_string(), pair[1].clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Ok(LoadReport {
            imports_s: pairs("imports_s")
                .into_iter()
                .map(|(k, v)| (k, v.as_f64().unwrap_or(0.0)))
                .collect(),
            load_s: answer["load_s"].as_f64().unwrap_or(0.0),
            first_call_s: answer["first_call_s"].as_f64(),
            versions: pairs("versions")
                .into_iter()
                .map(|(k, v)| (k, v.as_str().unwrap_or("").to_string()))
                .collect(),
        }))
    }

    /// One call of the loaded kernel: its seconds on the worker's clock. The outputs are then
    /// in their files (read them with [`Worker::read_outputs`]).
    pub fn sample(&mut self) -> Result<f64> {
        let answer = self
            .command(&json!({"cmd": "run"}), "running a sample")
            .map_err(|Missing(module)| Error::Python {
                context: "running a sample".into(),
                message: format!("{module} went missing"),
            })??;
        answer["seconds"]
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| Error::Python {
                context: "running a sample".into(),
                message: format!("no time in its answer {answer}"),
            })
    }

    /// Reads the last sample's outputs into `arrays` (in the order of the call's outputs). An
    /// output file missing or of the wrong length is left unread, so the poisoned output fails
    /// verification.
    pub fn read_outputs(&self, arrays: Vec<ArrayMut<'_>>) -> Result<()> {
        for (mut array, path) in arrays.into_iter().zip(&self.outputs) {
            let Ok(mut file) = std::fs::File::open(path) else {
                continue;
            };
            let bytes = array.bytes_mut();
            let length = file.metadata().map(|m| m.len()).unwrap_or(0);
            if length == bytes.len() as u64 {
                file.read_exact(bytes)
                    .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
            }
        }
        Ok(())
    }

    /// Sends a command that is not one of the above (the GIL experiment) and returns the answer.
    pub fn request(&mut self, command: &Value, context: &str) -> Result<Value> {
        self.command(command, context)
            .map_err(|Missing(module)| Error::Python {
                context: context.into(),
                message: format!("no {module}"),
            })?
    }

    /// `Python 3.11.2 (python3)`.
    pub fn describe(&self) -> String {
        format!(
            "Python {} ({})",
            self.interpreter.python,
            self.program.to_string_lossy()
        )
    }

    fn command(
        &mut self,
        command: &Value,
        context: &str,
    ) -> std::result::Result<Result<Value>, Missing> {
        let line = format!("{command}\n");
        if let Err(error) = self.stdin.write_all(line.as_bytes()) {
            return Ok(Err(self.died(context, &error.to_string())));
        }
        let answer = match self.answer(context) {
            Ok(answer) => answer,
            Err(error) => return Ok(Err(error)),
        };
        match answer["event"].as_str() {
            Some("missing") => Err(Missing(text(&answer, "module"))),
            Some("error") => Ok(Err(Error::Python {
                context: context.into(),
                message: text(&answer, "message"),
            })),
            _ => Ok(Ok(answer)),
        }
    }

    fn answer(&mut self, context: &str) -> Result<Value> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) | Err(_) => Err(self.died(context, "it ended without answering")),
            Ok(_) => serde_json::from_str(&line).map_err(|_| Error::Python {
                context: context.into(),
                message: format!("a garbled answer: {}", line.trim()),
            }),
        }
    }

    /// The error for a worker that stopped answering, with the end of what it wrote to stderr.
    fn died(&mut self, context: &str, what: &str) -> Error {
        let status = self.child.wait().ok();
        // The stderr thread may still be copying the last bytes.
        std::thread::sleep(std::time::Duration::from_millis(50));
        let stderr = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
        let text = String::from_utf8_lossy(&stderr);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        let mut message = what.to_string();
        if let Some(status) = status.filter(|s| !s.success()) {
            message.push_str(&format!(" ({status})"));
        }
        if !last.is_empty() {
            message.push_str(&format!(": {last}"));
        }
        Error::Python {
            context: context.into(),
            message,
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.stdin.write_all(b"{\"cmd\": \"quit\"}\n");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// A module the worker could not import.
struct Missing(String);

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or("").to_string()
}
