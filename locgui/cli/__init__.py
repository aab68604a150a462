"""Command-line entry point. Sub-commands live in their own modules and import heavy
packages (torch, pycolmap, open3d, Qt) only inside ``run`` so that ``--help`` is instant.

Each sub-command module defines ``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

import locgui  # noqa: F401  (fixes the zlib/pycolmap import order before anything else)
from locgui.cli.progress import end_progress_line, write_progress
from locgui.core.errors import Cancelled, LocguiError

# name -> (module, one-line help). Nested commands use "group name". ``train NAME`` commands
# are generated from the registered trainers (locgui.cli.train).
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("locgui.cli.info", "summarize any supported scene (--json for the schema)"),
    "synth": ("locgui.cli.synth", "write the synthetic demo scene with exact ground truth"),
    "map build": ("locgui.cli.map_build", "build a map bundle from a scene or image folder"),
    "localize": ("locgui.cli.localize", "localize query images against a map bundle"),
    "eval": ("locgui.cli.evaluate", "evaluate a method on a query split with ground truth"),
    "export kapture": ("locgui.cli.export_kapture", "write a map or scene as a kapture folder"),
    "export kapture-results": (
        "locgui.cli.export_results",
        "write localization results as a query kapture (estimated trajectories)",
    ),
    "methods": ("locgui.cli.methods", "list the registered localization methods"),
    "render": ("locgui.cli.render", "render the scene's NeRF at a pose"),
    "live": ("locgui.cli.live", "relocalize a webcam, video file or image folder live"),
    "gui": ("locgui.cli.gui", "open the workbench window (the default)"),
}

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="locgui",
        description="Visual localization workbench. Without a sub-command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"locgui {locgui.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for name, (module, help_text) in COMMANDS.items():
        parts = name.split()
        target = sub
        if len(parts) == 2:
            if parts[0] not in groups:
                gp = sub.add_parser(parts[0], help=f"{parts[0]} commands")
                groups[parts[0]] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND")
            target = groups[parts[0]]
        p = target.add_parser(parts[-1], help=help_text, description=help_text)
        p.set_defaults(_module=module)
        _add_arguments(module, p)
    _add_train_commands(sub)
    return parser


def _add_train_commands(sub: argparse._SubParsersAction) -> None:
    """``train NAME`` for every registered trainer (built-in or plug-in)."""
    from locgui.cli import train
    from locgui.methods.registry import all_trainers

    gp = sub.add_parser("train", help="train a per-scene model into a map bundle")
    sub_of = gp.add_subparsers(dest="subcommand", metavar="TRAINER")
    for trainer in all_trainers():
        text = f"train {trainer.title}"
        p = sub_of.add_parser(trainer.name, help=text, description=text)
        p.set_defaults(_module="locgui.cli.train")
        train.add_arguments(p, trainer)


def _add_arguments(module: str, parser: argparse.ArgumentParser) -> None:
    """Let the command declare its arguments; its module must import only light packages."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        parser.description = f"{parser.description} (not available in this build)"
        return
    mod.add_arguments(parser)


def command_words() -> set[str]:
    """The first words of the sub-commands (anything else opens the window on it)."""
    return {"train", *(name.split()[0] for name in COMMANDS)}


def main(argv: list[str] | None = None) -> int:
    from locgui.runtime.threads import sleep_when_idle

    sleep_when_idle()  # before torch is imported: its thread pool reads the environment
    argv = sys.argv[1:] if argv is None else argv
    # "locgui SCENE [--screenshot ...]" opens the window on SCENE.
    gui_options = ("--demo", "--screenshot", "--size", "--device", "--query", "--method")
    if argv and argv[0].split("=")[0] in gui_options:
        argv = ["gui", *argv]
    elif argv and not argv[0].startswith("-") and argv[0] not in command_words():
        argv = ["gui", *argv]
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    module = getattr(args, "_module", None)
    if module is None:
        if args.command is not None:  # a group without its sub-command
            parser.parse_args([args.command, "--help"])
        module = "locgui.cli.gui"
        args = parser.parse_args(["gui"])
    write_progress("", open_line=False)  # no line is open before this command
    try:
        return int(importlib.import_module(module).run(args) or 0)
    except Cancelled:
        end_progress_line()
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        end_progress_line()
        print("interrupted", file=sys.stderr)
        return 130
    except LocguiError as exc:
        end_progress_line()
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
