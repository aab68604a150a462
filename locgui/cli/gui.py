"""``locgui [gui] [SCENE] [--screenshot OUT.png [--query Q] [--method M]]``: the workbench."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scene", nargs="?", help="scene folder/file (any reader format) or map bundle (*.locmap)"
    )
    parser.add_argument(
        "--screenshot", metavar="OUT.png", help="open, optionally localize, save a window PNG, exit"
    )
    parser.add_argument("--query", help="query name from the scene's query list, or an image file")
    parser.add_argument(
        "--method", action="append", help="method(s) to localize with (repeat or comma-separate)"
    )
    parser.add_argument(
        "--demo", action="store_true", help="open the built-in demo scene (made on first use)"
    )
    parser.add_argument("--size", default=None, metavar="WxH", help="window size, e.g. 1600x1000")
    parser.add_argument("--device", default=None, help="where methods run: cpu or cuda")


def run(args: argparse.Namespace) -> int:
    from locgui.model.jobs import leave_a_core_for_the_ui

    leave_a_core_for_the_ui()  # before torch is imported: its thread pools read the environment
    from locgui.qt.app import run_gui

    return run_gui(args)
