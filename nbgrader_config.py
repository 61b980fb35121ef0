"""nbgrader's settings for this course (https://nbgrader.readthedocs.io); nbgrader reads them when it runs from the
repository's root, as `make student` does: `nbgrader generate_assignment notebooks --force`.

The course is one nbgrader assignment, "notebooks": its source is the repository's own notebooks/ folder, where each
notebook's appendix holds the solutions between `### BEGIN SOLUTION` and `### END SOLUTION`, in cells marked as
nbgrader solution cells, each followed by a locked test cell with points that runs the exercise's checker
(deepfake_utils.course.checks). Everything nbgrader writes goes under student/ (git-ignored): the student copies
(student/notebooks/), the gradebook, the submissions, the autograded notebooks and the feedback.
"""
import os

c = get_config()  # noqa: F821 (nbgrader defines get_config for its config files)

ROOT = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = ROOT
c.CourseDirectory.course_id = "deepfake-course"
c.CourseDirectory.source_directory = "."  # the assignment "notebooks" is ./notebooks
c.CourseDirectory.release_directory = "student"  # its student copies: student/notebooks/
c.CourseDirectory.submitted_directory = "student/submitted"  # student/submitted/<student>/notebooks/
c.CourseDirectory.autograded_directory = "student/autograded"
c.CourseDirectory.feedback_directory = "student/feedback"
c.CourseDirectory.solution_directory = "student/solution"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(ROOT, "student", "gradebook.db")
# SQLite creates the gradebook but not its folder: without this, the plain `nbgrader generate_assignment notebooks`
# on a fresh copy fails with a database error until `make student` has made student/
os.makedirs(os.path.join(ROOT, "student"), exist_ok=True)
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "sanitize.cfg"]  # nbval's, not students'
# What replaces a solution in the student copy: a comment (the learner writes in the exercise's own cell, above,
# and the graded check after it runs that).
c.ClearSolutions.code_stub = {"python": "# (removed from the student copy)"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
# autograde runs every notebook top to bottom: training cells take minutes (nbgrader's default is 30 s a cell)
c.Execute.timeout = 600
# Written answers left blank: nbgrader scores them 0 without flagging them for a look; the course's SaveAutoGrades
# flags them for manual grading (deepfake_utils/grading.py), so the formgrader lists every one.
from nbgrader.converters import Autograde  # noqa: E402
from nbgrader.preprocessors import SaveAutoGrades  # noqa: E402

from deepfake_utils.course.grading import SaveAutoGradesFlaggingBlanks  # noqa: E402

c.Autograde.autograde_preprocessors = [SaveAutoGradesFlaggingBlanks if step is SaveAutoGrades else step
                                       for step in Autograde.autograde_preprocessors.default()]
