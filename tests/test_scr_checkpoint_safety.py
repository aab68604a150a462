"""A new SCR training run never replaces the last complete checkpoint until it finishes."""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from locgui.cli import main
from locgui.core.errors import Cancelled
from locgui.io.bundle import open_bundle
from locgui.methods.scr.checkpoint import load_checkpoint
from locgui.runtime.context import RunContext
from tests.plugins.scr import TINY_SCR_CONFIG

pytestmark = pytest.mark.learned

QUICK = replace(TINY_SCR_CONFIG, epochs=2.0, batch_size=256, log_every=10)


def _snapshot(bundle_dir: Path) -> dict[str, bytes]:
    folder = bundle_dir / "checkpoints" / "scr"
    files = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    files["<manifest entry>"] = json.dumps(manifest["checkpoints"]["scr"]).encode()
    return files


def _cancel_after(reports_wanted: int, check: object = None) -> RunContext:
    cancel = threading.Event()
    seen: list[str] = []

    def on_progress(stage: str, fraction: float, message: str) -> None:
        if stage == "scr training":
            seen.append(message)
            if callable(check):
                check()
            if len(seen) == reports_wanted:
                cancel.set()

    return RunContext(on_progress=on_progress, cancel_event=cancel)


def test_cancelled_fresh_run_keeps_the_complete_checkpoint_and_resume_finishes(
    tiny_scr_bundle_dir: Path, tmp_path: Path
) -> None:
    from locgui.methods.scr.train import train_scr

    bundle_dir = tmp_path / "b.locmap"
    shutil.copytree(tiny_scr_bundle_dir, bundle_dir)
    before = _snapshot(bundle_dir)
    with pytest.raises(Cancelled):
        train_scr(bundle_dir, QUICK, _cancel_after(2), device="cpu")
    assert _snapshot(bundle_dir) == before
    bundle = open_bundle(bundle_dir)
    load_checkpoint(bundle.checkpoint_dir("scr"), bundle.scene, "cpu")  # still loads
    unfinished = json.loads((bundle_dir / ".train" / "scr" / "metrics.json").read_text())
    assert not unfinished["completed"] and unfinished["step"] == 2 * QUICK.log_every

    done = train_scr(bundle_dir, None, RunContext(), device="cpu", resume=True)
    m = json.loads((done / "metrics.json").read_text())
    assert m["completed"] and m["step"] == m["total_steps"] == unfinished["total_steps"]
    steps = [row[0] for row in m["loss_curve"]]
    assert steps[:2] == [QUICK.log_every, 2 * QUICK.log_every]  # continued the cancelled run
    assert _snapshot(bundle_dir) != before
    assert not (bundle_dir / ".train" / "scr" / "weights.pt").exists()


def test_periodic_saves_leave_the_complete_checkpoint_alone(
    tiny_scr_bundle_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from locgui.methods.scr import train

    bundle_dir = tmp_path / "b.locmap"
    shutil.copytree(tiny_scr_bundle_dir, bundle_dir)
    before = _snapshot(bundle_dir)
    monkeypatch.setattr(train, "CHECKPOINT_SECONDS", -1.0)  # a save after every step
    checks: list[bool] = []
    ctx = _cancel_after(3, lambda: checks.append(_snapshot(bundle_dir) == before))
    with pytest.raises(Cancelled):
        train.train_scr(bundle_dir, QUICK, ctx, device="cpu")
    assert checks and all(checks)
    assert _snapshot(bundle_dir) == before


def test_cli_cancel_before_any_step_claims_nothing_was_stored(
    tiny_scr_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from locgui.methods.scr import train

    def cancelled_while_buffering(*args: object, **kwargs: object) -> None:
        raise Cancelled("cancelled by the user")

    monkeypatch.setattr(train, "build_buffer", cancelled_while_buffering)
    bundle_dir = tmp_path / "b.locmap"
    shutil.copytree(tiny_scr_bundle_dir, bundle_dir)
    assert main(["train", "scr", str(bundle_dir), "--tiny", "--device", "cpu"]) == 130
    err = capsys.readouterr().err
    assert "scr training cancelled" in err
    assert "--resume" not in err and "stored" not in err.replace("nothing was stored", "")


def test_folder_checkpoint_refuses_a_folder_of_other_data(tmp_path: Path) -> None:
    from locgui.core.errors import MethodError
    from locgui.methods.scr.store import check_output_folder

    check_output_folder(tmp_path / "new")  # missing: fine
    (tmp_path / "ckpt" / ".train").mkdir(parents=True)
    check_output_folder(tmp_path / "ckpt")  # an unfinished run only: fine
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "thesis.tex").write_text("x")
    with pytest.raises(MethodError, match="holds no SCR checkpoint"):
        check_output_folder(tmp_path / "data")  # a finished run would replace the folder
    assert (tmp_path / "data" / "thesis.tex").read_text() == "x"


def test_folder_checkpoint_save_keeps_other_files_and_drops_the_unfinished_run(
    tmp_path: Path,
) -> None:
    from locgui.methods.scr.store import CheckpointStore

    folder = tmp_path / "scr"
    store = CheckpointStore(None, folder=folder)  # type: ignore[arg-type]  # no scene needed
    store.save({"w": 1}, {"step": 1}, {"c": 1}, {"m": 1}, completed=False)
    assert store.unfinished() is not None
    (folder / "notes.txt").write_text("mine")
    store.save({"w": 2}, {"step": 2}, {"c": 2}, {"m": 2}, completed=True)
    assert (folder / "notes.txt").read_text() == "mine"
    assert json.loads((folder / "config.json").read_text()) == {"c": 2}
    assert store.unfinished() is None and not (folder / ".train").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scr"]
