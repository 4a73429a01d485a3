"""What the benchmark runs on, how fast its matrix products can go, and a clock that waits for the GPU.

- ``machine_facts``: CPU model, cores, flags that matter (AVX-512 BF16, AMX),
  torch version, torch threads, the device (the GPU's name on CUDA), the load
  average (a busy machine makes every time longer);
- ``matmul_peak``: GFLOP/s of a square matrix product (2048×2048 by default),
  best of a few, in float32 and, where the hardware has native support, bfloat16.
  A 2048² product costs 2 × 2048³ FLOPs. It is the practical ceiling that the
  training pipelines are compared with ("share of the peak");
- ``synchronize`` / ``now``: a GPU runs queued work in the background, so a clock
  read without waiting would measure only how fast work was *queued*. ``now(device)``
  waits for the device first (a no-op on the CPU).

Example:
    >>> now(torch.device("cpu")) > 0
    True
"""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import torch


def synchronize(device: torch.device) -> None:
    """Wait until ``device`` has finished all queued work (only CUDA queues work)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def now(device: torch.device) -> float:
    """``time.perf_counter()`` after waiting for ``device``."""
    synchronize(device)
    return time.perf_counter()


def _cpu_info() -> tuple[str, set[str]]:
    """The CPU's model name and flags from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and not model:
                model = value.strip()
            elif key == "flags" and not flags:
                flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine(), flags


def cpu_has_native_bfloat16() -> bool:
    """True when oneDNN can run bfloat16 in hardware on this CPU (AVX-512 BF16 or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def bfloat16_supported(device: torch.device) -> bool:
    """Native bfloat16 matrix products on ``device``."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bfloat16()


def machine_facts(device: torch.device) -> dict:
    """Plain facts about this machine and this torch, for the report and the JSON file."""
    model, flags = _cpu_info()
    facts = {
        "cpu": model,
        "cpu_count": os.cpu_count(),
        "cpu_flags": sorted(flags & {"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        import torchvision
        facts["torchvision"] = torchvision.__version__
    except ImportError:
        facts["torchvision"] = None
    return facts


def matmul_gflops(device: torch.device, dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of one ``size``×``size`` matrix product in ``dtype``: best of ``repeats`` after a warm-up."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    torch.matmul(a, b)   # warm-up: library start-up, kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = now(device)
        torch.matmul(a, b)
        best = min(best, now(device) - start)
    return 2 * size ** 3 / best / 1e9


def matmul_peak(device: torch.device, size: int = 2048, repeats: int = 5) -> dict:
    """float32 and (where native) bfloat16 GFLOP/s of a square matrix product on ``device``.

    On CUDA, float32 products run in true float32 unless TF32 was switched on
    (``torch.backends.cuda.matmul.allow_tf32``; off by default); that setting is recorded.
    """
    peak = {"size": size, "repeats": repeats,
            "float32_gflops": matmul_gflops(device, torch.float32, size, repeats),
            "bfloat16_gflops": None}
    if bfloat16_supported(device):
        peak["bfloat16_gflops"] = matmul_gflops(device, torch.bfloat16, size, repeats)
    if device.type == "cuda":
        peak["tf32_allowed"] = bool(torch.backends.cuda.matmul.allow_tf32)
    return peak
