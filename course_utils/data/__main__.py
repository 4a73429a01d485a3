"""``python -m course_utils.data``: the class bundle's command line (see ``course_utils.data.bundle``)."""
from .bundle import main

raise SystemExit(main())
