"""`make gpu-check` (.ci/gpu_check.py), on a machine without a GPU: its no-CUDA path, its JSON, its steps' plumbing.

The steps themselves need a GPU; here they are replaced by stand-ins that print what the real
ones print, so that what is tested is what the script does with them: time limits, the
budget, reading each step's results, and the JSON file written after every step.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import time
import sys
from pathlib import Path

import nbformat
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".ci" / "gpu_check.py"


def load_script():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_without_cuda_it_says_so_writes_the_machine_and_exits_0(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--json", str(tmp_path / "out" / "gpu.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no CUDA GPU here" in done.stdout
    results = json.loads((tmp_path / "out" / "gpu.json").read_text())
    assert results["skipped"] == "no CUDA GPU" and results["steps"] == {}
    assert results["machine"]["cuda available"] is False and results["machine"]["torch"] == str(torch.__version__)


def test_the_default_file_goes_to_OUT_when_it_is_set(tmp_path, monkeypatch):
    gpu_check = load_script()
    monkeypatch.setenv("OUT", str(tmp_path))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert gpu_check.main([]) == 0
    assert json.loads((tmp_path / "gpu-check.json").read_text())["skipped"] == "no CUDA GPU"


def test_with_a_gpu_every_step_runs_in_order_and_its_results_land_in_the_json(tmp_path, monkeypatch):
    gpu_check = load_script()
    monkeypatch.setenv("COURSE_FAST", "1")          # must not reach the steps: they measure the real thing
    calls = []

    def run_step(command, limit, cwd=None, env=None):
        calls.append((command, limit, env))
        index = len(calls)
        written = json.loads((tmp_path / "gpu.json").read_text()) if (tmp_path / "gpu.json").exists() else None
        if index > 1:        # the file was written after the previous step
            assert len(written["steps"]) == index - 1
        return {"status": "passed", "seconds": 2.0,
                "output": f"some output\n@@result@@{json.dumps({'step': index})}\n"}

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu_check, "machine", lambda: {"gpu": "Stand-in GPU (not real)", "cuda available": True})
    monkeypatch.setattr(gpu_check, "build_cifar10", lambda: "already there")
    monkeypatch.setattr(gpu_check, "run_step", run_step)
    assert gpu_check.main(["--json", str(tmp_path / "gpu.json")]) == 0
    results = json.loads((tmp_path / "gpu.json").read_text())
    assert list(results["steps"]) == ["tests", "precision", "05", "08", "bench"]
    assert [step["results"]["step"] for step in results["steps"].values()][:4] == [1, 2, 3, 4]
    assert all(step["status"] == "passed" for step in results["steps"].values())
    commands = [command for command, _, _ in calls]
    assert commands[0][-6:] == ["-q", "-m", "cuda", "-rs", "-p", "no:cacheprovider", "tests"][-6:]
    assert commands[4][:3] == gpu_check.BENCH and "--quick" in commands[4] and "cuda" in commands[4]
    assert [limit for _, limit, _ in calls] == [gpu_check.CAPS[name] for name in results["steps"]]
    assert all("COURSE_FAST" not in env and env["COURSE_LIVE_OUTPUT"] == "0" for _, _, env in calls)


def test_a_spent_budget_skips_the_rest_and_a_failure_makes_the_exit_code_1(tmp_path, monkeypatch):
    gpu_check = load_script()
    clock = [0.0]

    def run_step(command, limit, cwd=None, env=None):
        clock[0] += limit                      # every step uses all the time it may
        return {"status": f"timed out after {limit:.0f} s", "seconds": limit, "output": ""}

    monkeypatch.setattr(gpu_check.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu_check, "machine", lambda: {"gpu": "Stand-in GPU (not real)"})
    monkeypatch.setattr(gpu_check, "build_cifar10", lambda: "already there")
    monkeypatch.setattr(gpu_check, "run_step", run_step)
    assert gpu_check.main(["--json", str(tmp_path / "gpu.json"), "--budget", "300"]) == 1
    steps = json.loads((tmp_path / "gpu.json").read_text())["steps"]
    assert steps["tests"]["status"] == "timed out after 150 s"
    assert steps["precision"]["status"] == "timed out after 120 s"
    assert steps["05"]["status"] == "timed out after 30 s"                 # only what was left of the 300 s
    assert steps["08"]["status"] == steps["bench"]["status"] == "not run: the time budget was spent"


def test_run_step_reports_passes_failures_and_timeouts():
    gpu_check = load_script()
    passed = gpu_check.run_step([sys.executable, "-c", "print('@@result@@{\"x\": 1}')"], 60)
    assert passed["status"] == "passed" and gpu_check.result_line(passed["output"]) == {"x": 1}
    failed = gpu_check.run_step([sys.executable, "-c", "raise SystemExit(3)"], 60)
    assert failed["status"] == "failed (exit 3)"
    slow = gpu_check.run_step([sys.executable, "-c", "import time; print('started', flush=True); time.sleep(30)"], 1)
    assert slow["status"] == "timed out after 1 s"


def test_write_json_replaces_the_file_whole(tmp_path):
    gpu_check = load_script()
    path = tmp_path / "deep" / "results.json"
    gpu_check.write_json({"a": 1}, path)
    gpu_check.write_json({"a": 2, "path": path}, path)
    assert json.loads(path.read_text()) == {"a": 2, "path": str(path)}
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]


@pytest.mark.parametrize("name", ["05", "08"])
def test_the_names_it_reads_from_each_lecture_are_made_there(name):
    """The results code reads variables of the lecture: a renamed variable must fail here, not on the GPU."""
    gpu_check = load_script()
    notebook = nbformat.read(REPO / "notebooks" / f"{gpu_check.LECTURES[name]}.ipynb", as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    expression = gpu_check.LECTURE_RESULTS[name]
    read = {node.id for node in ast.walk(ast.parse(expression, mode="eval")) if isinstance(node, ast.Name)}
    assert read - {"name", "run", "row", "k", "v", "float", "str"} == set(gpu_check.LECTURE_VARIABLES[name])
    for variable in gpu_check.LECTURE_VARIABLES[name]:
        assert re.search(rf"^\s*{variable}\s*=", code, re.M), f"lecture {name} no longer makes {variable}"
    compile(gpu_check.lecture_command(name, Path("/tmp"))[-1], "lecture command", "exec")
    compile(gpu_check.PRECISION_CHECK, "precision check", "exec")


def test_a_step_out_of_time_is_killed_with_its_children(tmp_path):
    gpu_check = load_script()
    marker = tmp_path / "grandchild.pid"
    code = ("import subprocess, sys, time; "
            f"child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            f"open({str(marker)!r}, 'w').write(str(child.pid)); time.sleep(60)")
    step = gpu_check.run_step([sys.executable, "-c", code], 3)
    assert step["status"] == "timed out after 3 s"
    pid = int(marker.read_text())

    def running() -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"     # (a zombie is dead)
        except FileNotFoundError:
            return False

    deadline = time.monotonic() + 10
    while running():
        assert time.monotonic() < deadline, "the step's child process (a lecture's kernel, say) is still running"
        time.sleep(0.1)
