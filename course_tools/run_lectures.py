"""Run lecture notebooks top to bottom on the real data and save them as JupyterLab would.

This is how the committed outputs are made. For each notebook named (default: every
lecture but 07, whose real Sign-Language MNIST files the build machine cannot download;
name it to run it where they are) it

1. starts a fresh ``python3`` kernel in ``notebooks/`` (as "Restart kernel and run all"
   does), with fast mode and the synthetic stand-in switched off;
2. runs every cell in order; an error stops the run and nothing is written;
3. writes the notebook in the form JupyterLab 4 saves it (kernelspec display name
   "Python 3 (ipykernel)", the kernel's ``language_info``, no widget state, whole
   numbers as a browser writes them), so opening and saving it later changes nothing;
4. prints the wall time of each notebook.

Usage (from the repository root)::

    .venv/bin/python -m course_tools.run_lectures                     # every lecture with real data
    .venv/bin/python -m course_tools.run_lectures 05-convolution 06-activations-and-features

The file is replaced only after a complete run (written to a temporary name, then
renamed), so an interrupted run leaves the committed notebook as it was.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbclient
import nbformat

from course_tools.live.twin import KERNELSPEC   # the kernelspec JupyterLab 4 writes

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
OFF = ("COURSE_FAST", "COURSE_SYNTHETIC_FALLBACK", "COURSE_LIVE_OUTPUT")


def as_javascript_writes_it(value: object) -> object:
    """JSON as a browser writes it: JavaScript has one number type, so 938.0 becomes 938."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: as_javascript_writes_it(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_javascript_writes_it(item) for item in value]
    return value


def run(path: Path, timeout: int) -> float:
    """Execute the notebook at ``path`` in place; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                     store_widget_state=False, resources={"metadata": {"path": str(path.parent)}})
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
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
        print(f"{path.name}: running ...", flush=True)
        seconds = run(path, args.timeout)
        print(f"{path.name}: {seconds:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
