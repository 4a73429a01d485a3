"""The benchmark's results as text for the terminal (the same numbers as the JSON file).

Example:
    >>> percent(0.5731)
    '57.3 %'
"""
from __future__ import annotations


def percent(share: float | None) -> str:
    return "—" if share is None else f"{100 * share:.1f} %"


def _time_to_target(pipeline: dict, target: float, quick: bool) -> str:
    if quick:
        return "—"
    reached = pipeline["time_to_target"]
    if reached is None:
        return f"not reached ({len(pipeline['epochs'])} epochs)"
    return f"{reached['seconds']:.1f} s (epoch {reached['epoch']})"


def _accuracies(pipeline: dict) -> str:
    values = [e["test_accuracy"] for e in pipeline["epochs"]]
    if any(v is None for v in values):
        return "— (quick)"
    return ", ".join(f"{100 * v:.1f}" for v in values) + " %"


def _machine_lines(result: dict) -> list[str]:
    m, peak, model = result["machine"], result["peak"], result["model"]
    flags = f" ({', '.join(m['cpu_flags'])})" if m["cpu_flags"] else ""
    device = m["device"] + (f" = {m['gpu']}" if m["gpu"] else "")
    load = m["load_average"]
    load_text = "" if load is None else (f" | load average {load[0]:.1f} at start, "
                                         f"{result['load_average_end'][0]:.1f} at end")
    bf16 = peak["bfloat16_gflops"]
    return [
        f"machine: {m['cpu']}, {m['cpu_count']} CPUs{flags} | torch {m['torch']}, {m['torch_threads']} threads | "
        f"device {device}{load_text}",
        f"matmul peak ({peak['size']}² matrices, best of {peak['repeats']}): float32 {peak['float32_gflops']:.0f} "
        f"GFLOP/s, bfloat16 " + ("not native here" if bf16 is None else f"{bf16:.0f} GFLOP/s"),
        f"model: {model['name']}, {model['parameters']:,} parameters; {model['forward_flops'] / 1e6:.1f} MFLOP "
        f"forward and {model['train_flops'] / 1e6:.1f} MFLOP per training image (conv + linear layers; "
        f"3 × forward − the first layer's input gradient)",
    ]


def format_report(result: dict) -> str:
    """All figures and ratios of one run, as lines of text."""
    quick = result["mode"] == "quick"
    target = result["target"]
    loading = result["loading"]
    what = (f"quick run: throughput only, {result['options']['warmup_batches']} warm-up batches then a fixed "
            f"number of batches" if quick else f"full run: up to {result['options']['epochs']} epochs each")
    lines = [f"course_utils benchmark — {what} — {result['started']}", *_machine_lines(result), ""]
    lines.append(f"CIFAR-10 from local files to ready tensors ({loading['what']}), best of {loading['repeats']}:")
    lines.append(f"  first load (decode + write cache) {loading['first_seconds']:.2f} s | "
                 f"cached {loading['cached_seconds']:.2f} s")
    lines.append("")
    header = (f"{'pipeline':<9} {'batch':>5} {'setup':>7} {'images/s':>9} {'GFLOP/s':>8} {'of fp32':>8} "
              f"{'of bf16':>8}  {'test accuracy by epoch':<24} time to {100 * target:g} %")
    lines += [header, "-" * len(header)]
    for name, p in result["pipelines"].items():
        lines.append(f"{name:<9} {p['batch_size']:>5} {p['setup_seconds']:>6.2f}s {p['images_per_second']:>9,.0f} "
                     f"{p['achieved_gflops']:>8.1f} {percent(p['share_of_float32_peak']):>8} "
                     f"{percent(p['share_of_bfloat16_peak']):>8}  {_accuracies(p):<24} "
                     f"{_time_to_target(p, target, quick)}")
    ratios = result["ratios"]
    lines += ["", f"course / original: images/s {ratios['images_per_second']:.1f}× | time to {100 * target:g} %: "
                  f"{ratios['time_to_target_text']}"]
    if not quick:
        lines += ["", "per epoch (seconds of training + test evaluation):"]
        for name, p in result["pipelines"].items():
            cells = [f"{e['epoch']}: {e['train_seconds']:.1f} + {e['eval_seconds']:.1f}" for e in p["epochs"]]
            lines.append(f"  {name:<9} " + " | ".join(cells))
    lines += ["", "what was compared:"]
    for name, p in result["pipelines"].items():
        lines.append(f"  {name}: {p['description']}")
    lines += [f"  {note}" for note in result["notes"]]
    if result["nbval"] is not None:
        n = result["nbval"]
        lines += ["", f"nbval, fast mode, {n['notebooks']} lecture notebooks: {n['seconds']:.0f} s "
                      f"(exit status {n['returncode']}; {n['summary']})", f"  {n['command']}"]
    return "\n".join(lines)
