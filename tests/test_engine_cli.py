"""`locgui map build / localize / eval / methods` end to end on the tiny map."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from locgui.cli import main
from locgui.core.metrics import pose_error
from locgui.core.pose import Rigid3
from locgui.io import open_scene
from locgui.io.bundle import MapBundle
from locgui.io.poses import read_poses


def test_methods_lists_engine_methods_with_config_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["methods", "--json"]) == 0
    info = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert {"sfm", "points", "rpr"} <= set(info)
    fields = {f["name"]: f for f in info["points"]["config"]}
    assert fields["reliability"]["default"] == 0.7 and fields["reliability"]["max"] == 1.0
    assert info["sfm"]["requires"] == ["sfm_points", "retrieval"]


def test_localize_reports_poses_and_per_query_failures(
    tiny_bundle_dir: Path, tiny_scene_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scene = open_scene(tiny_scene_dir)
    query = scene.image_by_name("query_0000.png")
    assert query is not None and query.cam_from_world is not None
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    calib = tmp_path / "cam.json"
    calib.write_text(json.dumps(scene.camera_of(query.image_id).to_dict()))
    code = main(["localize", str(tiny_bundle_dir), str(tiny_scene_dir / "images" / query.name),
                 str(broken), "--intrinsics", str(calib), "--json"])  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # one query failed, the batch went on
    ok, bad = out
    assert ok["success"] and ok["num_inliers"] >= 12 and len(ok["retrieved"]) == 5
    assert list(ok["timings_ms"]) == ["extract", "retrieve", "match", "refine", "pnp"]
    t, r = pose_error(Rigid3.from_dict(ok["cam_from_world"]), query.cam_from_world)
    assert t < 0.1 and r < 1.0
    assert not bad["success"] and "broken.png: not a decodable image" in bad["reason"]


def test_localize_text_output_and_fov_guess(
    tiny_bundle_dir: Path, tiny_scene_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tiny_scene_dir / "images" / "query_0003.png"
    code = main(["localize", str(tiny_bundle_dir), str(image), "--intrinsics", "fov:65"])
    text = capsys.readouterr().out
    assert text.startswith("query_0003.png: ")
    assert "guessed from a 65 deg horizontal field of view" in text
    assert code in (0, 1)  # a guessed focal may or may not be good enough; it must say so


def test_a_fov_guess_configures_every_method() -> None:
    """``--intrinsics fov:60`` once failed for scr ("no parameter(s) ['use_map_camera']")."""
    from locgui.methods.localize.configs import fov_guess_overrides
    from locgui.methods.registry import all_methods

    for spec in all_methods():
        config = spec.make_config(**fov_guess_overrides(spec.config_class(), 60.0))
        assert config.fov_deg == 60.0, spec.name
        assert getattr(config, "use_map_camera", False) is False, spec.name


def test_localize_against_a_map_without_points_is_an_error_not_a_crash(
    tiny_bundle: MapBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_engine_localize import make_pointless_bundle

    empty = make_pointless_bundle(tiny_bundle, tmp_path / "empty.locmap")
    image = tiny_bundle.scene.image_path(sorted(tiny_bundle.scene.images)[0])
    assert main(["localize", str(empty.path), str(image)]) == 2
    assert "needs map capabilities ['sfm_points']" in capsys.readouterr().err


def test_eval_prints_recall_and_writes_rows_and_poses(
    tiny_bundle_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval"
    code = main(["eval", str(tiny_bundle_dir), "--queries", "test", "--json", "--out", str(out)])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    summary = report["summary"]
    assert summary["queries"] == 4 and summary["localized"] == 4
    assert summary["metric"]["recall"]["0.25m/2deg"] == 1.0
    assert summary["metric"]["median_translation"] < 0.05
    assert set(summary["latency_ms"]) == {"median", "p90", "max"}
    names, poses = read_poses(out / "poses_colmap.txt", "colmap")
    tum_names, tum_poses = read_poses(out / "poses_tum.txt", "tum")
    assert names == tum_names == [r["query"] for r in report["rows"]]
    for row, pose, tum in zip(report["rows"], poses, tum_poses, strict=True):
        assert pose.allclose(Rigid3.from_dict(row["cam_from_world"]), 1e-9)
        assert tum.allclose(pose, 1e-9)
    assert (out / "rows.csv").read_text().count("\n") == 5


def test_map_build_refuses_to_overwrite_and_interrupt_leaves_nothing(
    tiny_bundle_dir: Path, tiny_scene_dir: Path, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert main(["map", "build", str(tiny_scene_dir), "--out", str(tiny_bundle_dir)]) == 2
    assert "already exists" in capsys.readouterr().err

    from locgui.methods.mapping import pipeline

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "extract_all", interrupted)  # Ctrl-C during extraction
    out = tmp_path / "x.locmap"
    code = main(["map", "build", str(tiny_scene_dir), "--out", str(out)])
    assert code == 130 and not out.exists() and not list(tmp_path.iterdir())
    assert "interrupted" in capsys.readouterr().err
