"""Test scheduling for `make test` (pytest-xdist, ``--dist loadfile``): each test file runs on one worker, as
loadfile does, except that the notebooks form one unit: they run one after another on one worker, in their numbered
order, so that each reuses what the ones before it made (04's extracted faces, 07's and 08's models), as a
learner's run does, while the other worker takes the test files. (xdist's own ``loadgroup`` marks do not reach
its scheduler under pytest 9, so the unit is made here, by xdist's scheduler hook.)"""
from __future__ import annotations

import pytest


@pytest.hookimpl
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """loadfile's scheduling with every notebook in one unit (None: xdist's own, for any other ``--dist``)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class NotebooksInOrder(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "notebooks" if path.endswith(".ipynb") else path

    return NotebooksInOrder(config, log)
