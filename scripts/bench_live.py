"""Benchmark live relocalization on the synthetic demo video (640x480) and print the machine.

    .venv/bin/python scripts/bench_live.py [--minutes 5] [--clip-seconds 30] [--fps 15]
        [--method sfm] [--lockstep] [--device cpu|cuda|auto] [--threads 2] [--json OUT]
        [--wall-minutes M] [--sequential] [--track-keypoints N]
        [--compare --rounds R --variants old,new,budget,pipeline]  # A/B, alternating

The demo scene and its map come from the workbench's demo cache (``$XDG_CACHE_HOME/locgui/
demo``, generated and mapped on first use); the clip (``render_video``, same seed, with its
ground truth) is rendered once into ``demo/live/``. The clip is looped until ``--minutes``
of source time have been played: by default in real time at ``--fps`` (frames the
localizer is too slow for are dropped and counted, as with a webcam); ``--lockstep``
localizes every frame instead. Each loop restart is a real jump of the camera.

Reported: localized frames/s, latency p50/p90 and per stage, fractions tracked /
relocalized / lost, median error against the ground truth, dropped frames, and resident
memory (current and peak) near the start and at the end of the run, plus once a minute.
"""

from __future__ import annotations

import argparse
import json
import os

# Small matrix products in the tracker: OpenBLAS threads only spin against torch's (measured:
# guided matching 8 ms single-threaded vs ~10x that with 2 spinning threads under load).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import platform
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import locgui  # noqa: F401  (zlib before pycolmap)


def rss_mb() -> float:
    """Current resident set size of this process, MiB."""
    from locgui.runtime.memory import resident_mb

    return resident_mb()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, Any]:
    import torch

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def demo_clip(root: Path, seconds: float, fps: float) -> Path:
    """The demo room's webcam clip (rendered once, atomically) with its ground truth."""
    from locgui.io.synth import render_video

    folder = root / "live"
    clip = folder / f"demo_{seconds:g}s_{fps:g}fps.mp4"
    if clip.is_file() and clip.with_suffix(".tum.txt").is_file():
        return clip
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        made = render_video(Path(tmp) / clip.name, seed=0, preset="demo", seconds=seconds, fps=fps)
        for suffix in (".tum.txt", ".camera.json", ".mp4"):  # the video last: it marks done
            shutil.move(str(made.with_suffix(suffix)), str(clip.with_suffix(suffix)))
    return clip


def looping(clip: Path, total_seconds: float) -> Any:
    """A FrameSource playing ``clip`` again and again for ``total_seconds`` of source time."""
    from locgui.io.capture import Frame, FrameSource, VideoSource

    class LoopingSource(FrameSource):
        kind = "video"

        def __init__(self) -> None:
            self.inner = VideoSource(clip)
            super().__init__(f"{self.inner.description} looped")
            self.camera_file, self.ground_truth = self.inner.camera_file, None
            self.loops, self.offset, self.count = 0, 0.0, 0

        def open(self) -> None:
            self.inner.open()
            self.nominal_rate = self.inner.nominal_rate
            self.loops, self.offset, self.count = 0, 0.0, 0

        def read(self) -> Frame | None:
            frame = self.inner.read()
            if frame is None:  # end of the clip: play it again
                self.offset += (self.inner.frame_count or 0) / (self.nominal_rate or 1.0)
                self.loops += 1
                self.inner.open()
                frame = self.inner.read()
            if frame is None or self.offset + frame.timestamp >= total_seconds:
                return None
            self.count += 1
            return Frame(self.count - 1, self.offset + frame.timestamp, frame.rgb,
                         f"frame_{self.count - 1:06d}", frame.gt_cam_from_world)  # fmt: skip

        def close(self) -> None:
            self.inner.close()

    return LoopingSource()


def session_options(args: Any, pipeline: bool, track_keypoints: int | None) -> Any:
    from dataclasses import replace

    from locgui.methods.live.config import TrackerConfig
    from locgui.methods.live.session import SessionOptions

    tracker = TrackerConfig()
    if track_keypoints is not None:
        tracker = replace(tracker, track_keypoints=track_keypoints)
    return SessionOptions(
        method=args.method, lockstep=args.lockstep, device=args.device, tracker=tracker,
        pipeline=pipeline,
    )  # fmt: skip


def compare(args: Any) -> None:
    """Old and new live settings alternately in this process (see ``--compare``)."""
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    from locgui.methods.live.session import open_session
    from locgui.model.building import demo_root, prepare_demo
    from locgui.runtime.context import RunContext

    root = demo_root()
    bundle_path = Path(args.bundle) if args.bundle else prepare_demo(root, RunContext())
    clip = Path(args.clip) if args.clip else demo_clip(root, args.clip_seconds, args.fps)
    known = {"old": (False, 0), "new": (True, args.track_keypoints),  # the defaults
             "budget": (False, args.track_keypoints), "pipeline": (True, 0)}  # fmt: skip
    variants = {v: known[v] for v in args.variants.split(",")}
    figures: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    print(f"load before: {os.getloadavg()}", flush=True)
    for r in range(args.rounds):
        for name in list(variants) if r % 2 == 0 else list(variants)[::-1]:
            pipeline, keypoints = variants[name]
            options = session_options(args, pipeline, keypoints)
            session = open_session(bundle_path, looping(clip, args.minutes * 60.0), options)
            # On a worker thread, as the workbench runs it: on a loaded machine, torch's
            # two-thread kernels called from the main thread ran up to 10x slower here.
            box: list[Any] = []
            worker = threading.Thread(target=lambda s=session, b=box: b.append(s.run()))
            worker.start()
            worker.join()
            s = box[0].to_dict()
            row = {
                "fps": s["fps_localized"],
                "p50": s["latency_ms"]["p50"],
                "p90": s["latency_ms"]["p90"],
                "tracked": s["fractions"].get("tracked", 0.0),
                "localized": s["localized_fraction"],
                "err_mm": 1000 * (s["median_error_t"] or float("nan")),
            }
            figures[name].append(row)
            print(f"round {r} {name}: " + " ".join(f"{k} {v:.3f}" for k, v in row.items()),
                  f"load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    med = {n: {k: float(np.median([row[k] for row in rows])) for k in rows[0]}
           for n, rows in figures.items()}  # fmt: skip
    for n, m in med.items():
        print(f"median {n}: " + " ".join(f"{k} {v:.3f}" for k, v in m.items()))
    ref = next(iter(med))
    for n in list(med)[1:]:
        fps, p90 = med[n]["fps"] / med[ref]["fps"], med[n]["p90"] / med[ref]["p90"]
        print(f"{n}/{ref}: frames/s x{fps:.2f}, p90 latency x{p90:.2f}")
    print(f"load after {os.getloadavg()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="source time to play")
    parser.add_argument(
        "--wall-minutes", type=float, default=0.0,
        help="also stop after this much wall-clock time (0: no limit), e.g. a 1-hour memory "
        "run on a loaded machine that plays the clip slower than real time",
    )  # fmt: skip
    parser.add_argument("--clip-seconds", type=float, default=30.0, help="length of the clip")
    parser.add_argument("--fps", type=float, default=15.0, help="frame rate of the clip")
    parser.add_argument("--method", default="sfm")
    parser.add_argument("--lockstep", action="store_true", help="localize every frame")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--bundle", default=None, help="another map bundle (default: demo)")
    parser.add_argument("--clip", default=None, help="another clip with <stem>.tum.txt beside")
    parser.add_argument(
        "--sequential", action="store_true",
        help="extract and track each frame on one thread (no two-stage pipeline)",
    )  # fmt: skip
    parser.add_argument(
        "--track-keypoints", type=int, default=None,
        help="keypoints matched while the track is healthy (0: all; default: the setting's)",
    )  # fmt: skip
    parser.add_argument(
        "--compare", action="store_true",
        help="A/B in one process: 'old' (one stage, all keypoints) and 'new' (the defaults: "
        "two stages, reduced keypoints while healthy) alternate, --minutes each, --rounds "
        "times, on a worker thread as in the workbench; prints each run and the medians",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="rounds of --compare")
    parser.add_argument(
        "--variants", default="old,new",
        help="for --compare, of old, new, budget (one stage, reduced keypoints), pipeline "
        "(two stages, all keypoints); the first is the reference of the ratios",
    )  # fmt: skip
    args = parser.parse_args()
    if args.compare:
        compare(args)
        return

    import torch

    torch.set_num_threads(args.threads)
    from locgui.methods.live.session import open_session
    from locgui.model.building import demo_root, prepare_demo
    from locgui.runtime.context import RunContext

    root = demo_root()
    if args.bundle is None:
        print(f"demo cache: {root} (scene and map are prepared on first use)", flush=True)
    bundle_path = Path(args.bundle) if args.bundle else prepare_demo(root, RunContext())
    clip = Path(args.clip) if args.clip else demo_clip(root, args.clip_seconds, args.fps)
    before = machine()
    source = looping(clip, args.minutes * 60.0)
    options = session_options(args, not args.sequential, args.track_keypoints)
    session = open_session(bundle_path, source, options)
    memory: dict[str, Any] = {"per_minute_rss_mb": []}
    t0, cpu0 = time.monotonic(), time.process_time()
    next_minute = [60.0]

    def on_frame(result: Any) -> None:
        n = session.stats.frames
        if n == 20:  # warmed up: models loaded, first relocalizations done
            memory["start_rss_mb"], memory["start_peak_rss_mb"] = rss_mb(), peak_rss_mb()
        if time.monotonic() - t0 >= next_minute[0]:
            next_minute[0] += 60.0
            memory["per_minute_rss_mb"].append(round(rss_mb(), 1))
            print(f"{n} frames, {result.line()[:90]}, rss {rss_mb():.0f} MiB", flush=True)

    stop = threading.Event()
    if args.wall_minutes > 0:
        timer = threading.Timer(60.0 * args.wall_minutes, stop.set)
        timer.daemon = True
        timer.start()
    summary = session.run(on_frame=on_frame, stop_event=stop)
    cpu_s = time.process_time() - cpu0
    memory["end_rss_mb"], memory["end_peak_rss_mb"] = rss_mb(), peak_rss_mb()
    cpu_ms = 1000.0 * cpu_s / max(summary.frames, 1)
    report = {
        "machine_before": before,
        "load_average_after": os.getloadavg(),
        "settings": vars(args),
        "clip": str(clip),
        "loops": source.loops,
        "summary": summary.to_dict(),
        "memory": memory,
        "cpu_ms_per_frame": cpu_ms,
    }
    print("\n".join(summary.lines()))
    rate = source.nominal_rate or 0.0
    mode = "lock-step (every frame)" if args.lockstep else f"real time at {rate:g} fps"
    print(f"mode: {mode}; {args.minutes:g} min of source time, clip looped {source.loops}x")
    print(
        "memory: rss {start_rss_mb:.0f} MiB (peak {start_peak_rss_mb:.0f}) after 20 frames, "
        "{end_rss_mb:.0f} MiB (peak {end_peak_rss_mb:.0f}) at the end".format(**memory)
        if "start_rss_mb" in memory
        else f"memory: rss {memory['end_rss_mb']:.0f} MiB at the end"
    )
    print(f"rss per minute (MiB): {memory['per_minute_rss_mb']}")
    print(
        f"process CPU time: {cpu_ms:.0f} ms per frame handled ({cpu_s:.0f} s in all, all "
        "threads; the wall-clock figures above include waiting for a loaded CPU)"
    )
    print(f"machine: {json.dumps(before)}; load after: {report['load_average_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
