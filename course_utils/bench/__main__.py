"""``python -m course_utils.bench``: see ``course_utils.bench``."""
import sys

from course_utils.bench.run import main

sys.exit(main())
