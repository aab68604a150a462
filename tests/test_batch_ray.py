"""The batch engine on a local Ray (2 CPUs) with the tiny synthetic scene: the poses of the
single-process run, maps shipped through the object store, a raising and a dying method
recorded per query, resume after a kill, and a clear message without Ray."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from locgui.methods.batch.plan import Plan, Settings, eval_map_plan
from locgui.methods.batch.runner import Executor, run_batch
from locgui.methods.batch.store import ResultStore
from tests.test_batch import crashy_site, interrupt_and_rerun, locgui_cmd, poses, run_locgui

__all__ = ["crashy_site"]  # the fixture, shared with test_batch

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray is not installed (pip install 'locgui[ray]'; CI installs it)",
)


@needs_ray
@pytest.mark.slow
def test_ray_gives_the_single_process_poses_and_records_crashes(
    tiny_bundle_dir: Path, crashy_site: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ray"
    done = run_locgui("eval", str(tiny_bundle_dir), "--method", "sfm,crashy", "--ray",
                      "--workers", "2", "--ship-maps", "--out", str(out), "--json",
                      site=crashy_site)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["run"]["executor"] == "ray" and result["run"]["shipped_bytes"] > 0
    rows = result["rows"]
    assert len(rows) == 8 and len(ResultStore(out).rows()) == 8
    serial = run_batch(Plan([eval_map_plan(tiny_bundle_dir, "tiny", "test")], [Settings("sfm")]),
                       Executor(workers=1, threads=1))  # fmt: skip
    ray_sfm = [r for r in rows if r["method"] == "sfm"]
    assert sum(r["success"] for r in ray_sfm) >= 3
    assert poses(ray_sfm) == poses(serial.rows)
    assert not {r["worker"] for r in ray_sfm} & {r["worker"] for r in serial.rows}
    crashy = {r["query"]: r for r in rows if r["method"] == "crashy"}
    assert "raised RuntimeError" in crashy["query_0001.png"]["reason"]
    assert "Ray worker died" in crashy["query_0002.png"]["reason"]
    assert crashy["query_0003.png"]["reason"] == "crashy never localizes"


@needs_ray
@pytest.mark.slow
def test_ray_run_resumes_after_a_kill(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "resume"
    before, done = interrupt_and_rerun(tiny_bundle_dir, out, "--ray", "--workers", "2")
    after = {r["key"]: r for r in ResultStore(out).rows()}
    assert len(after) == 8 and all(after[r["key"]] == r for r in before)
    assert json.loads(done.stdout)["run"]["computed"] == 8 - len(before)


def test_without_ray_the_message_says_how_to_get_it(tiny_bundle_dir: Path) -> None:
    argv = ["eval", str(tiny_bundle_dir), "--ray", "--limit", "1"]
    code = ("import sys; sys.modules['ray'] = None; from locgui.cli import main; "
            f"raise SystemExit(main({argv!r}))")  # fmt: skip
    cmd, env = locgui_cmd()
    done = subprocess.run([cmd[0], "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Ray, which is not installed" in done.stderr
    assert "pip install 'locgui[ray]'" in done.stderr and "--workers N" in done.stderr
    assert "Traceback" not in done.stderr


@needs_ray
def test_no_cluster_at_the_address_is_a_clear_error(tiny_bundle_dir: Path) -> None:
    cmd, env = locgui_cmd("eval", str(tiny_bundle_dir), "--ray", "auto", "--limit", "1")
    env = {k: v for k, v in env.items() if k != "RAY_ADDRESS"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                          cwd=str(Path(__file__).resolve().parents[1]))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "no Ray cluster at auto" in done.stderr and "ray start --head" in done.stderr
    assert "Traceback" not in done.stderr
