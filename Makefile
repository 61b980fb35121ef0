# deepfake-course: `make demo` runs the pipeline on the sample data, `make test` runs every test and notebook.
# Both create .venv and install on first use. DEEPFAKE_DATA_MIRROR (a local copy of the data) is used
# when set (or found at ../shared/data); otherwise the sample data is downloaded from its pinned public
# URLs, sha256-checked.

PYTHON ?= python3
# A local copy of the sample data beside the clone (as in CI and offline classrooms) is used when present.
ifeq ($(DEEPFAKE_DATA_MIRROR),)
ifneq ($(wildcard ../shared/data/SHA256SUMS),)
export DEEPFAKE_DATA_MIRROR := $(abspath ../shared/data)
endif
endif
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NB_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=600

.PHONY: setup data demo test test-fast test-slow lab lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install --quiet -e ".[dlib,dev]"
	$(PY) -m pip install --quiet --no-deps "face_recognition==1.3.0"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

data: setup
	$(PY) -m deepfake_utils data --identity George_W_Bush --identity Colin_Powell

demo: setup
	$(PY) -m deepfake_utils demo --out-dir out/demo

test: setup
	DEEPFAKE_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest tests notebooks $(NB_FLAGS)

test-fast: setup
	DEEPFAKE_QUICK=1 $(PY) -m pytest tests

# The demo's targets on the sample data (a working swap within its training budget): about 10 minutes.
test-slow: setup
	$(PY) -m pytest tests -m slow

bench: setup
	$(PY) -m deepfake_utils.bench extract
	$(PY) -m deepfake_utils.bench train
	$(PY) -m deepfake_utils.bench convert

lab: setup
	$(VENV)/bin/jupyter lab notebooks

lint: setup
	$(VENV)/bin/ruff check deepfake_utils tests scripts notebooks

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -prune -exec rm -rf {} +
