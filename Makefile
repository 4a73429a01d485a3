# Two commands set everything up on a fresh Linux machine with Python 3.10+:
#   make lab    - create/update the virtual environment and open the course in JupyterLab
#   make test   - create/update the virtual environment and run every test (unit tests + notebooks)
#   (make test-fast runs the quick part of them, for the edit-and-test loop)
# Both are safe to run again: the environment is only reinstalled when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.course-installed

# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k plotting"`.
PYTEST_ARGS ?=
# Extra JupyterLab arguments, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
LAB_ARGS ?=
# JupyterLab refuses to run as root (containers, cloud machines) unless told to:
# as root, --allow-root is always added, whatever LAB_ARGS says.
LAB_ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test test-fast venv live live-check live-record colab-check gpu-check clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

lab: venv
	$(VENV)/bin/jupyter lab $(LAB_ROOT_ARGS) $(LAB_ARGS) notebooks/

# Unit tests and every lecture notebook (nbval, fast mode), in parallel by file.
# One torch thread per worker: pytest-xdist already runs one worker per core.
# Notebook 07 runs on a generated, clearly labelled synthetic stand-in when the
# real Sign-Language MNIST files are not in the data directory. COURSE_LIVE_OUTPUT=0:
# no outputs that redraw in place (live curves, progress lines), so nbval sees plain text.
test: venv
	COURSE_FAST=1 COURSE_SYNTHETIC_FALLBACK=1 COURSE_LIVE_OUTPUT=0 OMP_NUM_THREADS=1 $(PY) -m pytest -n auto --dist loadfile \
	    --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    tests notebooks/[0-9][0-9]-*.ipynb $(PYTEST_ARGS)

# The edit-and-test loop: the unit tests (one file per module), the fault suite, the live-twin
# check and the claims; not the tests marked slow (lectures, live twins, browser, Jupyter server)
# and not the notebooks under nbval. About two minutes on 2 cores (see docs/measurements.md).
test-fast: venv
	COURSE_FAST=1 COURSE_SYNTHETIC_FALLBACK=1 COURSE_LIVE_OUTPUT=0 OMP_NUM_THREADS=1 $(PY) -m pytest -n auto --dist loadfile \
	    -m "not slow" tests $(PYTEST_ARGS)

# Regenerate the live twins (and the Colab badges/install cells) from the lecture notebooks.
live: venv
	$(PY) -m course_tools.live

live-check: venv
	$(PY) -m course_tools.live --check

# Run every lecture in [tool.course_utils.live] checked (fast mode) and record its self-checks;
# `make live-record LECTURES=03-logistic-regression` records only the lectures named.
live-record: venv
	$(PY) -m course_tools.live --record $(LECTURES)

# Colab as it is (Python 3.13 and Colab's package versions, .ci/colab-pins.txt): installing course_utils as the
# lectures' Colab cell does must change none of them; widget tests and every lecture (nbval, fast mode) run there.
colab-check:
	.ci/colab-check

# On a machine with a CUDA GPU: CUDA-only tests, cu.train's precisions, lectures 05 and 08 in full, the benchmark;
# one JSON file of results (docs/colab.md). Without CUDA it says so and exits 0. Uses .venv when there is one
# (GPU machines without internet bring their own torch).
gpu-check:
	$(if $(wildcard $(PY)),$(PY),$(PYTHON)) .ci/gpu_check.py

clean-venv:
	rm -rf $(VENV)
