"""``python -m service.dashboards [DIR] [--check]``: write or check the dashboard JSON."""

import sys

from service.dashboards.build import main

sys.exit(main())
