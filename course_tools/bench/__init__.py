"""A side-by-side benchmark: the original lecture's CIFAR-10 pipeline against the course's default path.

Run it from the repository root::

    python -m course_tools.bench              # full run: 3 epochs of each pipeline (minutes)
    python -m course_tools.bench --quick      # throughput only (under a minute)
    python -m course_tools.bench --help       # every flag

In ONE run, on the same machine, with the same model (``LectureConvNet``), the
same data and the same seed, it measures

- **the original pipeline**, with its own loop, as the original lecture wrote it
  (``original.py``): torchvision's CIFAR10 with per-image transforms, a
  ``DataLoader`` of batches of 4 with 2 worker processes, Adam 1e-3;
- **the course's default path** (``course.py``): ``cu.make_loaders`` +
  ``cu.train`` + ``cu.evaluate`` after each epoch;

and reports, for each, the training throughput (images/s), the test accuracy
after each epoch, the time to the target accuracy (55 % by default; the rule is
in ``results.py``), and their ratios; the machine's matmul peak and the share
of it each pipeline reaches (``machine.py``, ``model.py``); CIFAR-10's load
time to ready tensors, first and cached; and with ``--nbval`` the fast-mode
nbval time of the whole notebook series (``nbval.py``). The results go to the
terminal and to a JSON file (``--json``, default ``bench-results.json``).

``python -m course_tools.bench.sweep`` compares training settings of the course
path (batch size, memory layout, bfloat16, threads, in-place ReLU, Adam
variants), interleaved in one run.

The modules: ``options`` (flags and checks), ``model`` (the ConvNet and the
FLOP count), ``machine`` (facts, peak, clocks), ``original``, ``course``,
``results`` (time to target, ratios, JSON), ``report`` (the text), ``nbval``,
``run`` (one run, start to end), ``sweep``.
"""
from course_tools.bench.model import FlopCount, LectureConvNet, count_flops
from course_tools.bench.original import OfflineCIFAR10
from course_tools.bench.results import time_to_target

__all__ = ["FlopCount", "LectureConvNet", "OfflineCIFAR10", "count_flops", "time_to_target"]
