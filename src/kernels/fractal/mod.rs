//! Escape-time fractals: `mandelbrot` and `julia`, one kernel body for both.
//!
//! Each pixel of an n × n grid is a complex point p. The iteration z ← z² + c runs until
//! |z| > 2 or `max_iter` iterations; the pixel's value is the number of iterations done. The
//! Mandelbrot set starts at z = 0 with c = p; the Julia set starts at z = p with a fixed c. That
//! is the only difference, so [`Set`] picks the start and everything else ([`Grid`], the four
//! backends in `cpu.rs` and `gpu.rs`, the shader `shaders/fractal.wgsl`, the Python rungs in
//! `python/kernels/escape.py`) exists once. `--window X0,X1,Y0,Y1` moves the grid over the
//! plane and `--c RE,IM` sets the Julia constant; every record carries the sum of the counts
//! as its `checksum`.
//!
//! Divergent, compute-bound work and rows of very different cost: the lessons of labs 2 and 3.
//! Every backend runs the same f32 operations in the same order with no fused multiply-add (see
//! [`ITERATION`]), so the backends agree bit for bit; verification still allows a small, stated
//! fraction of pixels to differ, for a driver that rounds differently.

pub mod cpu;
mod gpu;

use crate::backend::{Backend, CpuLoop};
use crate::cpu::AlignedVec;
use crate::error::Result;
use crate::gpu::GpuContext;
use crate::kernels::{
    Cost, CostModel, Footprint, GpuRun, Items, Kernel, KernelInfo, KernelOption, KernelOptions,
    Picture, Problem, Variant, Verification,
};
use crate::python::{ArrayMut, Dtype, OutputSpec, PythonCall};
use rayon::prelude::*;

/// Iteration cap when `--max-iter` is not given.
pub const DEFAULT_MAX_ITER: u32 = 256;

/// The constant c of the Julia set when `--c` is not given.
pub const JULIA_C: (f32, f32) = (-0.8, 0.156);

/// Gorelick & Ozsvald's Julia constant (*High Performance Python*, ch. 2): with
/// `--window -1.8,1.8,-1.8,1.8 --max-iter 300 --size 1000` it draws the book's figure.
pub const BOOK_JULIA_C: (f32, f32) = (-0.62772, -0.42193);

/// Useful flops of one full iteration: 3 multiplies (x·x, y·y, x·y) and 5 additions or
/// subtractions (x² + y² for the test, x² − y², + cx, xy + xy, + cy). Compares are not counted.
pub const FLOPS_PER_ITERATION: u64 = 8;

/// Flops of the escape test that ends an escaping pixel (x·x, y·y, x² + y²).
pub const FLOPS_PER_ESCAPE: u64 = 3;

/// At most one pixel in this many may differ from the reference (see [`VERIFICATION`]).
pub const MISMATCH_DENOMINATOR: u64 = 1000;

/// At most one pixel in this many of any one row may differ: boundary points that round
/// differently are scattered, while a row a shader skipped, left stale or wrote at the wrong y
/// differs in most of its pixels (at n ≥ 1000 a whole row is within the overall 0.1%).
pub const ROW_MISMATCH_DENOMINATOR: u64 = 10;

/// The iteration every backend runs, written once here as the definition (the reference, the
/// scalar and SIMD loops and the shader each spell it out, in this order of operations):
///
/// ```text
/// for count in 0..max_iter:
///     x2 = x*x;  y2 = y*y
///     if x2 + y2 > 4: return count        // escaped
///     xy = x*y
///     x = (x2 - y2) + cx
///     y = (xy + xy) + cy
/// return max_iter                          // never escaped: inside the set (as far as we know)
/// ```
///
/// No fused multiply-add: `f32::mul_add` on the baseline x86-64 target is a library call, SSE2
/// has no FMA, and an FMA in one backend and not another changes counts at boundary points.
/// Rust never contracts `a*b + c` on its own, and the SIMD loop calls `mul` and `add`, never
/// `mul_add`. WGSL lets a driver fuse and reassociate (naga emits no `NoContraction`), and
/// lavapipe was measured to turn `(x2 − y2) + cx` into `(x2 + cx) − y2`: the shader passes each
/// intermediate through `exact()`, an integer XOR with a runtime zero that no compiler can see
/// through (one integer operation per intermediate, five per iteration).
pub const ITERATION: &str = "x2 = x·x, y2 = y·y; escape if x2 + y2 > 4; x ← (x2 − y2) + cx, y ← (xy + xy) + cy; f32, no FMA";

/// Which escape-time set: the only thing that differs between the two kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    /// z₀ = 0, c = the pixel's point; default window x ∈ [−2.0, 0.6], y ∈ [−1.3, 1.3].
    Mandelbrot,
    /// z₀ = the pixel's point, c fixed (default −0.8 + 0.156i, `--c`); default window
    /// [−1.6, 1.6]².
    Julia,
}

impl Set {
    /// The default window `[x_min, x_max, y_min, y_max]` (square, so pixels are square);
    /// `--window` replaces it.
    pub fn window(self) -> [f64; 4] {
        match self {
            Set::Mandelbrot => [-2.0, 0.6, -1.3, 1.3],
            Set::Julia => [-1.6, 1.6, -1.6, 1.6],
        }
    }

    /// Its name, as the kernel's.
    pub fn name(self) -> &'static str {
        match self {
            Set::Mandelbrot => "mandelbrot",
            Set::Julia => "julia",
        }
    }
}

/// One image: the set, the grid of n × n pixel centres over its window, the Julia constant and
/// the cap.
///
/// Column `col` lies at x = (col + a)·step_x and row `row` at y = (b − row)·step_y (row 0 at
/// the top). `a`, `b` and the steps are rounded to f32 once, here; every backend, the shader
/// included, computes the coordinates from them with the same two f32 operations. The image is
/// always n × n: a window that is not square makes pixels that are not square.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Which set.
    pub set: Set,
    /// Pixels per side.
    pub n: usize,
    /// Iteration cap; the count of a point that never escapes.
    pub max_iter: u32,
    /// Column offset: x_min / step_x + ½ (pixel centres).
    pub a: f32,
    /// Row offset: y_max / step_y − ½.
    pub b: f32,
    /// Width of one pixel.
    pub step_x: f32,
    /// Height of one pixel.
    pub step_y: f32,
    /// The Julia set's constant c (unused by the Mandelbrot set, whose c is the pixel).
    pub c: (f32, f32),
}

impl Grid {
    /// The grid of `set` at `n` pixels per side (n ≥ 1) with cap `max_iter`, over the set's
    /// default window, with the default Julia constant.
    pub fn new(set: Set, n: usize, max_iter: u32) -> Grid {
        Grid::over(set, n, max_iter, set.window(), JULIA_C)
    }

    /// The grid over `window` = `[x_min, x_max, y_min, y_max]` (x_min < x_max, y_min < y_max,
    /// finite: see [`parse_window`]) with Julia constant `c`.
    pub fn over(set: Set, n: usize, max_iter: u32, window: [f64; 4], c: (f32, f32)) -> Grid {
        let [x_min, x_max, y_min, y_max] = window;
        let step_x = (x_max - x_min) / n.max(1) as f64;
        let step_y = (y_max - y_min) / n.max(1) as f64;
        Grid {
            set,
            n: n.max(1),
            max_iter,
            a: (x_min / step_x + 0.5) as f32,
            b: (y_max / step_y - 0.5) as f32,
            step_x: step_x as f32,
            step_y: step_y as f32,
            c,
        }
    }

    /// x of column `col`'s centre.
    #[inline(always)]
    pub fn x(&self, col: usize) -> f32 {
        (col as f32 + self.a) * self.step_x
    }

    /// y of row `row`'s centre.
    #[inline(always)]
    pub fn y(&self, row: usize) -> f32 {
        (self.b - row as f32) * self.step_y
    }

    /// `(z₀, c)` for the pixel at point `(x, y)`.
    #[inline(always)]
    pub fn start(&self, x: f32, y: f32) -> ((f32, f32), (f32, f32)) {
        match self.set {
            Set::Mandelbrot => ((0.0, 0.0), (x, y)),
            Set::Julia => ((x, y), self.c),
        }
    }

    /// Pixels in the image (saturating: a size whose n² overflows fails at allocation instead
    /// of wrapping to a small image; the CLI refuses such sizes before any work).
    pub fn pixels(&self) -> usize {
        self.n.saturating_mul(self.n)
    }
}

/// The reference escape count of one point: a plain function written apart from the backends
/// (a `for` with an early return), with exactly [`ITERATION`]'s f32 operations in its order.
pub fn reference_count(z: (f32, f32), c: (f32, f32), max_iter: u32) -> u32 {
    let (mut re, mut im) = z;
    for done in 0..max_iter {
        let re_squared = re * re;
        let im_squared = im * im;
        if re_squared + im_squared > 4.0 {
            return done;
        }
        let product = re * im;
        re = re_squared - im_squared + c.0;
        im = product + product + c.1;
    }
    max_iter
}

/// The same iteration as [`reference_count`] in f64, operation for operation: the reference of
/// the pure-Python rung, which computes in Python floats (f64) and whose counts differ from the
/// f32 ones at boundary points.
pub fn reference_count_f64(z: (f64, f64), c: (f64, f64), max_iter: u32) -> u32 {
    let (mut re, mut im) = z;
    for done in 0..max_iter {
        let re_squared = re * re;
        let im_squared = im * im;
        if re_squared + im_squared > 4.0 {
            return done;
        }
        let product = re * im;
        re = re_squared - im_squared + c.0;
        im = product + product + c.1;
    }
    max_iter
}

/// Parses `--c RE,IM`: two finite numbers (finite as f32, the precision the kernels use).
pub fn parse_c(text: &str) -> std::result::Result<[f64; 2], String> {
    let values = parse_numbers(text, 2, "RE,IM")?;
    Ok([values[0], values[1]])
}

/// Parses `--window X0,X1,Y0,Y1`: four finite numbers with X0 < X1 and Y0 < Y1 (in f32, the
/// precision the kernels use).
pub fn parse_window(text: &str) -> std::result::Result<[f64; 4], String> {
    let v = parse_numbers(text, 4, "X0,X1,Y0,Y1")?;
    if (v[0] as f32) >= (v[1] as f32) || (v[2] as f32) >= (v[3] as f32) {
        return Err(format!(
            "the window needs X0 < X1 and Y0 < Y1, got x from {} to {} and y from {} to {}",
            v[0], v[1], v[2], v[3]
        ));
    }
    Ok([v[0], v[1], v[2], v[3]])
}

/// `count` comma-separated numbers, each finite in f32.
fn parse_numbers(text: &str, count: usize, shape: &str) -> std::result::Result<Vec<f64>, String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if parts.len() != count {
        return Err(format!(
            "expected {shape} ({count} comma-separated numbers)"
        ));
    }
    parts
        .iter()
        .map(|part| match part.parse::<f64>() {
            Ok(value) if (value as f32).is_finite() => Ok(value),
            Ok(_) => Err(format!("{part} is not a finite f32 number")),
            Err(_) => Err(format!("'{part}' is not a number (expected {shape})")),
        })
        .collect()
}

const SIZE_MEANING: &str = "n = pixels per side of an n × n image (n² pixels, one u32 count each). \
    Default 1024; e.g. --size 2048 for the performance figures";

const COST_MODEL: CostModel = CostModel {
    device_bytes: "4·n² (the u32 counts, written once; the iteration lives in registers)",
    flops: "8·I + 3·E, where I = the reference's total iteration count and E = its escaped \
            pixels (data-dependent: counted once the reference is computed in prepare). One \
            iteration = 3 mul + 5 add/sub; an escaping pixel's last test = 2 mul + 1 add; \
            compares not counted; work of idle SIMD lanes and GPU threads not counted",
    upload_bytes: "0 (window, c and cap go in a 48-byte uniform per chunk, written at set-up)",
    download_bytes: "4·n²",
};

const SCALAR_LOOP: &str = "not vectorized: the inner loop has a data-dependent exit (each pixel stops \
    when it escapes), so the compiler keeps one pixel at a time, one dependent chain; the SIMD \
    version iterates 3 registers of pixels together under masks until no lane is active";

/// The verification rule shared by both kernels.
pub const VERIFICATION: &str = "counts equal to the reference (an independent plain f32 function, \
    same operations in the same order, computed once in prepare) at all but at most floor(n²/1000) \
    pixels (0.1%), and at most floor(n/10) in any one row (boundary points are scattered; a wrong row is \
    not), each of which may differ by any amount. The backends are built to agree bit for \
    bit (no FMA anywhere; the shader hides each intermediate from the GPU compiler) and do, on every \
    CPU instruction set and on lavapipe. The slack admits a few boundary points on a driver that \
    rounds differently (one ulp sends a point near the boundary onto another orbit, which may \
    escape much earlier or later); a compiler that reorders the iteration fails (without the \
    barriers lavapipe changed 0.2% of Mandelbrot and 1% of Julia pixels). An f64 reference would \
    differ from every f32 backend at boundary points, so it is not the reference. The Python rungs: \
    numpy and numba iterate in f32 in the same order (no FMA, no fastmath) and are checked against \
    the f32 reference; pure Python iterates in Python floats (f64), so its counts are checked, with \
    the same allowances, against a second reference computed in Rust in f64 with the same \
    operations in the same order from the same f32 grid values";

const MANDELBROT_INFO: KernelInfo = KernelInfo {
    name: "mandelbrot",
    summary: "escape-time counts of z ← z² + c from z = 0, c = pixel, over x ∈ [−2, 0.6], \
              y ∈ [−1.3, 1.3] (--window X0,X1,Y0,Y1); compute-bound and divergent",
    reference: "the escape-time loop of Gorelick & Ozsvald, High Performance Python, ch. 2 and 7 \
                (there the Julia set); Mandelbrot set",
    size_meaning: SIZE_MEANING,
    cost_model: COST_MODEL,
    scalar_loop: SCALAR_LOOP,
    verification: VERIFICATION,
};

const JULIA_INFO: KernelInfo = KernelInfo {
    name: "julia",
    summary: "escape-time counts of z ← z² + c from z = pixel, c = −0.8 + 0.156i (--c RE,IM), \
              over [−1.6, 1.6]² (--window X0,X1,Y0,Y1); the book's figure: --c=-0.62772,-0.42193 \
              --window=-1.8,1.8,-1.8,1.8 --max-iter 300 --size 1000; compute-bound and divergent",
    reference: "Gorelick & Ozsvald, High Performance Python, ch. 2 (profiling the Julia set) and \
                ch. 7 (compiling it)",
    size_meaning: SIZE_MEANING,
    cost_model: COST_MODEL,
    scalar_loop: SCALAR_LOOP,
    verification: VERIFICATION,
};

/// The rayon schedule with one task per row (work stealing).
pub const ROWS: Variant = Variant {
    name: "rows",
    summary: "one task per row, stolen by idle threads: balances rows of very different cost",
    default: true,
};

/// The rayon schedule with one block of rows per thread (static).
pub const BLOCKS: Variant = Variant {
    name: "blocks",
    summary: "one contiguous block of rows per thread (a static schedule): the thread with \
              the costly rows finishes last",
    default: false,
};

static RAYON_VARIANTS: [Variant; 2] = [ROWS, BLOCKS];

/// One of the two escape-time kernels.
pub struct Fractal(pub Set);

/// The Mandelbrot kernel.
pub static MANDELBROT: Fractal = Fractal(Set::Mandelbrot);

/// The Julia-set kernel.
pub static JULIA: Fractal = Fractal(Set::Julia);

impl Kernel for Fractal {
    fn default_size(&self) -> u64 {
        // a 1024 × 1024 picture.
        1024
    }

    fn info(&self) -> &KernelInfo {
        match self.0 {
            Set::Mandelbrot => &MANDELBROT_INFO,
            Set::Julia => &JULIA_INFO,
        }
    }

    /// Without the data the iteration count is unknown: this assumes every pixel runs
    /// [`DEFAULT_MAX_ITER`] iterations (an upper bound). `hpclab run` uses the prepared
    /// problem's exact count ([`Problem::cost`]).
    fn cost(&self, n: u64) -> Cost {
        let pixels = n.saturating_mul(n);
        Cost {
            device_bytes: pixels.saturating_mul(4),
            flops: pixels.saturating_mul(FLOPS_PER_ITERATION * DEFAULT_MAX_ITER as u64),
            upload_bytes: 0,
            download_bytes: pixels.saturating_mul(4),
            items: Some(Items {
                count: pixels,
                unit: "pixels",
            }),
        }
    }

    fn footprint(&self, n: u64) -> Footprint {
        let bytes = n.saturating_mul(n).saturating_mul(4);
        Footprint {
            // The output and the reference.
            host_bytes: bytes.saturating_mul(2),
            largest_gpu_buffer_bytes: bytes,
            // The counts, their readback buffer, and the per-chunk uniforms (small).
            gpu_bytes: bytes.saturating_mul(2).saturating_add(64 * 1024),
            working_set_bytes: bytes,
        }
    }

    fn native_variants(&self, backend: Backend) -> &'static [Variant] {
        match backend {
            Backend::Rayon => &RAYON_VARIANTS,
            _ => &[],
        }
    }

    fn options(&self) -> &'static [KernelOption] {
        match self.0 {
            Set::Mandelbrot => &[
                KernelOption::MaxIter,
                KernelOption::Window,
                KernelOption::Image,
            ],
            Set::Julia => &[
                KernelOption::MaxIter,
                KernelOption::Window,
                KernelOption::C,
                KernelOption::Image,
            ],
        }
    }

    fn check_gpu(
        &self,
        _n: u64,
        options: &KernelOptions,
        _variant: Option<&'static Variant>,
        gpu: &GpuContext,
    ) -> Result<()> {
        let max_iter = options.max_iter.unwrap_or(DEFAULT_MAX_ITER);
        gpu.check_loop_trips(
            max_iter as u64,
            &format!("--max-iter {max_iter}: a pixel that never escapes"),
            |cap| format!("use --max-iter {cap} or less"),
        )
    }

    fn prepare(&self, n: usize, _seed: u64, options: &KernelOptions) -> Box<dyn Problem> {
        let max_iter = options.max_iter.unwrap_or(DEFAULT_MAX_ITER);
        let window = options.window.unwrap_or(self.0.window());
        let c = options.c.map_or(JULIA_C, |[re, im]| (re as f32, im as f32));
        Box::new(FractalProblem::new(Grid::over(
            self.0, n, max_iter, window, c,
        )))
    }
}

/// The counts of one image, with the reference they are checked against.
pub struct FractalProblem {
    grid: Grid,
    output: AlignedVec<u32>,
    reference: Vec<u32>,
    /// Sum of the reference's counts.
    iterations: u64,
    /// Pixels of the reference that escaped (count < max_iter).
    escaped: u64,
    /// The f64 reference of the pure-Python rung, made the first time that rung runs.
    reference_f64: Option<Vec<u32>>,
    /// True while the output came from the pure-Python rung: it is checked against
    /// `reference_f64`.
    check_f64: bool,
}

/// Written into the output by `clear_output`: larger than any count (max_iter ≤ 10^6).
const POISON: u32 = u32::MAX;

impl FractalProblem {
    /// Computes the reference (rows in parallel in the current pool, [`reference_count`] per
    /// pixel) and allocates the poisoned output.
    pub fn new(grid: Grid) -> Self {
        let n = grid.n;
        let mut reference = vec![0u32; grid.pixels()];
        reference
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(row, line)| {
                let y = grid.y(row);
                for (col, count) in line.iter_mut().enumerate() {
                    let (z, c) = grid.start(grid.x(col), y);
                    *count = reference_count(z, c, grid.max_iter);
                }
            });
        let (iterations, escaped) = reference
            .par_iter()
            .map(|&count| (count as u64, (count < grid.max_iter) as u64))
            .reduce(|| (0, 0), |p, q| (p.0 + q.0, p.1 + q.1));
        FractalProblem {
            grid,
            output: AlignedVec::filled(grid.pixels(), POISON),
            reference,
            iterations,
            escaped,
            reference_f64: None,
            check_f64: false,
        }
    }

    /// The counts of [`reference_count_f64`] over the same grid: the coordinates from the same
    /// f32 `a`, `b` and steps, widened, with the two operations of [`Grid::x`] and [`Grid::y`]
    /// in f64 (as the pure-Python rung computes them), and c widened from f32.
    pub fn reference_f64(grid: &Grid) -> Vec<u32> {
        let n = grid.n;
        let (a, b) = (grid.a as f64, grid.b as f64);
        let (step_x, step_y) = (grid.step_x as f64, grid.step_y as f64);
        let julia_c = (grid.c.0 as f64, grid.c.1 as f64);
        let mut reference = vec![0u32; grid.pixels()];
        reference
            .par_chunks_mut(n)
            .enumerate()
            .for_each(|(row, line)| {
                let y = (b - row as f64) * step_y;
                for (col, count) in line.iter_mut().enumerate() {
                    let x = (col as f64 + a) * step_x;
                    let (z, c) = match grid.set {
                        Set::Mandelbrot => ((0.0, 0.0), (x, y)),
                        Set::Julia => ((x, y), julia_c),
                    };
                    *count = reference_count_f64(z, c, grid.max_iter);
                }
            });
        reference
    }

    /// The image's grid.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The counts of the last run, row-major.
    pub fn output(&self) -> &[u32] {
        &self.output
    }

    /// The reference counts, row-major.
    pub fn reference(&self) -> &[u32] {
        &self.reference
    }

    /// The exact cost of this image: flops from the reference's iteration count.
    pub fn exact_cost(&self) -> Cost {
        let pixels = self.grid.pixels() as u64;
        Cost {
            device_bytes: 4 * pixels,
            flops: FLOPS_PER_ITERATION * self.iterations + FLOPS_PER_ESCAPE * self.escaped,
            upload_bytes: 0,
            download_bytes: 4 * pixels,
            items: Some(Items {
                count: pixels,
                unit: "pixels",
            }),
        }
    }
}

impl Problem for FractalProblem {
    fn kernel(&self) -> &'static dyn Kernel {
        match self.grid.set {
            Set::Mandelbrot => &MANDELBROT,
            Set::Julia => &JULIA,
        }
    }

    fn run_loop(&mut self, form: CpuLoop, variant: Option<&'static Variant>) {
        self.check_f64 = false;
        let (grid, out) = (&self.grid, &mut self.output[..]);
        match form {
            CpuLoop::Scalar => cpu::scalar(grid, out),
            CpuLoop::Simd => cpu::simd(grid, out),
            CpuLoop::Rayon if variant == Some(&BLOCKS) => cpu::rayon_blocks(grid, out),
            CpuLoop::Rayon => cpu::rayon_rows(grid, out),
        }
    }

    fn gpu_run<'a>(
        &'a mut self,
        context: &'a GpuContext,
        _variant: Option<&'static Variant>,
    ) -> Result<Box<dyn GpuRun + 'a>> {
        self.check_f64 = false;
        gpu::run(self, context)
    }

    fn verify(&self) -> Verification {
        let reference = match (self.check_f64, &self.reference_f64) {
            (true, Some(reference)) => reference,
            _ => &self.reference,
        };
        check_counts(&self.output, reference, self.grid.n)
    }

    fn checksum(&self) -> Option<u64> {
        Some(self.output.par_iter().map(|&count| count as u64).sum())
    }

    /// The grid as numbers (the f32 values widened to f64, which JSON carries exactly), so that
    /// every rung computes the pixel coordinates as [`Grid::x`] and [`Grid::y`] do; no inputs.
    fn python_call(&self) -> PythonCall<'_> {
        let grid = &self.grid;
        PythonCall {
            params: serde_json::json!({
                "set": grid.set.name(),
                "n": grid.n,
                "max_iter": grid.max_iter,
                "a": grid.a as f64,
                "b": grid.b as f64,
                "step_x": grid.step_x as f64,
                "step_y": grid.step_y as f64,
                "c": [grid.c.0 as f64, grid.c.1 as f64],
            }),
            inputs: Vec::new(),
            outputs: vec![OutputSpec::new("counts", &[grid.n, grid.n], Dtype::Uint32)],
        }
    }

    /// numpy and numba iterate in f32 like the compiled backends: the f32 reference. Pure
    /// Python iterates in f64: the f64 reference (made here, once, outside every timed call).
    fn python_outputs(
        &mut self,
        rung: Backend,
        _variant: Option<&'static Variant>,
    ) -> Vec<ArrayMut<'_>> {
        self.check_f64 = rung == Backend::Python;
        if self.check_f64 && self.reference_f64.is_none() {
            self.reference_f64 = Some(FractalProblem::reference_f64(&self.grid));
        }
        vec![ArrayMut::Uint32(&mut self.output)]
    }

    fn clear_output(&mut self) {
        self.output.fill(POISON);
    }

    fn cost_of(&self, _variant: Option<&'static Variant>) -> Option<Cost> {
        Some(self.exact_cost())
    }

    fn picture(&self) -> Option<Picture> {
        let max_iter = self.grid.max_iter;
        let scale = (1.0 + max_iter as f32).ln();
        // log(1 + count) spreads the many low counts far from the set; points inside the set
        // (count = max_iter) are NaN, painted black.
        let values = self
            .output
            .iter()
            .map(|&count| {
                if count >= max_iter {
                    f32::NAN
                } else {
                    (1.0 + count as f32).ln() / scale
                }
            })
            .collect();
        Some(Picture {
            width: self.grid.n,
            height: self.grid.n,
            values,
        })
    }
}

/// Compares counts pixel by pixel (in parallel) under [`VERIFICATION`]'s rule.
pub fn check_counts(output: &[u32], reference: &[u32], n: usize) -> Verification {
    let pixels = reference.len() as u64;
    let allowed = pixels / MISMATCH_DENOMINATOR;
    // (mismatches, largest difference, first mismatch as (index, got, expected))
    type Tally = (u64, u64, Option<(usize, u32, u32)>);
    let (mismatches, largest, first): Tally = output
        .par_iter()
        .zip(reference.par_iter())
        .enumerate()
        .map(|(i, (&got, &want))| {
            let bad = got != want;
            let first = bad.then_some((i, got, want));
            (bad as u64, got.abs_diff(want) as u64, first)
        })
        .reduce(
            || (0, 0, None),
            |x, y| {
                (
                    x.0 + y.0,
                    x.1.max(y.1),
                    crate::kernels::verify::earlier(x.2, y.2),
                )
            },
        );
    // An output of the wrong length (never expected) counts every missing pixel as wrong.
    let mismatches = mismatches + pixels.saturating_sub(output.len() as u64);
    let row_allowed = n as u64 / ROW_MISMATCH_DENOMINATOR;
    // (mismatches, row) of the row with the most.
    let (row_mismatches, worst_row) = output
        .par_chunks(n.max(1))
        .zip(reference.par_chunks(n.max(1)))
        .enumerate()
        .map(|(row, (got, want))| {
            let bad = got.iter().zip(want).filter(|(g, w)| g != w).count() as u64;
            (bad, row)
        })
        .reduce(|| (0, 0), |x, y| if y.0 > x.0 { y } else { x });
    let passed = mismatches <= allowed && row_mismatches <= row_allowed;
    Verification {
        passed,
        rule: VERIFICATION.to_string(),
        checked: pixels,
        mismatches,
        worst_error_ratio: [(mismatches, allowed), (row_mismatches, row_allowed)]
            .into_iter()
            .map(|pair| match pair {
                (0, _) => 0.0,
                (_, 0) => f64::INFINITY,
                (m, a) => m as f64 / a as f64,
            })
            .fold(0.0, f64::max),
        relative_error: None,
        first_mismatch: first.map(|(i, got, want)| {
            format!(
                "pixel (row {}, col {}): got {got}, expected {want}; {mismatches} of {pixels} pixels differ \
                 (allowed {allowed}), by at most {largest} iterations; {row_mismatches} in row {worst_row} \
                 (allowed {row_allowed})",
                i / n.max(1),
                i % n.max(1)
            )
        }),
        note: None,
    }
}
