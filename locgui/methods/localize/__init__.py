"""Structure-based localizers (sfm, points, rpr) and their shared stages.

Importing this package is light: the localizer modules import torch/pycolmap inside
functions, and ``specs`` only names them.
"""
