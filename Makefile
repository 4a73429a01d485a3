# Two commands set everything up on a fresh Linux machine with Python 3.10+:
#   make lab    - create/update the virtual environment and open the course in JupyterLab
#   make test   - create/update the virtual environment and run every test (unit tests + notebooks)
# Both are safe to run again: the environment is only reinstalled when pyproject.toml changes.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.course-installed

# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k plotting"`.
PYTEST_ARGS ?=
# Extra JupyterLab arguments, e.g. `make lab LAB_ARGS="--no-browser --port 8899"`.
# JupyterLab refuses to run as root (containers, cloud machines) unless told to.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test venv live live-check clean-venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10+ is needed, found " + sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

lab: venv
	$(VENV)/bin/jupyter lab $(LAB_ARGS) notebooks/

# Unit tests and every lecture notebook (nbval, fast mode), in parallel by file.
# One torch thread per worker: pytest-xdist already runs one worker per core.
# Notebook 07 runs on a generated, clearly labelled synthetic stand-in when the
# real Sign-Language MNIST files are not in the data directory.
test: venv
	COURSE_FAST=1 COURSE_SYNTHETIC_FALLBACK=1 OMP_NUM_THREADS=1 $(PY) -m pytest -n auto --dist loadfile \
	    --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
	    tests notebooks/[0-9][0-9]-*.ipynb $(PYTEST_ARGS)

# Regenerate the live twins (and the Colab badges/install cells) from the lecture notebooks.
live: venv
	$(PY) -m course_utils.live

live-check: venv
	$(PY) -m course_utils.live --check

clean-venv:
	rm -rf $(VENV)
