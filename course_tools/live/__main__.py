"""``python -m course_tools.live``: see :mod:`course_tools.live.cli`."""
import sys

from course_tools.live.cli import main

sys.exit(main())
