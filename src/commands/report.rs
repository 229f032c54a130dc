//! `hpclab report --out DIR`: a fixed suite of runs and experiments — what a student hands in.
//! Each step is an ordinary hpclab command line, shown in the report so anyone can rerun it;
//! `HPCLAB_MAX_SIZE` caps every size so the whole suite can run quickly anywhere.

use super::mpi::ReportSession;
use super::{Measure, gil, latency, roofline, run, scaling, sweep, transfer};
use crate::Outcome;
use crate::cli::{Cli, Command, ReportArgs};
use crate::environment::{Environment, environment_warnings};
use crate::error::{Error, Result};
use crate::experiments::devices::Devices;
use crate::files::{self, StagedFolder};
use crate::report::{Document, Exporter, html, markdown::MarkdownExporter, summary};
use clap::Parser;
use std::path::Path;

/// The suite: (file name, title, command line). Sizes are capped by `HPCLAB_MAX_SIZE`.
pub const SUITE: [(&str, &str, &str); 18] = [
    (
        "ladder-triad",
        "The points of attack: triad from pure Python to the GPU, each rung's step",
        "hpclab run triad --backend ladder --size 4Mi --runs 3",
    ),
    (
        "ladder-julia",
        "The points of attack on a compute-bound kernel: the Julia set",
        "hpclab run julia --backend ladder --size 400 --runs 3",
    ),
    (
        "run-triad",
        "Bandwidth: STREAM triad on every backend (the cache or memory its data lives in marked)",
        "hpclab run triad --runs 5",
    ),
    (
        "run-dot",
        "A reduction: dot on every backend",
        "hpclab run dot --runs 5",
    ),
    (
        "run-mandelbrot",
        "Compute-bound and divergent: Mandelbrot",
        "hpclab run mandelbrot --size 1024 --runs 3",
    ),
    (
        "run-matmul",
        "Matrix product: blocking, tiling, a tuned library",
        "hpclab run matmul --size 512 --runs 3",
    ),
    (
        "run-stencil",
        "Diffusion: the field resident on the GPU or round-tripped",
        "hpclab run stencil --size 512 --steps 20 --residency both --runs 3",
    ),
    (
        "run-nbody",
        "All-pairs n-body",
        "hpclab run nbody --size 4096 --runs 3",
    ),
    (
        "run-histogram",
        "Contention: histogram with global and private bins",
        "hpclab run histogram --variant all --runs 3",
    ),
    (
        "run-reduce",
        "Summation strategies: speed and accuracy",
        "hpclab run reduce --runs 3",
    ),
    ("run-pi", "Monte Carlo π", "hpclab run pi --runs 3"),
    (
        "sweep-triad",
        "Triad across sizes: caches and the GPU break-even",
        "hpclab sweep triad --sizes 1Ki..64Mi --runs 3",
    ),
    (
        "scaling-triad",
        "Shared-memory scaling of triad",
        "hpclab scaling triad --size 32Mi --runs 3",
    ),
    (
        "scaling-mandelbrot",
        "Shared-memory scaling of a compute-bound kernel",
        "hpclab scaling mandelbrot --size 1024 --runs 3",
    ),
    (
        "transfer",
        "Host↔device transfers",
        "hpclab transfer --max 256Mi --runs 3",
    ),
    ("latency", "Launch latency", "hpclab latency --runs 20"),
    (
        "gil",
        "Python threads, processes and the GIL",
        "hpclab gil julia --runs 3",
    ),
    (
        "roofline",
        "The roofline",
        "hpclab roofline --size 4Mi --runs 3",
    ),
];

/// The MPI steps, in a build with MPI (`--features mpi`): the report's own process starts MPI
/// alone and spawns the workers (on a machine of few cores, allow oversubscription:
/// `OMPI_MCA_rmaps_base_oversubscribe=1 hpclab report …`).
#[cfg(feature = "mpi")]
pub const MPI_SUITE: [(&str, &str, &str); 2] = [
    (
        "mpi-spawn",
        "Starting processes while a job runs (MPI_Comm_spawn) against mpirun starting them",
        "hpclab mpi spawn --workers 1..2 --runs 3",
    ),
    (
        "mpi-farm",
        "A master–worker task farm: static blocks, round-robin and dynamic schedules",
        "hpclab mpi farm --workers 2 --size 1024 --rows 1,16,128 --runs 3",
    ),
];

/// No MPI steps in a build without MPI.
#[cfg(not(feature = "mpi"))]
pub const MPI_SUITE: [(&str, &str, &str); 0] = [];

/// Every step this build runs: the suite, then the MPI steps.
pub fn steps() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    SUITE.into_iter().chain(MPI_SUITE)
}

/// The document of a checked configuration, measured.
fn measured<A, C: Measure<A>>(args: &A, line: String) -> Result<Box<dyn Document>> {
    Ok(Box::new(C::from_args(args)?.document(line)?))
}

/// Runs one step's command line and returns its document; `mpi` holds MPI for the MPI steps.
fn step(line: &str, mpi: &mut ReportSession) -> Result<Box<dyn Document>> {
    let cli = Cli::try_parse_from(line.split_whitespace())
        .map_err(|e| Error::usage(format!("suite step '{line}': {e}")))?;
    let line = line.to_string();
    match cli.command {
        Command::Run(args) => measured::<_, run::RunConfig>(&args, line),
        Command::Sweep(args) => measured::<_, sweep::SweepConfig>(&args, line),
        Command::Scaling(args) => measured::<_, scaling::ScalingConfig>(&args, line),
        Command::Transfer(args) => measured::<_, transfer::TransferConfig>(&args, line),
        Command::Latency(args) => measured::<_, latency::LatencyConfig>(&args, line),
        Command::Roofline(args) => measured::<_, roofline::RooflineConfig>(&args, line),
        Command::Gil(args) => measured::<_, gil::GilConfig>(&args, line),
        Command::Mpi(args) => mpi.document(&args, line),
        _ => Err(Error::usage(format!(
            "suite step '{line}' is not a measuring command"
        ))),
    }
}

/// One step of the suite, run: its document (or why it could not run), the document's JSON
/// and figure, both already written into the report's folder.
struct Step {
    name: &'static str,
    title: &'static str,
    line: &'static str,
    document: Result<Box<dyn Document>>,
    json: Option<serde_json::Value>,
    /// Each figure's file name and SVG text.
    svgs: Vec<(String, String)>,
}

impl Step {
    /// Runs `line` and writes `NAME.json` and `NAME.svg` with `write`.
    fn run(
        name: &'static str,
        title: &'static str,
        line: &'static str,
        write: &impl Fn(&str, &str) -> Result<()>,
        mpi: &mut ReportSession,
    ) -> Result<Step> {
        let document = step(line, mpi);
        let (mut json, mut svgs) = (None, Vec::new());
        if let Ok(document) = &document {
            let value = document.json()?;
            let text = serde_json::to_string_pretty(&value)
                .map_err(|e| Error::io("encoding JSON", std::io::Error::other(e)))?;
            write(&format!("{name}.json"), &(text + "\n"))?;
            for (suffix, chart) in document.charts() {
                let (file, svg) = (format!("{name}{suffix}.svg"), chart.svg()?);
                write(&file, &svg)?;
                svgs.push((file, svg));
            }
            json = Some(value);
        }
        Ok(Step {
            name,
            title,
            line,
            document,
            json,
            svgs,
        })
    }

    fn verified(&self) -> bool {
        self.document.as_ref().is_ok_and(|d| d.verified())
    }
}

/// The report's own files: report.md, report.html and each step's JSON and SVG.
fn written_by_a_report(name: &str) -> bool {
    name == "report.md"
        || name == "report.html"
        || steps().any(|(step, _, _)| {
            name.strip_prefix(step)
                .is_some_and(|rest| [".json", ".svg", "-bandwidth.svg"].contains(&rest))
        })
}

/// How the finished report goes into `--out`: whole, in place of nothing, an empty folder or an
/// earlier report (`true`); or file by file into a folder of the user's (`--force`, `false`).
/// Refuses a folder of the user's without `--force`.
fn replaces_whole(folder: &Path, force: bool) -> Result<bool> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Ok(true);
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let earlier_report = std::fs::read_to_string(folder.join("report.md"))
        .is_ok_and(|text| text.starts_with("# hpclab report"));
    let foreign = names.iter().find(|name| !written_by_a_report(name));
    match foreign {
        None if names.is_empty() || earlier_report => Ok(true),
        _ if force => Ok(false),
        found => Err(Error::usage(format!(
            "--out {}: holds files that are not an hpclab report ({}); choose a new folder, or \
             --force to add the report's files to it (others are left as they are)",
            folder.display(),
            found.map_or("no report.md", String::as_str)
        ))),
    }
}

/// Runs the suite and writes the report.
pub fn execute(args: &ReportArgs) -> Result<Outcome> {
    let staged = StagedFolder::new("--out", &args.out)?;
    let whole = replaces_whole(&args.out, args.force)?;
    let folder = staged.path();
    let write = |name: &str, text: &str| files::write(&folder.join(name), text.as_bytes());
    let machine = Devices::detect(None);
    // Which build, where and when: said once here, for every section below.
    let environment = Environment::capture(rayon::current_num_threads(), None);
    let mut provenance = environment.provenance_lines();
    provenance.extend(
        environment_warnings(&environment)
            .iter()
            .map(|w| format!("warning: {w}")),
    );
    let steps = {
        let mut steps = Vec::new();
        let mut mpi = ReportSession::default();
        let count = self::steps().count();
        for (step_index, (name, title, line)) in self::steps().enumerate() {
            eprintln!("hpclab report: step {}/{count}: {line}", step_index + 1);
            steps.push(Step::run(name, title, line, &write, &mut mpi)?);
        }
        steps
        // MPI (the MPI steps' session) is finalised here, before the report is written.
    };
    let measured: Vec<(&str, &serde_json::Value)> = steps
        .iter()
        .filter_map(|step| Some((step.name, step.json.as_ref()?)))
        .collect();
    let mut summary = summary::summary(&measured);
    let ran: Vec<&Step> = steps.iter().filter(|s| s.document.is_ok()).collect();
    let verified = ran.iter().filter(|s| s.verified()).count();
    summary.push(format!(
        "{} of {} steps ran; {verified} of them verified",
        ran.len(),
        steps.len()
    ));
    let all_verified = verified == ran.len();

    let bullets = |lines: &[String]| {
        lines
            .iter()
            .map(|line| format!("- {line}\n"))
            .collect::<String>()
    };
    let mut markdown = format!(
        "# hpclab report\n\nhpclab {} · {}\n\n{}\n## Summary\n\n{}\n## Machine\n\n{}",
        env!("CARGO_PKG_VERSION"),
        std::env::var("HPCLAB_MAX_SIZE").map_or("full sizes".to_string(), |cap| format!(
            "sizes capped at HPCLAB_MAX_SIZE={cap}"
        )),
        bullets(&provenance),
        bullets(&summary),
        MarkdownExporter.render(&machine)?
    );
    let items = |lines: &[String]| {
        lines
            .iter()
            .map(|line| format!("<li>{}</li>\n", html::escape(line)))
            .collect::<String>()
    };
    let mut seen = html::SeenNotes::new();
    let mut body = format!(
        "<ul>\n{}</ul>\n<section class=\"summary\">\n<h2>Summary</h2>\n<ul>\n{}</ul>\n</section>\n\
         <section>\n<h2>Machine</h2>\n{}</section>\n",
        items(&provenance),
        items(&summary),
        html::document_body(&machine, &mut seen)
    );
    for step in &steps {
        let Step {
            title, line, svgs, ..
        } = step;
        match &step.document {
            Ok(document) => {
                markdown.push_str(&format!(
                    "\n## {title}\n\n`{line}`\n\n{}",
                    MarkdownExporter.render(document.as_ref())?
                ));
                for (file, _) in svgs.iter() {
                    markdown.push_str(&format!("\n![{title}]({file})\n"));
                }
                let inlined: Vec<&str> = svgs.iter().map(|(_, svg)| svg.as_str()).collect();
                body.push_str(&html::section(
                    title,
                    line,
                    document.as_ref(),
                    (!inlined.is_empty()).then(|| inlined.join("\n")).as_deref(),
                    &mut seen,
                ));
            }
            Err(error) => {
                // One step that cannot run here (no GPU for the transfer experiment, say) must
                // not lose the others.
                markdown.push_str(&format!("\n## {title}\n\n`{line}`\n\nnot run: {error}\n"));
                body.push_str(&format!(
                    "<section><h2>{}</h2><p><code>{}</code></p><p>not run: {}</p></section>\n",
                    html::escape(title),
                    html::escape(line),
                    html::escape(&error.to_string())
                ));
            }
        }
    }
    write("report.md", &markdown)?;
    write("report.html", &html::page("hpclab report", &body))?;
    if whole {
        staged.replace()?;
    } else {
        staged.merge_into()?;
    }
    eprintln!(
        "hpclab: wrote {}/report.md and report.html",
        args.out.display()
    );
    Ok(if all_verified {
        Outcome::Success
    } else {
        Outcome::VerificationFailed
    })
}
