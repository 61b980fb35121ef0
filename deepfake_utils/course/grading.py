"""Course plumbing for nbgrader (the ``teach`` extra; ``nbgrader_config.py`` uses it): written answers left blank
are flagged for manual grading instead of silently scoring 0.

nbgrader's autograde gives a manually graded answer cell that the student left as the copy had it ("YOUR ANSWER
HERE", unchanged) 0 points and does not flag it for a teacher's look: it never shows among the answers to grade by
hand. ``SaveAutoGradesFlaggingBlanks`` keeps that 0, flags the answer as needing manual grading (the formgrader
lists it), comments it "left blank" and names it in autograde's log.
"""
from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades

BLANK_COMMENT = "No response: left blank (flagged for manual grading; the 0 stands unless you change it)"


def is_blank_answer(cell: NotebookNode) -> bool:
    """True for a student's answer cell left as the student copy had it (or emptied)."""
    if not utils.is_solution(cell):
        return False
    unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
    return unchanged or not cell.source.strip()


def blank_answers(nb: NotebookNode) -> list[str]:
    """The grade ids of a notebook's manually graded answers left blank."""
    return [cell.metadata.nbgrader["grade_id"] for cell in nb.cells
            if utils.is_grade(cell) and is_blank_answer(cell)]


class SaveAutoGradesFlaggingBlanks(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, with every graded answer left blank flagged for manual grading (score 0 kept)."""

    def _add_score(self, cell: NotebookNode, resources: dict) -> None:
        super()._add_score(cell, resources)
        if not is_blank_answer(cell):
            return
        grade = self.gradebook.find_grade(cell.metadata.nbgrader["grade_id"], self.notebook_id, self.assignment_id,
                                          self.student_id)
        grade.needs_manual_grade = True
        self.gradebook.db.commit()
        self.log.warning("%s, %s: the written answer %s is blank: 0 points, flagged for manual grading",
                         self.student_id, self.notebook_id, cell.metadata.nbgrader["grade_id"])

    def _add_comment(self, cell: NotebookNode, resources: dict) -> None:
        super()._add_comment(cell, resources)
        if utils.is_grade(cell) and is_blank_answer(cell):
            comment = self.gradebook.find_comment(cell.metadata.nbgrader["grade_id"], self.notebook_id,
                                                  self.assignment_id, self.student_id)
            comment.auto_comment = BLANK_COMMENT
            self.gradebook.db.commit()
