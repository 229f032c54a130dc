"""hpclab's Python worker: runs one kernel's Python rung (python, numpy or numba) for hpclab.

hpclab starts this process, writes the inputs as raw little-endian files and sends one JSON
command per line on stdin; the worker answers one JSON line per command on stdout:

  (start)                      -> {"event": "ready", "python": "3.11.2", ...}
  {"cmd": "load", ...}         -> {"event": "loaded", "imports_s": [[module, s], ...],
                                   "load_s": s, "first_call_s": s or null,
                                   "versions": [[module, version], ...]}
  {"cmd": "run"}               -> {"event": "sample", "seconds": s}   (the kernel call alone)
  {"cmd": "gil-load", ...}     -> as load, for one mode of the GIL experiment (gil.py)
  {"cmd": "gil-run", "workers": k} -> {"event": "sample", "seconds": s, "start_s": s or null,
                                       "busiest_s": s or null}
  {"cmd": "quit"} or EOF       -> exit 0

A module that is missing answers {"event": "missing", "module": name}; any other failure
{"event": "error", "message": ...}. The worker times only the kernel call with
time.perf_counter; hpclab decides how many samples to take and verifies every output.
"""

import array
import importlib
import json
import os
import sys
import sysconfig
import time
import traceback

# The element types hpclab sends, as the stdlib array module's type codes (no NumPy needed for
# the pure-Python rung).
TYPECODES = {"float32": "f", "float64": "d", "uint32": "I", "uint8": "B"}

FIRST_CALLED = set()


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def read_list(spec):
    values = array.array(TYPECODES[spec["dtype"]])
    with open(spec["path"], "rb") as file:
        values.frombytes(file.read())
    return values.tolist()


def read_numpy(np, spec):
    return np.fromfile(spec["path"], dtype=spec["dtype"]).reshape(spec["shape"])


def write_output(spec, value, np):
    """Writes one result to its file, in the declared type and element count."""
    count = 1
    for extent in spec["shape"]:
        count *= extent
    if np is not None and isinstance(value, np.ndarray):
        flat = np.ascontiguousarray(value, dtype=spec["dtype"]).reshape(-1)
        data = flat.tobytes()
        length = flat.size
    else:
        if not isinstance(value, (list, tuple, array.array)):
            value = [value]
        packed = array.array(TYPECODES[spec["dtype"]], value)
        data = packed.tobytes()
        length = len(packed)
    if length != count:
        raise ValueError(f"output {spec['name']} has {length} elements, hpclab expects {count}")
    temporary = spec["path"] + ".writing"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, spec["path"])


class Loaded:
    """One kernel's rung, loaded: its runner and where its outputs go."""

    def __init__(self, command):
        self.outputs = command["outputs"]
        self.rung = command["rung"]
        self.np = None
        imports = []
        versions = []
        if self.rung in ("numpy", "numba"):
            start = time.perf_counter()
            self.np = import_module("numpy")
            imports.append(["numpy", time.perf_counter() - start])
            versions.append(["numpy", self.np.__version__])
        if self.rung == "numba":
            start = time.perf_counter()
            numba = import_module("numba")
            imports.append(["numba", time.perf_counter() - start])
            versions.append(["numba", numba.__version__])
        self.imports_s = imports
        self.versions = versions
        start = time.perf_counter()
        module = importlib.import_module("kernels." + command["kernel"])
        makers = module.RUNGS
        if self.rung not in makers:
            raise ValueError(f"{command['kernel']} has no {self.rung} rung")
        if self.rung == "python":
            inputs = {spec["name"]: read_list(spec) for spec in command["inputs"]}
        else:
            inputs = {spec["name"]: read_numpy(self.np, spec) for spec in command["inputs"]}
        self.run = makers[self.rung](inputs, command["params"], command.get("variant"))
        self.load_s = time.perf_counter() - start
        # Numba compiles on the first call: timed apart (the JIT lesson), once per process.
        self.first_call_s = None
        key = (command["kernel"], self.rung, command.get("variant"))
        if self.rung == "numba" and key not in FIRST_CALLED:
            start = time.perf_counter()
            self.run()
            self.first_call_s = time.perf_counter() - start
            FIRST_CALLED.add(key)

    def sample(self):
        for spec in self.outputs:
            try:
                os.remove(spec["path"])
            except FileNotFoundError:
                pass
        # A rung that computes into an output it allocated once poisons it first (untimed), so
        # that a call which writes nothing cannot pass on the previous call's result.
        clear = getattr(self.run, "clear", None)
        if clear is not None:
            clear()
        start = time.perf_counter()
        result = self.run()
        seconds = time.perf_counter() - start
        if not isinstance(result, dict):
            result = {self.outputs[0]["name"]: result}
        for spec in self.outputs:
            write_output(spec, result[spec["name"]], self.np)
        return seconds


class Missing(Exception):
    def __init__(self, module):
        super().__init__(module)
        self.module = module


def import_module(name):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise Missing(name) from error


def ready():
    gil_disabled = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    gil_enabled = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    return {
        "event": "ready",
        "python": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "free_threaded": gil_disabled and not gil_enabled,
    }


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    answer(ready())
    loaded = None
    gil = gil_output = None
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            if command["cmd"] == "load":
                loaded = None
                loaded = Loaded(command)
                answer(
                    {
                        "event": "loaded",
                        "imports_s": loaded.imports_s,
                        "load_s": loaded.load_s,
                        "first_call_s": loaded.first_call_s,
                        "versions": loaded.versions,
                    }
                )
            elif command["cmd"] == "run":
                answer({"event": "sample", "seconds": loaded.sample()})
            elif command["cmd"] == "gil-load":
                gil = None
                gil = import_module("gil").GilRun(command)
                gil_output = command["outputs"][0]
                answer(
                    {
                        "event": "loaded",
                        "imports_s": gil.imports_s,
                        "load_s": 0.0,
                        "first_call_s": gil.first_call_s,
                        "versions": [],
                    }
                )
            elif command["cmd"] == "gil-run":
                try:
                    os.remove(gil_output["path"])
                except FileNotFoundError:
                    pass
                image, seconds, timings = gil.sample(command["workers"])
                write_output(gil_output, image, gil.np)
                answer({"event": "sample", "seconds": seconds, **timings})
            elif command["cmd"] == "quit":
                break
            else:
                raise ValueError(f"unknown command {command['cmd']!r}")
        except Missing as missing:
            answer({"event": "missing", "module": missing.module})
        except ModuleNotFoundError as error:
            answer({"event": "missing", "module": error.name})
        except MemoryError:
            answer({"event": "error", "message": "out of memory in the Python worker"})
        except Exception as error:  # noqa: BLE001 - every failure goes back to hpclab as one line
            last = traceback.extract_tb(error.__traceback__)[-1]
            where = f"{os.path.basename(last.filename)}:{last.lineno}"
            answer({"event": "error", "message": f"{type(error).__name__}: {error} ({where})"})


if __name__ == "__main__":
    main()
