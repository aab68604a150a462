import sys

import locgui  # noqa: F401  (zlib before pycolmap)
from locgui.cli import main

sys.exit(main())
