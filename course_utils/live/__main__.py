"""``python -m course_utils.live``: see :mod:`course_utils.live.cli`."""
import sys

from course_utils.live.cli import main

sys.exit(main())
