"""Test scheduling for `make test` (pytest-xdist, ``--dist loadfile``): each test file runs on one worker, as
loadfile does, except that the notebooks form one unit: they run one after another on one worker, in their numbered
order, so that each reuses what the ones before it made (04's extracted faces, 07's and 08's models), as a
learner's run does, while the other worker takes the test files. (xdist's own ``loadgroup`` marks do not reach
its scheduler under pytest 9, so the unit is made here, by xdist's scheduler hook.)

Units are handed out longest first (the notebooks, then the slowest test files, by ``LONGEST``), so that the run ends
on small files that both workers share, not on a three-minute file one worker starts last."""
from __future__ import annotations

import pytest

# Seconds per unit, summed over its tests (`make test` with `--durations=0`, 2026-12-07, a fresh clone on a 2-core
# AMD EPYC with AVX2 only): the order matters, not the figures. Units not named here follow, as xdist orders them.
LONGEST = {"notebooks": 422, "tests/test_train.py": 184, "tests/test_bench.py": 135, "tests/test_bad_inputs.py": 105,
           "tests/test_cli.py": 48, "tests/test_gan.py": 32, "tests/test_student.py": 29, "tests/test_swap.py": 24,
           "tests/test_forensics.py": 22}


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

        def _assign_work_unit(self, node) -> None:
            # the longest unit left goes next (xdist hands out the front of its queue)
            heaviest = max(self.workqueue, key=lambda scope: LONGEST.get(scope, 0))
            self.workqueue.move_to_end(heaviest, last=False)
            super()._assign_work_unit(node)

    return NotebooksInOrder(config, log)
