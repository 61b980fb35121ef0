"""The course's plumbing, beside the package's two layers: the notebooks' setup cell and Colab rules (``notebook``),
the exercise checkers (``checks``) and nbgrader's grading of blank answers (``grading``). Nothing in the teaching
core or the pipeline imports it, except the command line's refusal to make fakes on a managed Colab machine."""
