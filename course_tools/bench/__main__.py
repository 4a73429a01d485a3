"""``python -m course_tools.bench``: see ``course_tools.bench``."""
import sys

from course_tools.bench.run import main

sys.exit(main())
