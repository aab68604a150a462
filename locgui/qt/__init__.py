"""The Qt layer: the only code that imports PySide6 / pyqtgraph (main window, views, workers)."""
