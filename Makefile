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

.PHONY: setup data demo test test-fast test-slow test-colab lab lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install --quiet -e ".[dlib,dev]"
	$(PY) -m pip install --quiet --no-deps "face_recognition==1.3.0"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

data: setup
	$(PY) -m deepfake_utils data --all

demo: setup
	$(PY) -m deepfake_utils demo --out-dir out/demo

test: setup
	DEEPFAKE_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest tests notebooks $(NB_FLAGS)

test-fast: setup
	DEEPFAKE_QUICK=1 $(PY) -m pytest tests

# The unit tests (not the notebooks) in a second venv with Colab's current library versions
# (ci/colab-constraints.txt says where they come from): catches code that needs newer libraries than Colab has.
COLAB_VENV ?= .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed

$(COLAB_STAMP): pyproject.toml ci/colab-constraints.txt
	$(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(COLAB_VENV)/bin/python -m pip install --quiet -c ci/colab-constraints.txt -e ".[dlib]" "pytest>=8" nbformat
	$(COLAB_VENV)/bin/python -m pip install --quiet --no-deps "face_recognition==1.3.0"
	touch $(COLAB_STAMP)

test-colab: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -c "import skimage, tensorflow, numpy, cv2, dlib; \
	print('colab versions: scikit-image', skimage.__version__, '| tensorflow', tensorflow.__version__, \
	'| numpy', numpy.__version__, '| opencv', cv2.__version__, '| dlib', dlib.__version__)"
	DEEPFAKE_QUICK=1 MPLBACKEND=Agg $(COLAB_VENV)/bin/python -m pytest tests

# The demo's targets on the sample data (a working swap within its training budget): about 8 minutes.
test-slow: setup
	$(PY) -m pytest tests -m slow

bench: setup
	$(PY) -m deepfake_utils.bench extract
	$(PY) -m deepfake_utils.bench extract-cli
	$(PY) -m deepfake_utils.bench train
	$(PY) -m deepfake_utils.bench convert

lab: setup
	$(VENV)/bin/jupyter lab notebooks

lint: setup
	$(VENV)/bin/ruff check deepfake_utils tests scripts notebooks

clean:
	rm -rf $(VENV) $(COLAB_VENV) out .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -prune -exec rm -rf {} +
