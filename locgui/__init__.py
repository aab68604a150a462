"""locgui: a workbench for visual camera localization.

zlib is imported first on purpose: if pycolmap is the first module in a process to load zlib,
any later compression (zlib.compress, PNG writing, np.savez_compressed) aborts the process.
Every entry point imports this package before anything else, which fixes the order.
"""

import zlib  # noqa: F401  (must precede any pycolmap import; see docs/stack-notes)

__version__ = "0.1.0"
