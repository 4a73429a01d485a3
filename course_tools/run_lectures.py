"""Run lecture notebooks top to bottom on the real data and save them as JupyterLab would.

This is how the committed outputs are made. For each notebook named (default: every
lecture but 07, whose real Sign-Language MNIST files the build machine cannot download;
name it to run it where they are) it

1. starts a fresh ``python3`` kernel in ``notebooks/`` (as "Restart kernel and run all"
   does), with fast mode and the synthetic stand-in switched off;
2. runs every cell in order; an error stops the run and nothing is written;
3. records the wall time and the machine in the notebook's metadata, under
   ``course_runs`` and the kind of device ("cpu", or "gpu" when a CUDA GPU is there):
   seconds, date (UTC), CPU name and cores, GPU name, torch and Python versions, and the
   load average before and after (a high one means the machine was busy: rerun on an
   idle machine before quoting the time). The lecture's opening sentence "**Running
   time:** ..." must agree with it (tests/test_lecture_time_budgets.py says what to write);
4. writes the notebook in the form JupyterLab 4 saves it (kernelspec display name
   "Python 3 (ipykernel)", the kernel's ``language_info``, no widget state, whole
   numbers as a browser writes them), so opening and saving it later changes nothing;
5. prints the wall time of each notebook.

Checkpoints (``cu.train(..., checkpoint=...)``) go to a temporary folder that is removed
afterwards, so the committed outputs always come from training, never from resuming.

Usage (from the repository root)::

    .venv/bin/python -m course_tools.run_lectures                     # every lecture with real data
    .venv/bin/python -m course_tools.run_lectures 05-convolution 06-activations-and-features

The file is replaced only after a complete run (written to a temporary name, then
renamed), so an interrupted run leaves the committed notebook as it was.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import nbclient
import nbformat

from course_tools.live.twin import KERNELSPEC   # the kernelspec JupyterLab 4 writes

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
OFF = ("COURSE_FAST", "COURSE_SYNTHETIC_FALLBACK", "COURSE_LIVE_OUTPUT")
#: The notebook metadata key under which each run's wall time and machine are kept.
RUNS_KEY = "course_runs"


def as_javascript_writes_it(value: object) -> object:
    """JSON as a browser writes it: JavaScript has one number type, so 938.0 becomes 938."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: as_javascript_writes_it(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_javascript_writes_it(item) for item in value]
    return value


def cpu_name() -> str:
    """The processor's model name (Linux: /proc/cpuinfo), else what the platform module says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def machine_record(seconds: float, load_before: float | None, load_after: float | None) -> tuple[str, dict]:
    """The device kind ("cpu" or "gpu") and what to record about a run that took ``seconds``."""
    import torch

    record = {
        "seconds": round(seconds),
        "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "load_average": [load_before, load_after],
        "source": "python -m course_tools.run_lectures",
    }
    if torch.cuda.is_available():
        record["device"] = torch.cuda.get_device_name(0)
        return "gpu", record
    return "cpu", record


def rounded_duration(seconds: float) -> str:
    """How the opening sentence rounds a wall time: under a minute; whole minutes below 10; then 5-minute steps.

    Example:
        >>> [rounded_duration(s) for s in (10, 74, 157, 295, 1794, 4000)]
        ['under a minute', 'about 1 min', 'about 3 min', 'about 5 min', 'about 30 min', 'about 1 h 05 min']
    """
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes >= 10:
        minutes = 5 * round(seconds / 300)
    return f"about {minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"about {minutes} min"


def running_time_sentence(runs: dict) -> str:
    """The sentence a lecture's first cell must hold, made from its ``course_runs`` metadata.

    Example:
        >>> running_time_sentence({"cpu": {"seconds": 157, "cores": 2, "date": "2026-12-02"}})
        '**Running time:** about 3 min on a 2-core CPU (measured 2026-12-02); not yet measured on a Colab GPU.'
    """
    cpu, gpu = runs.get("cpu"), runs.get("gpu")
    if cpu:
        conditions = f", {cpu['conditions']}" if cpu.get("conditions") else ""
        on_cpu = f"{rounded_duration(cpu['seconds'])} on a {cpu['cores']}-core CPU (measured {cpu['date']}{conditions})"
    else:
        on_cpu = "not yet measured on a CPU"
    if gpu:
        on_gpu = f"{rounded_duration(gpu['seconds'])} on a GPU ({gpu['device']}, measured {gpu['date']})"
    else:
        on_gpu = "not yet measured on a Colab GPU"
    return f"**Running time:** {on_cpu}; {on_gpu}."


def run(path: Path, timeout: int) -> float:
    """Execute the notebook at ``path`` in place; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                     store_widget_state=False, resources={"metadata": {"path": str(path.parent)}})
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="run-lectures-checkpoints-") as checkpoints:
        os.environ["COURSE_CHECKPOINT_DIR"] = checkpoints      # (the kernel inherits this environment)
        try:
            client.execute()
        finally:
            os.environ.pop("COURSE_CHECKPOINT_DIR", None)
    seconds = time.perf_counter() - started
    kind, record = machine_record(seconds, load_before, load_average())
    nb.metadata.setdefault(RUNS_KEY, {})[kind] = record
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)
    data = as_javascript_writes_it(json.loads(nbformat.writes(nb)))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    nbformat.write(nbformat.from_dict(data), temporary)
    temporary.replace(path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_tools.run_lectures", description=__doc__.split("\n\n")[0])
    parser.add_argument("lectures", nargs="*", help="lecture names without .ipynb (default: all but 07)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take (default 3600)")
    args = parser.parse_args(argv)
    for name in OFF:
        os.environ.pop(name, None)
    if args.lectures:
        paths = [NOTEBOOKS / (name if name.endswith(".ipynb") else f"{name}.ipynb") for name in args.lectures]
    else:
        paths = [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")) if not p.name.startswith("07-")]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such lecture: {', '.join(missing)}")
    for path in paths:
        print(f"{path.name}: running ... (load average {load_average()})", flush=True)
        seconds = run(path, args.timeout)
        runs = nbformat.read(path, as_version=4).metadata[RUNS_KEY]
        print(f"{path.name}: {seconds:.0f} s; its first cell must say: {running_time_sentence(runs)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
