//! The Python sources, built into the binary so that hpclab runs its rungs from anywhere; the
//! worker writes them into its scratch folder before it starts the interpreter.

/// `(path relative to the scratch folder, text)` of every Python file the worker needs.
pub const FILES: &[(&str, &str)] = &[
    (
        "hpclab_worker.py",
        include_str!("../../python/hpclab_worker.py"),
    ),
    (
        "kernels/__init__.py",
        include_str!("../../python/kernels/__init__.py"),
    ),
    // The STREAM family, reduce, matmul, histogram.
    (
        "kernels/elementwise.py",
        include_str!("../../python/kernels/elementwise.py"),
    ),
    (
        "kernels/triad.py",
        include_str!("../../python/kernels/triad.py"),
    ),
    (
        "kernels/copy.py",
        include_str!("../../python/kernels/copy.py"),
    ),
    (
        "kernels/scale.py",
        include_str!("../../python/kernels/scale.py"),
    ),
    (
        "kernels/add.py",
        include_str!("../../python/kernels/add.py"),
    ),
    (
        "kernels/dot.py",
        include_str!("../../python/kernels/dot.py"),
    ),
    (
        "kernels/reduce.py",
        include_str!("../../python/kernels/reduce.py"),
    ),
    (
        "kernels/matmul.py",
        include_str!("../../python/kernels/matmul.py"),
    ),
    (
        "kernels/histogram.py",
        include_str!("../../python/kernels/histogram.py"),
    ),
    // The fractals, pi, the stencil, nbody.
    (
        "kernels/escape.py",
        include_str!("../../python/kernels/escape.py"),
    ),
    (
        "kernels/mandelbrot.py",
        include_str!("../../python/kernels/mandelbrot.py"),
    ),
    (
        "kernels/julia.py",
        include_str!("../../python/kernels/julia.py"),
    ),
    ("kernels/pi.py", include_str!("../../python/kernels/pi.py")),
    (
        "kernels/stencil.py",
        include_str!("../../python/kernels/stencil.py"),
    ),
    (
        "kernels/nbody.py",
        include_str!("../../python/kernels/nbody.py"),
    ),
    // The GIL experiment.
    ("gil.py", include_str!("../../python/gil.py")),
];

/// True when `kernel` has a module of Python rungs.
pub fn has_kernel(kernel: &str) -> bool {
    let path = format!("kernels/{kernel}.py");
    FILES.iter().any(|(name, _)| *name == path)
}
