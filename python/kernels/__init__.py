"""One module per hpclab kernel: its Python rungs (python, numpy, numba), named as the kernel.

Each module has RUNGS, a dict from rung name to a maker: maker(inputs, params, variant) returns a
function of no arguments that computes the kernel once and returns its output (or a dict of
outputs by name). The maker does the untimed preparation (hpclab times only the returned call). A rung that
computes into an output it allocates once (as the compiled backends do) gives its run function a
`clear` attribute that poisons that output; the worker calls it, untimed, before every call.
"""
