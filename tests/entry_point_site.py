"""A site folder that declares a plug-in through the ``locgui.methods`` entry point, as
``pip install`` would leave it (a ``*.dist-info`` with METADATA and entry_points.txt)."""

from __future__ import annotations

from pathlib import Path


def plugin_site(site: Path, dist: str, name: str, module: str) -> Path:
    """Write ``site/<dist>-0.1.dist-info`` declaring ``name = module``; returns ``site``."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[locgui.methods]\n{name} = {module}\n")
    return site
