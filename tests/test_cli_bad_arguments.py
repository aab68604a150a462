"""Command-line mistakes end in one clear error line (exit 2), on a line of its own."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from locgui.cli import main
from locgui.io.capture.sources import CaptureError, open_source


def test_empty_query_folder(
    tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "queries"
    folder.mkdir()
    (folder / "notes.txt").write_text("no images here")
    assert main(["localize", str(tiny_bundle_dir), str(folder)]) == 2
    assert capsys.readouterr().err.strip() == f"error: no images in {folder}"


def test_text_file_as_video_source(
    tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("this is not a video\n" * 300)  # FFmpeg's "tty" reader renders text
    with pytest.raises(CaptureError, match="cannot open it as a video"):
        open_source(text).open()
    args = ["live", str(tiny_bundle_dir), "--source", str(text), "--max-frames", "3"]
    assert main([*args, "--intrinsics", "fov:60"]) == 2
    err = capsys.readouterr().err
    assert f"error: {text}: cannot open it as a video" in err
    assert "end of stream" not in err


@pytest.mark.parametrize("spec", ["/nonexistent", "/nonexistent/scene:test", "./missing"])
def test_eval_queries_path_that_does_not_exist(
    tiny_bundle_dir: Path, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    assert main(["eval", str(tiny_bundle_dir), "--queries", spec]) == 2
    err = capsys.readouterr().err
    path = spec.rpartition(":")[0] if spec.endswith(":test") else spec
    assert f"error: --queries {spec}: {path} does not exist" in err, err
    assert "split" not in err


def test_map_build_error_starts_on_a_fresh_line(
    tiny_scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    scene = tmp_path / "scene"
    shutil.copytree(tiny_scene_dir, scene)
    monkeypatch.setenv("LOCGUI_MAX_PIXELS", "100")  # every image is refused while extracting
    assert main(["map", "build", str(scene), "--out", str(tmp_path / "m.locmap")]) == 2
    err = capsys.readouterr().err
    assert "error: " in err
    assert err.startswith("error: ") or "\nerror: " in err, repr(err[-300:])


def test_train_progress_then_error_starts_on_a_fresh_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from locgui.cli.progress import end_progress_line
    from locgui.cli.train import Printer

    Printer(quiet=False)("scr training", 0.5, "step 5/10")
    end_progress_line()
    print("error: boom", file=__import__("sys").stderr)
    err = capsys.readouterr().err
    assert "\nerror: boom" in err and "\n\n" not in err


@pytest.mark.parametrize("target", ["source", "ground truth", "bundle", "both"])
def test_live_recordings_never_overwrite_what_the_session_reads(
    tiny_bundle_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], target: str,
) -> None:  # fmt: skip
    import cv2
    import numpy as np

    clip = tmp_path / "clip.mp4"
    frame = np.zeros((48, 64, 3), np.uint8)
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 5, (64, 48))
    for _ in range(3):
        writer.write(frame)
    writer.release()
    gt = tmp_path / "clip.tum.txt"
    gt.write_text("0.0 0 0 0 0 0 0 1\n")
    before = {p: p.read_bytes() for p in (clip, gt)}
    out, video_out = {
        "source": (None, clip),
        "ground truth": (gt, None),
        "bundle": (tiny_bundle_dir / "trajectory.txt", None),
        "both": (tmp_path / "x.mp4", tmp_path / "x.mp4"),
    }[target]
    args = ["live", str(tiny_bundle_dir), "--source", str(clip), "--intrinsics", "fov:60"]
    args += ["--out", str(out)] if out else []
    args += ["--video", str(video_out)] if video_out else []
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --") and "\n" not in err, err
    assert {p: p.read_bytes() for p in (clip, gt)} == before
    assert not (tiny_bundle_dir / "trajectory.txt").exists()
