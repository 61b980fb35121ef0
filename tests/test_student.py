"""Student copies (`make student`): the notebooks are marked the way nbgrader expects, and nbgrader's own
generate_assignment, run with the course's nbgrader_config.py on every notebook in notebooks/, leaves no solution in
the copies and keeps every exercise's checker (the graded test cells and the learner's own check cells).

The marks are checked on the JSON alone; the copies need nbgrader (the `teach` extra, which `make setup` installs),
and are skipped, saying so, where it is missing.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.name for p in NOTEBOOKS]
APPENDIX = re.compile(r"^## (Appendix: )?[Ss]olutions", re.M)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_CALL = re.compile(r"checks\.check_\w+\((\w+)\)")
STUB = re.compile(r"^def (\w+)\(.*?\n(?:(?:    .*)?\n)*?    raise NotImplementedError", re.M)


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _marks(cell: dict) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _appendix_start(cells: list[dict]) -> int | None:
    return next((i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and APPENDIX.search(_source(c))), None)


def _solution_regions(text: str) -> list[str]:
    return re.findall(rf"{re.escape(BEGIN)}\n(.*?){re.escape(END)}", text, re.S)


# --- the marks, in the source notebooks ---------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_solutions_are_marked_for_nbgrader_and_only_in_the_appendix(name):
    cells = _cells(NB_DIR / name)
    start = _appendix_start(cells)
    ids = [_marks(c)["grade_id"] for c in cells if _marks(c)]
    assert len(ids) == len(set(ids)), f"{name}: nbgrader grade_ids must be unique, got {ids}"
    for i, cell in enumerate(cells):
        marks, text = _marks(cell), _source(cell)
        if marks:
            assert marks["schema_version"] == 3 and {"grade", "solution", "locked", "task"} <= set(marks), (
                f"{name} cell {i}: incomplete nbgrader metadata {marks}")
            if marks["grade"]:
                assert marks.get("points", 0) > 0, f"{name} cell {i}: a graded cell needs points"
        if BEGIN in text or END in text:
            assert marks.get("solution"), f"{name} cell {i}: solution markers in a cell not marked as a solution"
            assert text.count(BEGIN) == text.count(END) == len(_solution_regions(text)) > 0, f"{name} cell {i}"
        if marks.get("solution"):
            assert start is not None and i > start, (
                f"{name} cell {i}: solutions belong in the appendix at the end (after '## Appendix: solutions')")
    if start is None:
        return
    for i, cell in enumerate(cells[start + 1:], start + 1):
        marks, text = _marks(cell), _source(cell)
        if cell["cell_type"] == "code":  # every appendix code cell is a solution or a graded check
            assert marks.get("solution") or marks.get("grade"), (
                f"{name} cell {i}: code in the solutions appendix without nbgrader marks would reach the student "
                "copies: mark it as a solution cell (### BEGIN SOLUTION ... ### END SOLUTION inside) or, for "
                "an `assert checks.check_...(...)` line, as a graded test cell (locked, with points)")
            if marks.get("solution"):
                assert _solution_regions(text), f"{name} cell {i}: a solution cell without its markers"
            else:
                assert marks["locked"] and CHECK_CALL.search(text), f"{name} cell {i}: a graded check runs a checker"
        elif marks.get("solution"):
            assert marks["grade"], f"{name} cell {i}: written answers are graded by hand (grade: true, points)"


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_has_a_stub_a_check_and_a_graded_check(name):
    cells = _cells(NB_DIR / name)
    start = _appendix_start(cells)
    body = "\n".join(_source(c) for c in cells[:start] if c["cell_type"] == "code")
    stubs = set(STUB.findall(body))
    tried = set(CHECK_CALL.findall(body))
    graded = {fn for c in cells[start or len(cells):] if _marks(c).get("grade") and c["cell_type"] == "code"
              for fn in CHECK_CALL.findall(_source(c))}
    assert stubs == tried, f"{name}: exercise stubs {sorted(stubs)} but checks run in the body on {sorted(tried)}"
    assert stubs == graded, f"{name}: exercise stubs {sorted(stubs)} but graded checks of {sorted(graded)}"


# --- the student copies, made by nbgrader --------------------------------------------------------------
@pytest.fixture(scope="module")
def student_copies(tmp_path_factory) -> Path:
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[teach]'), so the student "
                                           "copies are not made here")
    out = tmp_path_factory.mktemp("student")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", "notebooks", "--force", "--no-db",
           f"--CourseDirectory.release_directory={out}"]  # the course's nbgrader_config.py, copies elsewhere
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return out / "notebooks"


def test_every_notebook_gets_a_student_copy(student_copies):
    assert sorted(p.name for p in student_copies.glob("*.ipynb")) == NAMES
    assert not list(student_copies.glob("*.cfg")), "nbval's sanitize.cfg is not for students"


@pytest.mark.parametrize("name", NAMES)
def test_no_solution_survives_in_the_student_copy(student_copies, name):
    source, copy = _cells(NB_DIR / name), _cells(student_copies / name)
    copy_text = "\n".join(_source(c) for c in copy)
    assert BEGIN not in copy_text and END not in copy_text
    # lines that only the solutions have (a stub's `def` line and docstring are in the exercise too)
    elsewhere = {line.strip() for c in source if not _marks(c).get("solution") for line in _source(c).splitlines()}
    for cell in source:
        if not _marks(cell).get("solution"):
            continue
        text = _source(cell)
        solution_lines = [line.strip() for region in _solution_regions(text) for line in region.splitlines()]
        if cell["cell_type"] == "markdown":
            solution_lines = [line.strip() for line in text.splitlines()]
        for line in solution_lines:
            if len(line) > 8 and line not in elsewhere:
                assert line not in copy_text, f"{name}: a solution line survives in the student copy: {line!r}"
    by_id = {_marks(c)["grade_id"]: c for c in copy if _marks(c)}
    for cell in source:
        if _marks(cell).get("solution") and cell["cell_type"] == "markdown":
            assert _source(by_id[_marks(cell)["grade_id"]]).strip() == "YOUR ANSWER HERE"


@pytest.mark.parametrize("name", NAMES)
def test_every_exercise_keeps_its_checker_in_the_student_copy(student_copies, name):
    source, copy = _cells(NB_DIR / name), _cells(student_copies / name)
    by_id = {_marks(c)["grade_id"]: c for c in copy if _marks(c)}
    for cell in source:
        marks = _marks(cell)
        if marks.get("locked"):  # graded checks and the learner's check cells: same code, read-only for students
            kept = by_id.get(marks["grade_id"])
            assert kept is not None and _source(kept) == _source(cell), f"{name}: {marks['grade_id']} lost or changed"
            assert kept["metadata"].get("editable") is False, f"{name}: {marks['grade_id']} should be read-only"
    source_calls = [m for c in source if not _marks(c).get("solution") for m in CHECK_CALL.findall(_source(c))]
    copy_calls = [m for c in copy for m in CHECK_CALL.findall(_source(c))]
    assert copy_calls == source_calls, f"{name}: checker calls {source_calls} in the source, {copy_calls} in the copy"
    points = sum(_marks(c).get("points", 0) for c in copy)
    assert points == sum(_marks(c).get("points", 0) for c in source)
    for i, cell in enumerate(copy):  # what students run is still Python, outputs cleared
        if cell["cell_type"] == "code":
            assert cell["outputs"] == []
            compile(_source(cell), f"{name} cell {i}", "exec")


def test_make_student_runs_generate_assignment_with_the_course_config():
    recipe = (ROOT / "Makefile").read_text().split("\nstudent:", 1)[1].split("\n\n", 1)[0]
    assert "nbgrader generate_assignment notebooks" in recipe
    assert 'release_directory = "student"' in (ROOT / "nbgrader_config.py").read_text()
    assert "/student/" in (ROOT / ".gitignore").read_text().splitlines()


def test_plain_generate_assignment_works_on_a_fresh_copy(tmp_path):
    """The README's manual step, `nbgrader generate_assignment notebooks`, with no student/ folder yet (issue 24)."""
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[teach]')")
    import shutil

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(NB_DIR, tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.cfg"))
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "notebooks"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "OperationalError" not in done.stderr, done.stderr[-3000:]
    assert (tmp_path / "student" / "gradebook.db").is_file()
    assert sorted(p.name for p in (tmp_path / "student" / "notebooks").glob("*.ipynb")) == NAMES


def _graded_cells(name: str) -> list[str]:
    return [_source(c) for c in _cells(NB_DIR / name) if c["cell_type"] == "code" and _marks(c).get("grade")]


@pytest.mark.parametrize("name", NAMES)
def test_graded_cells_load_the_checkers_afresh(name):
    for text in _graded_cells(name):
        assert "spec_from_file_location" in text and "exec_module(checks)" in text, (
            f"{name}: a graded cell must load the checkers from their file, not call the module a learner can rebind")


def test_rebinding_a_checker_in_a_learners_cell_does_not_score():
    import types

    import numpy as np

    from deepfake_utils import align
    from deepfake_utils.course import checks

    graded = next(t for t in _graded_cells("04_alignment.ipynb") if "check_umeyama(umeyama)" in t)
    cheat = types.SimpleNamespace(**vars(checks))
    cheat.check_umeyama = lambda fn: True  # what a learner's cell could write
    with pytest.raises(AssertionError):  # a wrong answer with the rebound checker still fails the graded cell
        exec(graded, {"checks": cheat, "umeyama": lambda src, dst, estimate_scale=True: np.eye(3)})
    real = checks.check_umeyama
    try:
        checks.check_umeyama = lambda fn: True  # rebinding the module's own attribute does not help either
        with pytest.raises(AssertionError):
            exec(graded, {"umeyama": lambda src, dst, estimate_scale=True: np.eye(3)})
    finally:
        checks.check_umeyama = real
    exec(graded, {"umeyama": align.umeyama})  # the right answer scores


def _tried(name: str) -> list[tuple[str, str]]:
    """(checker call, the learner's function) of each cell before the appendix that runs a checker (a try cell)."""
    cells = _cells(NB_DIR / name)
    start = _appendix_start(cells)
    return [(m.group(0), m.group(1)) for c in cells[:start] if c["cell_type"] == "code"
            for m in re.finditer(r"checks\.check_\w+\((\w+)\)", _source(c))]


def _learner_error(*args, **kwargs):
    return [][1]  # an IndexError in the learner's own line


@pytest.mark.parametrize("name", NAMES)
def test_run_all_goes_on_past_a_wrong_answer_and_the_graded_cell_still_fails_it(name, capsys):
    """A learner's Run All: a try cell says what is not yet right, whether the function is still the stub, returns a
    wrong value or raises an error, and the cells after it run (one behaviour, issue 24); the locked graded cell of
    the appendix fails all three."""
    from deepfake_utils.course import checks

    def stub(*args, **kwargs):
        raise NotImplementedError

    graded = {fn: text for text in _graded_cells(name) for fn in CHECK_CALL.findall(text)}
    for call, fn in _tried(name):
        check = call.split("(")[0].split(".")[1]
        for answer, said in [(stub, f"… {check}: not done yet"),
                             (lambda *a, **k: object(), f"✗ {check}: not yet right"),
                             (_learner_error, f"✗ {check}: your function raised IndexError")]:
            assert exec(call, {"checks": checks, fn: answer}) is None  # no exception: Run All goes on
            out = capsys.readouterr()
            assert said in out.out and out.err == "", out
            if answer is _learner_error:
                assert "return [][1]" in out.out  # the traceback shows the learner's line
            if fn in graded:
                with pytest.raises(AssertionError):
                    exec(graded[fn], {fn: answer})
                capsys.readouterr()


def test_a_written_answer_left_blank_is_flagged_for_manual_grading(tmp_path):
    """nbgrader scores a written answer left as the student copy had it 0, without flagging it: with the course's
    nbgrader_config.py, autograde flags it for manual grading (the formgrader lists it) and says so (issue 24)."""
    pytest.importorskip("nbgrader", reason="nbgrader is not installed (pip install -e '.[teach]')")
    import shutil

    import nbformat
    from nbgrader.api import Gradebook

    def answer(grade_id: str, text: str) -> nbformat.NotebookNode:
        return nbformat.v4.new_markdown_cell(text, metadata={"nbgrader": {
            "grade": True, "grade_id": grade_id, "locked": False, "points": 2, "schema_version": 3,
            "solution": True, "task": False}})

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), answer("why", "Because."), answer("how", "Like so.")]
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "tiny.ipynb")
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))

    def nbgrader(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    nbgrader("generate_assignment", "notebooks")
    copy = nbformat.read(tmp_path / "student" / "notebooks" / "tiny.ipynb", as_version=4)
    assert [c.source for c in copy.cells[1:]] == ["YOUR ANSWER HERE"] * 2
    copy.cells[2].source = "My own words."  # "how" answered, "why" left blank
    submitted = tmp_path / "student" / "submitted" / "s1" / "notebooks"
    submitted.mkdir(parents=True)
    nbformat.write(copy, submitted / "tiny.ipynb")
    done = nbgrader("autograde", "notebooks", "--student", "s1")
    assert "the written answer why is blank: 0 points, flagged for manual grading" in done.stdout + done.stderr
    with Gradebook(f"sqlite:///{tmp_path / 'student' / 'gradebook.db'}") as gradebook:
        why, how = (gradebook.find_grade(i, "tiny", "notebooks", "s1") for i in ("why", "how"))
        assert why.auto_score == 0 and why.needs_manual_grade  # stock nbgrader: 0 and not flagged
        assert how.auto_score is None and how.needs_manual_grade
        assert "left blank" in gradebook.find_comment("why", "tiny", "notebooks", "s1").auto_comment
        assert gradebook.find_comment("how", "tiny", "notebooks", "s1").auto_comment is None
