"""Tools for instructors and maintainers of the course (not for students, and not installed).

Students install and read ``course_utils``; this package is what the people who write and
maintain the course run from a checkout of the repository (the Makefile runs it from the
repository root). It may import ``course_utils``; ``course_utils`` never imports it.

- ``live``           the live-twin generator: ``python -m course_tools.live [--check | --record | --fill DIR]``
- ``bench``          the benchmark: ``python -m course_tools.bench`` (and ``.sweep``, ``.data_path``,
                     ``.evaluation_slices``)
- ``run_lectures``   run lectures on the real data and save them as JupyterLab does:
                     ``python -m course_tools.run_lectures``

See ``docs/instructors.md`` and ``docs/measurements.md``.
"""
