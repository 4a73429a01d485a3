#!/usr/bin/env python3
"""The GPU check (`make gpu-check`): what a machine with a CUDA GPU can tell us about the course, in one JSON file.

Without CUDA it says so and exits 0. With CUDA it runs, each step in its own process with
its own time limit, inside a total budget of 10 minutes (an H100 needs far less):

1. ``tests``      the CUDA-only tests (``pytest -m cuda``: every test skipped without CUDA);
2. ``precision``  cu.train's automatic precision and layout on this GPU (bfloat16 where the GPU
                  has it), then float16 with a GradScaler forced (what a Colab T4 uses), and
                  float32 as the baseline: lecture 05's ConvNet, 2 epochs each on the real CIFAR-10,
                  images/s and validation accuracy;
3. ``05``, ``08`` lectures 05 and 08 in full, on the real data, in a fresh kernel: wall time and
                  accuracies (the executed copies go next to the JSON file; the committed
                  notebooks are not touched);
4. ``bench``      the benchmark, ``--quick`` (throughput of the original pipeline and the course's,
                  under a minute): its full mode (3 epochs of each, time to 55 %) would not fit in
                  the budget beside lecture 08.

Before all this it builds CIFAR-10 into ``data/`` from ``../shared/data`` (or ``shared/data``)
when it is not there (GPU machines have no internet). The JSON file is rewritten after every
step, so a run that is cut short still leaves what it measured.

Usage: ``python .ci/gpu_check.py [--json PATH] [--budget SECONDS]`` (default file:
``$OUT/gpu-check.json`` when ``OUT`` is set, else ``gpu-check-results.json``; git-ignored).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The benchmark's command line (change it here if the benchmark moves).
BENCH = [sys.executable, "-m", "course_tools.bench"]
#: Total seconds for all steps; each step also has its own cap (seconds) and gets at most what is left.
BUDGET = 600
CAPS = {"tests": 150, "precision": 120, "05": 180, "08": 420, "bench": 90}
LECTURES = {"05": "05-convolution", "08": "08-training-a-convnet-well"}

#: The lecture variables that LECTURE_RESULTS reads (tests/test_gpu_check.py checks that each lecture makes them).
LECTURE_VARIABLES = {"05": ("result", "test_result", "seconds", "history"),
                     "08": ("final_validation", "final_test", "final_seconds", "settings", "results")}
#: Code run at the end of each lecture, in its kernel, to read its results.
LECTURE_RESULTS = {
    "05": """{"validation accuracy": result.accuracy, "test accuracy": test_result.accuracy,
              "training seconds": seconds, "settings": history.attrs["settings"]}""",
    "08": """{"final validation accuracy (TTA)": final_validation.accuracy, "test accuracy (TTA)": final_test.accuracy,
              "final run seconds": final_seconds, "final run settings": settings,
              "ablation": {str(run): {k: float(v) for k, v in row.items()} for run, row in results.items()}}""",
}

PRECISION_CHECK = """
import json, time, torch
import torch.nn.functional as F
from torch import nn
import course_utils as cu

class ConvNet(nn.Module):          # lecture 05's network
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(3, 100, 5), nn.Conv2d(100, 50, 3), nn.Conv2d(50, 20, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.fc2, self.fc3 = nn.Linear(80, 80), nn.Linear(80, 40), nn.Linear(40, 10)
    def forward(self, x):
        for conv in (self.conv1, self.conv2, self.conv3):
            x = self.pool(F.relu(conv(x)))
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))

train_loader, val_loader, _ = cu.make_loaders("cifar10", batch_size=128, validation=5_000, device="cuda")
found = {"gpu": torch.cuda.get_device_name(0), "bfloat16 supported": torch.cuda.is_bf16_supported()}
for name, options in [("auto", {}), ("float16 + GradScaler (forced, as on a T4)", {"precision": "float16"}),
                      ("float32", {"precision": "float32", "channels_last": False})]:
    cu.seed_everything(0)
    model = ConvNet().cuda()
    history = cu.train(model, train_loader, epochs=2, lr=2e-3, validation=val_loader, progress=False, **options)
    seconds = history.attrs["seconds"]
    found[name] = {"settings": history.attrs["settings"], "seconds": seconds,
                   "images per second": 2 * len(train_loader.dataset) / seconds,
                   "validation accuracy": float(history["val_accuracy"].dropna().iloc[-1]),
                   "finite loss": bool(history["loss"].notna().all())}
print("@@result@@" + json.dumps(found))
"""


def write_json(results: dict, path: Path) -> None:
    """Write ``results`` to ``path`` completely or not at all (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(results, indent=2, default=str) + "\n")
    os.replace(temporary, path)


def machine() -> dict:
    import torch

    found = {"python": platform.python_version(), "torch": str(torch.__version__), "cuda available": torch.cuda.is_available(),
             "cpu cores": os.cpu_count(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    if torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        found.update({"gpu": torch.cuda.get_device_name(0), "gpu memory (GiB)": round(properties.total_memory / 2**30, 1),
                      "compute capability": f"{properties.major}.{properties.minor}", "cuda": torch.version.cuda,
                      "bfloat16 supported": torch.cuda.is_bf16_supported()})
    return found


def run_step(command: list[str], limit: float, cwd: Path = REPO, env: dict | None = None) -> dict:
    """Run one step's command with a time limit; its status, seconds and the end of its output.

    The step runs in its own process group, and a step that runs out of time is killed with all
    its children (a lecture's kernel too), so that it leaves nothing running on the GPU.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=max(limit, 1))
        status = "passed" if process.returncode == 0 else f"failed (exit {process.returncode})"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        status = f"timed out after {limit:.0f} s"
    return {"status": status, "seconds": round(time.perf_counter() - started, 1), "output": (output or "")[-4000:]}


def result_line(output: str) -> dict | None:
    """The JSON a step printed after ``@@result@@``, if any."""
    lines = [line for line in output.splitlines() if line.startswith("@@result@@")]
    return json.loads(lines[-1][len("@@result@@"):]) if lines else None


def lecture_command(name: str, out_folder: Path) -> list[str]:
    """A Python command that runs lecture ``name`` in full in a fresh kernel and prints its results."""
    code = textwrap.dedent(f"""
        import json, time, nbclient, nbformat
        path = {str(REPO / "notebooks" / (LECTURES[name] + ".ipynb"))!r}
        nb = nbformat.read(path, as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell("import json as _json\\nprint('@@result@@' + _json.dumps(" +
                                                  {LECTURE_RESULTS[name]!r} + ", default=str))"))
        client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                         resources={{"metadata": {{"path": {str(REPO / "notebooks")!r}}}}})
        started = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - started
        nbformat.write(nb, {str(out_folder / (LECTURES[name] + ".ipynb"))!r})
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
        found = json.loads(text.split("@@result@@")[-1])
        found["wall seconds"] = round(seconds, 1)
        print("@@result@@" + json.dumps(found))
    """)
    return [sys.executable, "-c", code]


def build_cifar10() -> str:
    """Make sure data/cifar-10-batches-py exists; say where it came from."""
    if (REPO / "data" / "cifar-10-batches-py" / "test_batch").is_file():
        return "already there"
    for shared in (REPO.parent / "shared", REPO / "shared"):
        script = shared / "data" / "build_cifar10.py"
        if script.is_file():
            subprocess.run([sys.executable, str(script), "data"], cwd=REPO, check=True)
            return f"built from {script}"
    raise FileNotFoundError("CIFAR-10 is not in data/ and no shared/data/build_cifar10.py was found beside or in the "
                            "repository (this machine has no internet to download it)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = Path(os.environ["OUT"]) / "gpu-check.json" if os.environ.get("OUT") else REPO / "gpu-check-results.json"
    parser.add_argument("--json", type=Path, default=default, help="where to write the results (default %(default)s)")
    parser.add_argument("--budget", type=float, default=BUDGET, help="seconds for all steps together (default %(default)s)")
    args = parser.parse_args(argv)

    import torch

    results = {"machine": machine(), "steps": {}}
    if not torch.cuda.is_available():
        print(f"gpu-check: no CUDA GPU here (torch {torch.__version__}, torch.cuda.is_available() is False): "
              f"nothing to check. Run it on a machine with an NVIDIA GPU.")
        results["skipped"] = "no CUDA GPU"
        write_json(results, args.json)
        print(f"gpu-check: wrote {args.json}")
        return 0

    print(f"gpu-check on {results['machine']['gpu']} (torch {torch.__version__}, CUDA {torch.version.cuda})", flush=True)
    results["cifar10"] = build_cifar10()
    notebooks = args.json.parent / "gpu-check-notebooks"
    notebooks.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_FAST", "COURSE_SYNTHETIC_FALLBACK")}
    env.update({"COURSE_LIVE_OUTPUT": "0", "COURSE_DATA_DIR": str(REPO / "data"),
                "COURSE_CHECKPOINT_DIR": tempfile.mkdtemp(prefix="gpu-check-checkpoints-")})
    steps = [
        ("tests", [sys.executable, "-m", "pytest", "-q", "-m", "cuda", "-rs", "-p", "no:cacheprovider", "tests"]),
        ("precision", [sys.executable, "-c", PRECISION_CHECK]),
        ("05", lecture_command("05", notebooks)),
        ("08", lecture_command("08", notebooks)),
        ("bench", [*BENCH, "--quick", "--device", "cuda", "--json", str(args.json.parent / "gpu-check-bench.json")]),
    ]
    started = time.perf_counter()
    for name, command in steps:
        left = args.budget - (time.perf_counter() - started)
        if left < 10:
            results["steps"][name] = {"status": "not run: the time budget was spent"}
        else:
            print(f"== {name} (at most {min(CAPS[name], left):.0f} s)", flush=True)
            results["steps"][name] = step = run_step(command, min(CAPS[name], left), env=env)
            found = result_line(step["output"])
            if found is not None:
                step["results"] = found
            if name == "bench" and (args.json.parent / "gpu-check-bench.json").is_file():
                step["results"] = json.loads((args.json.parent / "gpu-check-bench.json").read_text())
            print(f"   {step['status']} in {step['seconds']} s" + (f": {json.dumps(found)[:600]}" if found else ""),
                  flush=True)
        results["seconds"] = round(time.perf_counter() - started, 1)
        write_json(results, args.json)
    failed = [name for name, step in results["steps"].items() if step["status"] != "passed"]
    print(f"gpu-check: {len(steps) - len(failed)} of {len(steps)} steps passed in {results['seconds']} s; "
          f"results in {args.json}" + (f"; not passed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
