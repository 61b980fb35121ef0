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
# The tested set of versions (ci/constraints.txt); `make setup CONSTRAINTS=` installs the newest releases instead.
CONSTRAINTS ?= ci/constraints.txt
PIP_C := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
# make test runs in TEST_WORKERS processes (pytest-xdist), a test file per process at a time, and the notebooks
# one after another in one process (conftest.py), so that each reuses what the ones before it made, as a learner's
# run does; TensorFlow leaves much of 2 cores idle in a single process.
TEST_WORKERS ?= 2
XDIST := -n $(TEST_WORKERS) --dist loadfile
NB_FLAGS := --nbval-lax --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg --nbval-cell-timeout=600

.PHONY: setup data demo test test-fast test-slow test-colab test-latest test-lowcpu lab lint bench student book book-check book-clean clean

setup: $(STAMP)

# The venv is filled by uv (pinned in the constraints), which unpacks and byte-compiles the wheels (about 1 GB,
# most of it TensorFlow) in parallel: on 2 cores about 0.6x pip's time (`python -m benchmarks.bench install`,
# benchmarks/README.md). `make setup INSTALLER=pip` installs the same versions with pip alone. The venv keeps pip
# for installing by hand; the other venvs below use pip.
INSTALLER ?= uv
ifeq ($(INSTALLER),uv)
INSTALL := $(PY) -m uv pip install --python $(PY) --quiet --compile-bytecode
else ifeq ($(INSTALLER),pip)
INSTALL := $(PY) -m pip install --quiet
else
$(error INSTALLER must be uv or pip, not '$(INSTALLER)')
endif

$(STAMP): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade $(PIP_C) pip "setuptools<81" wheel $(filter uv,$(INSTALLER))
	$(INSTALL) $(PIP_C) -e ".[dlib,dev,teach]"
	$(INSTALL) --no-deps "face_recognition==1.3.0"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

data: setup
	$(PY) -m deepfake_utils data --all

demo: setup
	$(PY) -m deepfake_utils demo --out-dir out/demo

test: setup
	DEEPFAKE_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest $(XDIST) tests notebooks $(NB_FLAGS)

test-fast: setup
	DEEPFAKE_QUICK=1 $(PY) -m pytest tests

# The unit tests (not the notebooks) in a second venv with Colab's current library versions
# (ci/colab-constraints.txt says where they come from): catches code that needs newer libraries than Colab has.
COLAB_VENV ?= .venv-colab
COLAB_STAMP := $(COLAB_VENV)/.installed

$(COLAB_STAMP): pyproject.toml ci/colab-constraints.txt
	$(PYTHON) -m venv $(COLAB_VENV)
	$(COLAB_VENV)/bin/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(COLAB_VENV)/bin/python -m pip install --quiet -c ci/colab-constraints.txt -e ".[dlib]" "pytest>=8" "pytest-xdist>=3.5" nbformat
	$(COLAB_VENV)/bin/python -m pip install --quiet --no-deps "face_recognition==1.3.0"
	touch $(COLAB_STAMP)

test-colab: $(COLAB_STAMP)
	$(COLAB_VENV)/bin/python -c "import skimage, tensorflow, numpy, cv2, dlib; \
	print('colab versions: scikit-image', skimage.__version__, '| tensorflow', tensorflow.__version__, \
	'| numpy', numpy.__version__, '| opencv', cv2.__version__, '| dlib', dlib.__version__)"
	DEEPFAKE_QUICK=1 MPLBACKEND=Agg $(COLAB_VENV)/bin/python -m pytest $(XDIST) tests

# The unit tests and notebooks 01-05 in a third venv with the newest releases within pyproject.toml's floors
# (no constraints): shows when a new release (OpenCV 5, numpy, TensorFlow, Keras, scikit-image) breaks the course
# before a learner's fresh install does. The venv is rebuilt each time, so it really is the newest.
LATEST_VENV ?= .venv-latest

test-latest:
	rm -rf $(LATEST_VENV)
	$(PYTHON) -m venv $(LATEST_VENV)
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade pip "setuptools<81" wheel
	$(LATEST_VENV)/bin/python -m pip install --quiet --upgrade -e ".[dlib,dev]"
	$(LATEST_VENV)/bin/python -m pip install --quiet --no-deps "face_recognition==1.3.0"
	$(LATEST_VENV)/bin/python -m ipykernel install --prefix $(LATEST_VENV) --name python3 > /dev/null
	$(LATEST_VENV)/bin/python -c "import skimage, tensorflow, keras, numpy, cv2, dlib; \
	print('latest versions: scikit-image', skimage.__version__, '| tensorflow', tensorflow.__version__, \
	'| keras', keras.__version__, '| numpy', numpy.__version__, '| opencv', cv2.__version__, '| dlib', dlib.__version__)"
	DEEPFAKE_QUICK=1 MPLBACKEND=Agg $(LATEST_VENV)/bin/python -m pytest $(XDIST) tests \
	  notebooks/01_frames.ipynb notebooks/02_detection.ipynb notebooks/03_landmarks.ipynb \
	  notebooks/04_alignment.ipynb notebooks/05_warping.ipynb $(NB_FLAGS)

# The tests of the stages that run on OpenCV's and numpy's CPU kernels, again with the newest vector instructions
# switched off (AVX-512 and AVX2): the machines here differ (AMD with and without AVX-512, Intel with AMX), and a
# result must hold on all of them within its stated tolerance, not on one bit for bit.
# (numpy 2.4 names its levels X86_V3/X86_V4; OpenCV 5 spells AVX512-SKX with a hyphen, 4.x with an underscore:
# an unknown name is only warned about. The first lines printed show what is left on.) TensorFlow runs its own
# kernels here (TF_ENABLE_ONEDNN_OPTS=0, its default on AMD): capping oneDNN's instructions (ONEDNN_MAX_CPU_ISA=SSE41,
# or AVX) makes TensorFlow's oneDNN convolutions fail on an Intel Xeon with AMX ("could not create a primitive
# descriptor"), which chose their layouts for the whole CPU.
LOWCPU_ENV := NPY_DISABLE_CPU_FEATURES="X86_V4 X86_V3 AVX512_ICL AVX512_SPR" \
  OPENCV_CPU_DISABLE="AVX512-SKX,AVX512-CLX,AVX512_SKX,AVX2,FMA3,FP16,AVX" TF_ENABLE_ONEDNN_OPTS=0
LOWCPU_TESTS := tests/test_warp.py tests/test_align.py tests/test_landmarks.py tests/test_detect.py \
  tests/test_metrics.py tests/test_swap.py tests/test_model.py

test-lowcpu: setup
	$(LOWCPU_ENV) $(PY) -c "import cv2, numpy._core._multiarray_umath as m; \
	print('numpy dispatch on:', [k for k in m.__cpu_dispatch__ if m.__cpu_features__.get(k)]); \
	print('opencv:', cv2.getCPUFeaturesLine())"
	$(LOWCPU_ENV) DEEPFAKE_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest $(XDIST) $(LOWCPU_TESTS)

# The demo's targets on the sample data (a working swap within its training budget): about 8 minutes.
test-slow: setup
	$(PY) -m pytest tests -m slow

bench: setup
	$(PY) -m benchmarks.bench extract
	$(PY) -m benchmarks.bench extract-cli
	$(PY) -m benchmarks.bench train
	$(PY) -m benchmarks.bench convert

# Student copies for a class, made by nbgrader (nbgrader_config.py): student/notebooks/, the notebooks without their
# solutions, every exercise's checker kept as a graded test; and student/gradebook.db for autograding (README).
student: setup
	mkdir -p student
	PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/nbgrader generate_assignment notebooks --force
	@echo "student copies in student/notebooks/ (README: For teachers)"

# The course as a static HTML book in book/_build/html (open book/_build/html/index.html): MyST-NB executes
# every notebooks/NN_*.ipynb once in quick mode (in notebooks/, as nbval does) and caches the results by their
# code, so a rebuild re-runs only notebooks whose code changed; a change to the package (or to
# book/kernel_startup.py) clears the cache.
# Nothing is fetched from the network, neither to build nor to read the pages.
BOOK_BUILD := book/_build
BOOK_STAMP := $(VENV)/.book-installed

$(BOOK_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet $(PIP_C) -e ".[book]"
	touch $(BOOK_STAMP)

$(BOOK_BUILD)/.package: $(wildcard deepfake_utils/*.py deepfake_utils/*.txt) book/kernel_startup.py
	rm -rf $(BOOK_BUILD)/.jupyter_cache $(BOOK_BUILD)/.doctrees
	mkdir -p $(BOOK_BUILD)
	touch $@

$(BOOK_BUILD)/ipython/profile_default/startup/00-book.py: book/kernel_startup.py
	mkdir -p $(@D)
	cp $< $@

# The kernels: quick mode, figures inline (whatever MPLBACKEND the shell has), book/kernel_startup.py run first.
book: $(BOOK_STAMP) $(BOOK_BUILD)/.package $(BOOK_BUILD)/ipython/profile_default/startup/00-book.py
	DEEPFAKE_QUICK=1 MPLBACKEND=module://matplotlib_inline.backend_inline IPYTHONDIR=$(abspath $(BOOK_BUILD)/ipython) \
	  $(PY) -m sphinx -b html --fail-on-warning -c book -d $(BOOK_BUILD)/.doctrees notebooks $(BOOK_BUILD)/html
	@echo "The book: $(BOOK_BUILD)/html/index.html"

# Every page of the book in headless Chromium (Debian's: apt-get install -y chromium): no console errors,
# every figure decoded, every internal link resolves, no request beyond localhost; then the same check
# on a deliberately broken copy must fail.
book-check: $(BOOK_STAMP)
	$(PY) scripts/check_book.py --self-test

book-clean:
	rm -rf $(BOOK_BUILD)

lab: setup
	$(VENV)/bin/jupyter lab notebooks

lint: setup
	$(VENV)/bin/ruff check deepfake_utils tests scripts notebooks book benchmarks
	$(VENV)/bin/lint-imports  # the import contract in pyproject.toml (ARCHITECTURE.md)

clean:
	rm -rf $(VENV) $(COLAB_VENV) $(LATEST_VENV) out student .pytest_cache .ruff_cache .grimp_cache .import_linter_cache build *.egg-info $(BOOK_BUILD)
	find . -name __pycache__ -prune -exec rm -rf {} +
