"""The batch engine (locgui.methods.batch): the results store, local worker processes, the
sweep's table and plots, and a failing or dying method costing one query, not the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from locgui.core.errors import MethodError
from locgui.methods.batch.plan import Plan, Settings, eval_map_plan, map_labels
from locgui.methods.batch.runner import Executor, run_batch
from locgui.methods.batch.store import ResultStore, StoreBusyError
from tests.entry_point_site import plugin_site

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def crashy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site folder declaring the ``crashy`` plug-in (tests/toy_plugin/crashy.py)."""
    return plugin_site(tmp_path_factory.mktemp("crashy_site"), "locgui-crashy", "crashy",
                       "tests.toy_plugin.crashy")  # fmt: skip


def locgui_cmd(*args: str, site: Path | None = None) -> tuple[list[str], dict[str, str]]:
    paths = [str(p) for p in (site, ROOT) if p is not None]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return [sys.executable, "-m", "locgui", *args], env


def run_locgui(*args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd, env = locgui_cmd(*args, site=site)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def poses(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {r["key"]: r["cam_from_world"] for r in rows}


# ---------------------------------------------------------------------------- the store


def row(key: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "query": key, "success": True, **extra}


def test_store_keeps_finished_rows_and_cuts_a_torn_line(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as store:
        store.append(row("a"))
        store.append(row("b"))
    path = tmp_path / "results.jsonl"
    with path.open("a") as fh:
        fh.write("not json\n")
        fh.write('{"key": "c", "query": "c", "succ')  # the process died mid-line
    with ResultStore(tmp_path) as store:
        assert store.keys() == {"a", "b"}
        assert store.skipped_lines == 1
        store.append(row("c"))
    lines = path.read_text().splitlines()
    assert lines[:2] == [json.dumps(row("a"), separators=(",", ":")),
                         json.dumps(row("b"), separators=(",", ":"))]  # fmt: skip
    assert json.loads(lines[-1])["key"] == "c"  # appended after the cut, on a line of its own
    assert ResultStore(tmp_path).keys() == {"a", "b", "c"}


def test_store_refuses_a_second_writer(tmp_path: Path) -> None:
    with ResultStore(tmp_path):
        with pytest.raises(StoreBusyError, match="another run"):
            ResultStore(tmp_path).__enter__()


def test_store_rejects_non_finite_numbers(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as store, pytest.raises(ValueError):
        store.append(row("a", t_err=float("inf")))


def test_map_labels_are_unique() -> None:
    assert map_labels(["x/a.locmap", "y/b.locmap"]) == ["a", "b"]
    assert map_labels(["x/a.locmap", "y/a.locmap"]) == ["x-a", "y-a"]


def test_bad_executor_options_are_refused() -> None:
    with pytest.raises(MethodError, match="--workers"):
        Executor(workers=0)
    with pytest.raises(MethodError, match="--ray"):
        Executor(ship_maps=True)


# ---------------------------------------------------------------------------- processes


@pytest.mark.slow
def test_worker_processes_give_the_single_process_poses(tiny_bundle_dir: Path) -> None:
    tiny = eval_map_plan(tiny_bundle_dir, "tiny", "test")
    plan = Plan([tiny], [Settings("sfm"), Settings("points")])
    serial = run_batch(plan, Executor(workers=1, threads=1))
    parallel = run_batch(plan, Executor(workers=2))
    assert len(serial.rows) == len(parallel.rows) == 2 * len(tiny.refs) == 8
    assert sum(r["success"] for r in serial.rows) >= 6
    assert poses(parallel.rows) == poses(serial.rows)  # seeded RANSAC: identical, not close
    assert len({r["worker"] for r in parallel.rows}) == 2
    assert {r["worker"] for r in parallel.rows}.isdisjoint({r["worker"] for r in serial.rows})


@pytest.mark.slow
def test_localize_with_workers_matches_plain_localize(
    tiny_bundle_dir: Path, tiny_scene_dir: Path, tmp_path: Path
) -> None:
    queries = sorted(str(p) for p in (tiny_scene_dir / "images").glob("query_*"))[:3]
    assert len(queries) == 3
    plain = run_locgui("localize", str(tiny_bundle_dir), *queries, "--json")
    batch = run_locgui("localize", str(tiny_bundle_dir), *queries, "--workers", "2", "--json",
                       "--out", str(tmp_path / "out"))  # fmt: skip
    assert plain.returncode == batch.returncode, batch.stderr
    by_name = {r["query"]: r["cam_from_world"] for r in json.loads(plain.stdout)}
    rows = json.loads(batch.stdout)
    assert [r["query"] for r in rows] == [Path(q).name for q in queries]
    assert {r["query"]: r["cam_from_world"] for r in rows} == by_name
    stored = ResultStore(tmp_path / "out").rows()
    assert {r["query"] for r in stored} == set(by_name)


@pytest.mark.slow
def test_a_raising_or_dying_method_costs_one_query(tiny_bundle_dir: Path, crashy_site: Path,
                                                   tmp_path: Path) -> None:  # fmt: skip
    out = tmp_path / "crash"
    done = run_locgui("eval", str(tiny_bundle_dir), "--method", "crashy,sfm", "--workers", "2",
                      "--out", str(out), "--json", site=crashy_site)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {(r["method"], r["query"]): r for r in json.loads(done.stdout)["rows"]}
    assert len(rows) == 8
    raised = rows["crashy", "query_0001.png"]
    assert not raised["success"] and "raised RuntimeError: crashy breaks" in raised["reason"]
    died = rows["crashy", "query_0002.png"]
    assert not died["success"] and "died while localizing this query" in died["reason"]
    assert rows["crashy", "query_0000.png"]["reason"] == "crashy never localizes"
    assert sum(r["success"] for (m, _), r in rows.items() if m == "sfm") >= 3  # the rest ran
    assert len(ResultStore(out).rows()) == 8


# ---------------------------------------------------------------------------- sweep


@pytest.mark.slow
def test_sweep_writes_one_table_and_the_plots(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    second = tmp_path / "maps" / "tiny.locmap"
    shutil.copytree(tiny_bundle_dir, second)
    out = tmp_path / "sweep"
    args = ["eval", str(tiny_bundle_dir), str(second), "--method", "sfm", "--preset",
            "default,fast", "--sweep", "--limit", "2", "--out", str(out)]  # fmt: skip
    done = run_locgui(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())  # strict JSON: no NaN
    groups = summary["summaries"]
    assert [(g["map"], g["preset"]) for g in groups] == [
        (m, p) for m in map_labels([tiny_bundle_dir, second]) for p in ("default", "fast")
    ]
    rows = ResultStore(out).rows()
    for g in groups:
        mine = [r for r in rows if r["map"] == g["map"] and r["preset"] == g["preset"]]
        assert g["queries"] == len(mine) == 2
        assert g["localized"] == sum(r["success"] for r in mine)
    table = (out / "summary.csv").read_text().splitlines()
    assert len(table) == 1 + 4 and table[0].startswith("map,method,preset,localized")
    for m in map_labels([tiny_bundle_dir, second]):
        for name in ("error_t", "error_r", "recall", "latency"):
            svg = ET.parse(out / "plots" / f"{m}_{name}.svg").getroot()
            assert svg.tag.endswith("svg") and len(list(svg.iter())) > 10
    again = run_locgui(*args)  # everything stored: nothing recomputed
    assert again.returncode == 0
    assert json.loads((out / "run.json").read_text())["computed"] == 0
    assert "0 computed, 8 already stored" in again.stdout


# ---------------------------------------------------------------------------- resume


def kill_when_stored(cmd: list[str], env: dict[str, str], store: Path, rows: int) -> None:
    """Start ``cmd`` in its own process group and SIGKILL the group once ``store`` holds
    ``rows`` rows (the run is interrupted with items in flight)."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 400
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if store.exists() and store.read_text().count("\n") >= rows:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before it could be interrupted"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


Rows = list[dict[str, Any]]


def interrupt_and_rerun(
    bundle: Path, out: Path, *executor: str
) -> tuple[Rows, subprocess.CompletedProcess[str]]:
    """Kill ``locgui eval`` (sfm, points; 8 items) once 2 rows are stored, then rerun it:
    (the rows stored before the rerun, the rerun)."""
    args = ("eval", str(bundle), "--method", "sfm,points", *executor, "--out", str(out),
            "--json")  # fmt: skip
    cmd, env = locgui_cmd(*args)
    kill_when_stored(cmd, env, out / "results.jsonl", 2)
    before = ResultStore(out).rows()
    assert 2 <= len(before) < 8
    done = run_locgui(*args)
    assert done.returncode == 0, done.stderr[-3000:]
    return before, done


@pytest.mark.slow
def test_an_interrupted_run_resumes_without_redoing_finished_items(
    tiny_bundle_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "resume"
    before, done = interrupt_and_rerun(tiny_bundle_dir, out, "--workers", "2")
    after = ResultStore(out).rows()
    assert sorted(r["key"] for r in after) == sorted(json.loads(done.stdout)["rows"][k]["key"]
                                                     for k in range(8))  # fmt: skip
    kept = {r["key"]: r for r in after}
    for r in before:  # finished items were not run again: same row, same worker
        assert kept[r["key"]] == r
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == len({json.loads(line)["key"] for line in lines}) == 8


@pytest.mark.slow
def test_a_worker_holds_a_bounded_number_of_maps(tiny_bundle_dir: Path, tmp_path: Path) -> None:
    from locgui.methods.batch.worker import BatchWorker

    copies = [tmp_path / f"m{k}.locmap" for k in range(3)]
    for c in copies:
        shutil.copytree(tiny_bundle_dir, c)
    maps = [eval_map_plan(c, c.stem, "test", limit=1) for c in copies]
    plan = Plan(maps, [Settings("points")])
    worker = BatchWorker(max_maps=2)
    rows = [worker.run(item) for item in plan.items]
    assert [r["map"] for r in rows] == ["m0", "m1", "m2"] and all(r["success"] for r in rows)
    assert worker.maps_held == [str(copies[1].resolve()), str(copies[2].resolve())]
    assert poses(rows[:1]) == {rows[0]["key"]: worker.run(plan.items[0])["cam_from_world"]}
    assert worker.maps_held == [str(copies[2].resolve()), str(copies[0].resolve())]


def test_ray_actors_are_fitted_to_the_cluster() -> None:
    from locgui.methods.batch.ray_runner import actors_that_fit

    assert actors_that_fit({"CPU": 8.0}, 4, 1, 0.0) == 4
    assert actors_that_fit({"CPU": 2.0}, 4, 1, 0.0) == 2  # fewer fit: run those
    assert actors_that_fit({"CPU": 16.0, "GPU": 2.0}, 8, 1, 0.5) == 4
    with pytest.raises(MethodError, match="0 GPU"):
        actors_that_fit({"CPU": 16.0}, 2, 1, 1.0)  # Ray would wait for a GPU forever
    with pytest.raises(MethodError, match="needs 4 CPU"):
        actors_that_fit({"CPU": 2.0}, 1, 4, 0.0)
