"""The package raises one family of errors: every exception it raises on purpose derives from DeepfakeError."""
import ast
import builtins
from pathlib import Path

import pytest

import deepfake_utils
from deepfake_utils import errors

PACKAGE = Path(deepfake_utils.__file__).parent
# Built-in exceptions that keep their meaning: a method a subclass must write, the checkers' verdict on a
# learner's code (nbgrader counts assertion failures), and Python's protocol for a module's ``__getattr__``.
ALLOWED = {"NotImplementedError", "AssertionError", "AttributeError"}


def _builtin_raises(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = getattr(raised, "id", None)
            if isinstance(getattr(builtins, name or "", None), type) and name not in ALLOWED:
                found.append(f"{path.name}:{node.lineno} raises {name}")
    return found


def test_package_raises_only_its_own_errors():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10
    found = [hit for path in modules for hit in _builtin_raises(path)]
    assert not found, "raise an errors.* class (InvalidArgument for a bad argument) instead:\n" + "\n".join(found)


def test_the_scan_finds_a_bare_raise(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def f(x):\n    if x < 0:\n        raise ValueError(x)\n    raise NotImplementedError\n")
    assert _builtin_raises(planted) == ["planted.py:3 raises ValueError"]


def test_invalid_argument_is_both_kinds():
    with pytest.raises(ValueError):
        raise errors.InvalidArgument("out of range")
    assert issubclass(errors.InvalidArgument, errors.DeepfakeError)


def test_unknown_mask_is_the_same_class_in_blend_and_swap():
    import numpy as np

    from deepfake_utils import blend, paste

    with pytest.raises(errors.InvalidArgument, match="unknown mask"):
        blend.face_mask("oval", (8, 8, 3), np.zeros((68, 2), np.float32), np.eye(2, 3), 8)
    with pytest.raises(errors.InvalidArgument, match="unknown mask"):
        paste.Options(mask="oval")
