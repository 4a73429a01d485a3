"""The three lines a live twin calls in a student's notebook: ``cu.blank``, ``cu.check``, ``cu.catch_up``.

A lecture notebook ``notebooks/NN-topic.ipynb`` has a generated *live twin*
``notebooks/live/NN-topic-live.ipynb``: the same lecture with the code the class
writes together left blank. In the twin of a checked lecture each blank is a line
``cu.blank("03-logistic-regression", 2)`` and is followed by a self-check
``cu.check("03-logistic-regression", 2)``; a student who falls behind types
``cu.catch_up("03-logistic-regression", 2)``. This package is what those lines run:

- ``placeholders``  ``blank``: blanks that fail well (``BlankNotFilled``)
- ``selfcheck``     ``check``: one line saying whether a blank made what the lecture's does
- ``describe``      what ``check`` compares, per kind of value
- ``compare``       comparing a student's value with the lecture's description
- ``catchup``       ``catch_up``: run (and show) the lecture's code for a blank
- ``packagedata``   where the lecture's solutions and recorded checks are stored (``data/``)

The tool that writes the twins, the solutions and the recorded checks is for instructors
and lives outside this package, in the repository's ``course_tools/live``
(``python -m course_tools.live``; see ``docs/instructors.md``).

Example:
    >>> from course_utils import live
    >>> sorted(name for name in live.__all__ if not name[0].isupper())
    ['blank', 'catch_up', 'check']
"""
from __future__ import annotations

from .catchup import catch_up
from .placeholders import BlankNotFilled, Unfilled, blank
from .selfcheck import SelfCheckFailed, check

__all__ = ["blank", "check", "catch_up", "BlankNotFilled", "SelfCheckFailed", "Unfilled"]
