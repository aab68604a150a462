"""Map building: features, pairs, matching, triangulation / SfM (pycolmap), bundle writing.

``locgui.methods.mapping.pipeline.build_map(source, out, config, ctx)`` is the whole recipe.
Every module here is light to import: torch and pycolmap load inside the stage functions.
"""
