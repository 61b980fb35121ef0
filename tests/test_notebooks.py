"""Notebook lint (part of `make test`): the course's notebooks follow one pattern, and what links them holds.

Outputs stripped; one setup cell, identical to ``deepfake_utils.course.notebook.SETUP_CELL``; a hosted-Colab badge
only on the notebooks ``deepfake_utils.course.notebook.HOSTED_COLAB`` lists (pointing at the notebook itself in the
repository pyproject.toml names), a "Run it" box on the others, whose face-swap steps come after the Colab
guard; numbers continuous (documented gaps only); objectives, prerequisites, time, summary, references and a
"next" link in every notebook; every notebook linked from the index (00) and the README.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

from deepfake_utils.course import notebook

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
# Numbers left free on purpose, with the reason: the lint accepts only these gaps.
GAPS: dict[int, str] = {}
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
REPO_URL = PYPROJECT["project"]["urls"]["Repository"]
COLAB_PREFIX = "https://colab.research.google.com/github/" + REPO_URL.removeprefix("https://github.com/")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _badge(name: str) -> str:
    return f"{COLAB_PREFIX}/blob/main/notebooks/{name}"


def _colab_links(text: str) -> list[str]:
    return re.findall(r"https://colab\.research\.google\.com/github/[^)\s\"]+", text)


HOSTED = [name for name in NAMES if notebook.hosted_colab_allowed(name)]
NOT_HOSTED = [name for name in NAMES if not notebook.hosted_colab_allowed(name)]
# A step that trains or converts, i.e. makes a face swap (06's `.swap(` of fresh, untrained weights makes none), in the
# package or through the command line (11's `run_cli("train", ...)`; cli.GENERATIVE_COMMANDS).
GENERATIVE = re.compile(r"\b(Trainer|GanTrainer)\(|\.fit\(|\bconvert\(|\brun_cli\(\s*\"(train|convert|demo)\"")


def test_numbering_is_continuous_with_only_documented_gaps():
    numbers = [int(name[:2]) for name in NAMES]
    assert len(set(numbers)) == len(numbers), f"two notebooks share a number: {NAMES}"
    expected = [n for n in range(max(numbers) + 1) if n not in GAPS]
    assert numbers == expected, f"notebook numbers {numbers}, expected {expected} (documented gaps: {GAPS})"


@pytest.mark.parametrize("name", NAMES)
def test_outputs_are_stripped(name):
    for i, cell in enumerate(_cells(NB_DIR / name), 1):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{name} cell {i} has outputs"


@pytest.mark.parametrize("name", NAMES)
def test_every_cell_has_its_own_id_and_the_notebook_is_valid(name):
    """nbformat 4.5 gives every cell an id (a cell added by hand may lack one: a warning now, an error to come)."""
    import nbformat

    ids = [cell.get("id") for cell in _cells(NB_DIR / name)]
    assert None not in ids, f"{name}: cell {ids.index(None) + 1} has no id"
    assert len(set(ids)) == len(ids), f"{name}: two cells share an id"
    nbformat.validate(nbformat.read(NB_DIR / name, as_version=4))


@pytest.mark.parametrize("name", NAMES)
def test_one_setup_cell_identical_to_the_template(name):
    code = [c for c in _cells(NB_DIR / name) if c["cell_type"] == "code"]
    setup = [i for i, c in enumerate(code) if "google.colab" in _source(c) or "notebook import setup" in _source(c)]
    assert setup == [0], f"{name}: the setup cell must be the first code cell and the only one (found {setup})"
    assert _source(code[0]) == notebook.SETUP_CELL.rstrip("\n"), (
        f"{name}: the setup cell differs from deepfake_utils.course.notebook.SETUP_CELL; paste the template in")
    assert {k: code[0]["metadata"].get(k) for k in notebook.SETUP_METADATA} == notebook.SETUP_METADATA, (
        f"{name}: the setup cell is not folded away (its metadata lacks deepfake_utils.course.notebook.SETUP_METADATA)")


def test_the_hosted_colab_list_names_notebooks_that_exist():
    assert HOSTED and set(notebook.HOSTED_COLAB) <= {name[:2] for name in NAMES}
    assert notebook.hosted_colab_allowed("00_index.ipynb") and not notebook.hosted_colab_allowed("07_training.ipynb")


@pytest.mark.parametrize("name", HOSTED)
def test_hosted_badge_opens_this_very_notebook(name):
    cells = _cells(NB_DIR / name)
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith(f"# {name[:2]} · ")
    badges = _colab_links(json.dumps(cells))
    assert badges == [_badge(name)], f"{name}: Colab links {badges}, expected only its own badge {_badge(name)}"


@pytest.mark.parametrize("name", NOT_HOSTED)
def test_no_hosted_badge_but_a_run_it_box(name):
    cells = _cells(NB_DIR / name)
    title = _source(cells[0])
    assert cells[0]["cell_type"] == "markdown" and title.startswith(f"# {name[:2]} · ")
    assert _colab_links(json.dumps(cells)) == [], f"{name} makes a face swap: no badge that opens it on hosted Colab"
    box = next((p for p in title.split("\n\n") if p.startswith("> **Run it**")), "")
    for needed in ("`make lab`", "GPU machine you may use", "local", "runtime", notebook.COLAB_FAQ,
                   notebook.COLAB_RULE_CHECKED):
        assert needed in box, f"{name}: the title cell's '> **Run it**' box lacks {needed!r}"


def _first_generative(name: str) -> tuple[int, int] | None:
    """(code cell, character) of the first step that trains or converts, or None."""
    for i, cell in enumerate(c for c in _cells(NB_DIR / name) if c["cell_type"] == "code"):
        found = GENERATIVE.search(_source(cell))
        if found:
            return i, found.start()
    return None


@pytest.mark.parametrize("name", HOSTED)
def test_hosted_notebooks_make_no_face_swap(name):
    assert _first_generative(name) is None, f"{name} trains or converts: it cannot keep a hosted-Colab badge"


@pytest.mark.parametrize("name", NOT_HOSTED)
def test_the_colab_guard_comes_before_the_first_face_swap_step(name):
    first = _first_generative(name)
    assert first is not None, f"{name} makes no face swap: list it in notebook.HOSTED_COLAB instead"
    code = [_source(c) for c in _cells(NB_DIR / name) if c["cell_type"] == "code"]
    cell, at = first
    guards = [i for i, src in enumerate(code[:cell + 1]) if re.search(r"^guard_generative\(\"", src, re.M)]
    assert guards and (guards[0] < cell or code[cell].index("guard_generative(") < at), (
        f"{name}: call guard_generative(...) before its first training or conversion step (code cell {cell})")


@pytest.mark.parametrize("name", NAMES)
def test_scaffolding_objectives_time_summary_references_next(name):
    cells = _cells(NB_DIR / name)
    intro = "".join(_source(c) for c in cells[:2] if c["cell_type"] == "markdown")  # title cell or the one after
    for field in ("**Objectives**", "**Prerequisites**", "**Time**"):
        assert field in intro, f"{name}: the first two cells lack {field}"
    text = [_source(c) for c in cells if c["cell_type"] == "markdown"]
    closing = [t for t in text if t.startswith("## Summary")]
    assert len(closing) == 1, f"{name}: needs one markdown cell starting with '## Summary'"
    assert "## References" in closing[0]
    index = NAMES.index(name)
    following = NAMES[index + 1] if index + 1 < len(NAMES) else NAMES[0]
    assert "**Next**: [" in closing[0] and f"]({following})" in closing[0], f"{name}: no next link to {following}"
    at = next(i for i, c in enumerate(cells) if _source(c) == closing[0])
    solutions = [i for i, c in enumerate(cells) if re.search(r"^## (Appendix: )?[Ss]olutions", _source(c), re.M)]
    assert solutions and all(at <= i for i in solutions), f"{name}: the summary comes before the solutions appendix"


def test_index_links_every_notebook_and_has_a_glossary():
    text = "\n".join(_source(c) for c in _cells(NB_DIR / NAMES[0]))
    for name in NAMES[1:]:
        assert f"]({name})" in text, f"00 does not link {name}"
    assert "## Glossary" in text


def test_readme_links_every_notebook_with_its_badge_or_run_it():
    readme = (ROOT / "README.md").read_text()
    for name in NAMES:
        row = next((line for line in readme.splitlines() if f"](notebooks/{name})" in line), None)
        assert row is not None, f"the README's table has no row linking notebooks/{name}"
        if notebook.hosted_colab_allowed(name):
            assert _badge(name) in row, f"the README's row of {name} lacks its Colab badge"
        else:
            assert not _colab_links(row) and "[run it](#colab-and-gpus)" in row, (
                f"the README's row of {name}: no Colab badge, a link to 'Colab and GPUs' instead")
    badges = _colab_links(readme)
    assert sorted(badges) == sorted(_badge(name) for name in HOSTED)
    section = readme[readme.index("## Colab and GPUs"):]
    assert notebook.COLAB_FAQ in section and notebook.COLAB_RULE_CHECKED in section


def test_repository_url_is_defined_once_and_used_everywhere():
    assert notebook.REPO_URL == REPO_URL
    assert f'"{REPO_URL}"' in notebook.SETUP_CELL
    for path in [ROOT / "README.md", *NOTEBOOKS]:
        for url in re.findall(r"https://github\.com/deepfake-course[^\s)\"']*", path.read_text()):
            assert url.startswith(REPO_URL), f"{path.name}: {url} is not {REPO_URL}"


def test_setup_cell_template_compiles_as_python():
    compile(notebook.SETUP_CELL, "setup cell", "exec")


def test_colab_constraints_meet_the_declared_floors():
    requirements = {Requirement(r).name.lower(): Requirement(r) for r in PYPROJECT["project"]["dependencies"]}
    pins = [line.split("#")[0].strip() for line in (ROOT / "ci" / "colab-constraints.txt").read_text().splitlines()]
    pins = [Requirement(p) for p in pins if p]
    assert {"scikit-image", "tensorflow", "dlib-bin", "numpy"} <= {p.name.lower() for p in pins}
    for pin in pins:
        version = next(iter(pin.specifier)).version
        if pin.name.lower() in requirements:
            assert requirements[pin.name.lower()].specifier.contains(version), (
                f"Colab's {pin.name} {version} does not meet pyproject's {requirements[pin.name.lower()]}")


def test_the_books_colab_launch_button_only_on_hosted_notebooks():
    pytest.importorskip("latex2mathml")
    pytest.importorskip("sphinx")
    import importlib.util

    spec = importlib.util.spec_from_file_location("book_conf", ROOT / "book" / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    for name in NAMES:
        page = name.removesuffix(".ipynb")
        launch = {"label": "launch-buttons", "buttons": [{"url": _badge(name)}, {"url": "https://binder"}]}
        context = {"header_buttons": [launch]}
        conf.colab_launch_only_where_allowed(None, page, "page.html", context, None)
        kept = [b["url"] for b in launch["buttons"]]
        assert (_badge(name) in kept) == notebook.hosted_colab_allowed(name), f"{page}: {kept}"
        assert "https://binder" in kept


def test_the_gpu_script_is_ready_and_the_readme_says_which_gpu_figures_exist():
    script = ROOT / "benchmarks" / "gpu_run.sh"
    text = script.read_text()
    assert script.stat().st_mode & 0o111, "benchmarks/gpu_run.sh is not executable"
    assert "list_physical_devices('GPU')" in text and ".[dlib,gpu]" in text and "DEADLINE_S" in text
    bench = (ROOT / "benchmarks" / "README.md").read_text()
    # the TensorFlow GPU path is still unmeasured; the one GPU run (JAX backend) is recorded with its JSON
    assert "The TensorFlow GPU path: not yet measured" in bench and "benchmarks/gpu_run.sh" in bench
    assert "benchmarks/pairs-gpu.json" in bench and (ROOT / "benchmarks" / "pairs-gpu.json").is_file()
