"""The workbench controller: turns user intents into worker tasks and task events into state.

Views call ``open_path``, ``localize``, ``cancel``... The controller snapshots what a task
needs on the main thread, submits it to the worker bridge, and applies what comes back to the
``AppState`` on the main thread. Every failure becomes one notification.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6 import QtCore

from locgui.core.errors import LocguiError
from locgui.core.results import LocalizationResult
from locgui.model import building, jobs
from locgui.model.live import PAUSED, LiveControl, LiveRequest, run_live
from locgui.model.progress import STAGES_OF_TASK, StagedProgress
from locgui.model.state import AppState
from locgui.qt.workers import JobFn, Task, WorkerBridge

log = logging.getLogger(__name__)

LIVE = "live"  # the task kind and executor of live runs


class Workbench(QtCore.QObject):
    """Owns the state and the worker bridge; the main window and every panel share it.

    Signals:
        scene_opened(path): a scene or bundle opened (for the recent-scenes list).
        busy_changed(labels): the labels of tasks in flight.
        progress(label, fraction, message): progress of the newest task.
        localized(query, results): a Localize request finished.
        evaluated(folder): a Localize all run finished; its evaluation folder.
    """

    scene_opened = QtCore.Signal(object)
    busy_changed = QtCore.Signal(list)
    progress = QtCore.Signal(str, float, str)
    localized = QtCore.Signal(str, list)
    evaluated = QtCore.Signal(str)

    def __init__(self, state: AppState | None = None, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state or AppState()
        self.bridge = WorkerBridge(self)
        self.localizers = jobs.LocalizerCache()
        self._live: tuple[Task, LiveControl] | None = None  # the live run in flight
        self.bridge.task_added.connect(self._on_tasks)
        self.bridge.task_done.connect(self._on_tasks)

    # ------------------------------------------------------------------ generic
    def submit(
        self,
        fn: JobFn,
        kind: str,
        label: str,
        executor: str = "cpu",
        supersede: str = "pending",
        notify_failure: bool = True,
    ) -> Task:
        """Submit a job; its failure (if any) reaches the notification area."""
        task = self.bridge.submit(fn, kind, label, executor, supersede)
        if kind in STAGES_OF_TASK:  # several stages: one bar that only moves forward
            staged = StagedProgress(STAGES_OF_TASK[kind])

            def forward(stage: str, f: float, msg: str) -> None:
                value, text = staged(stage, f, msg)
                self.progress.emit(task.label, value, text)

            task.progress.connect(forward)
        else:
            task.progress.connect(lambda stage, f, msg: self.progress.emit(task.label, f, msg))
        if notify_failure:
            task.failed.connect(functools.partial(self._on_failed, task))
        return task

    def _on_failed(self, task: Task, exc: BaseException, tb: str) -> None:
        if isinstance(exc, LocguiError):
            self.state.notifications.error(f"{task.label}: {exc}", source=task.kind)
        else:
            msg = f"{task.label} failed: {type(exc).__name__}: {exc}"
            self.state.notifications.error(msg, detail=tb, source=task.kind)

    def _on_tasks(self, _task: Task) -> None:
        self.busy_changed.emit([t.label for t in self.bridge.tasks()])

    def cancel(self) -> None:
        """Cancel everything in flight (Esc) but a live run, which has its own Stop."""
        tasks = [t for t in self.bridge.tasks() if t.kind != LIVE]
        for task in tasks:
            self.bridge.cancel(task)
        if tasks:
            self.state.notifications.info(f"cancelled {', '.join(t.label for t in tasks)}")

    def shutdown(self) -> bool:
        return self.bridge.shutdown()

    # ------------------------------------------------------------------ scenes
    def open_path(self, path: str | Path) -> Task:
        """Open a scene folder/file or a map bundle in a worker; the state follows on success."""
        path = Path(path)
        task = self.submit(
            functools.partial(jobs.open_path, path), "open", f"open {path.name}", executor="io"
        )
        task.finished.connect(self._on_opened)
        return task

    def _on_opened(self, opened: jobs.OpenedScene) -> None:
        self.localizers.clear()
        self.state.set_scene(opened.scene, opened.bundle, opened.path, opened.queries)
        if opened.bundle is None:
            self.state.notifications.warning(
                f"{opened.path.name} has no map bundle: localization needs one "
                f"(Map > Build map bundle, or `locgui map build {opened.path}`)",
                source="open",
            )
        self.scene_opened.emit(opened.path)

    # ------------------------------------------------------------------ localization
    def method_config(self, name: str) -> Any:
        from locgui.methods.registry import get_method

        if name not in self.state.configs:
            self.state.configs[name] = get_method(name).make_config()
        return self.state.configs[name]

    def localize(self, methods: list[str] | None = None) -> Task | None:
        """Localize the current query with the chosen methods (Enter)."""
        state = self.state
        query = state.current_query
        methods = list(methods or state.settings["methods"])
        if query is None:
            state.notifications.warning("pick a query first (query list, Open image, or drop one)")
            return None
        if not methods:
            state.notifications.warning("pick at least one method")
            return None
        if state.bundle is None:
            state.notifications.error(
                "this scene has no map bundle: build one (Map > Build map bundle) or open a "
                "*.locmap folder"
            )
            return None
        request = jobs.LocalizeRequest(
            query=query,
            methods=tuple((m, self.method_config(m)) for m in methods),
            bundle=state.bundle,
            device=str(state.settings["device"]),
        )
        job = functools.partial(jobs.localize, request, cache=self.localizers)
        # A newer request for the same query supersedes a pending one; other queries queue up.
        kind = f"localize:{query.name}"
        task = self.submit(job, kind, f"localize {query.name}", executor=request.device)
        current: dict[str, str] = {}
        task.partial.connect(functools.partial(self._on_localize_partial, query.name, current))
        task.finished.connect(lambda results: self.localized.emit(query.name, results))
        return task

    def localize_all(
        self, methods: list[str] | None = None, out: Path | None = None
    ) -> Task | None:
        """Localize every query of the list with the ticked methods in the background; results
        stream into the Results dock, and the finished run's folder opens in the evaluation
        window (``evaluated`` signal)."""
        from locgui.model.localize_all import LocalizeAllRequest, default_folder, localize_all

        state = self.state
        methods = list(methods or state.settings["methods"])
        if not state.queries:
            state.notifications.warning(
                "no queries: open a scene with a test split, hold out database images "
                "(Ctrl+H) or open query images"
            )
            return None
        if not methods or state.bundle is None:
            state.notifications.warning(
                "Localize all needs a map bundle and at least one ticked method"
            )
            return None
        name = Path(str(getattr(state.bundle, "path", "scene"))).name.removesuffix(".locmap")
        request = LocalizeAllRequest(
            queries=tuple(state.queries.values()),
            methods=tuple((m, self.method_config(m)) for m in methods),
            bundle=state.bundle, out=out or default_folder(name),
            device=str(state.settings["device"]),
        )  # fmt: skip
        job = functools.partial(localize_all, request, cache=self.localizers)
        n = len(request.queries) * len(methods)
        task = self.submit(job, "localize-all", f"localize all ({n} runs)",
                           executor=request.device, supersede="none")  # fmt: skip
        task.partial.connect(lambda kind, payload: self._apply_result(payload)
                             if kind == "result" else None)  # fmt: skip
        task.finished.connect(lambda folder: self.evaluated.emit(str(folder)))
        return task

    def _on_localize_partial(
        self, query: str, current: dict[str, str], kind: str, payload: Any
    ) -> None:
        if kind == "method":
            current["method"] = payload
        elif kind == "result":
            self._apply_result(payload)
        elif "method" in current and query in self.state.queries:
            self.state.set_partial(query, current["method"], kind, payload)

    def _apply_result(self, result: LocalizationResult) -> None:
        if result.query_name not in self.state.queries:
            return  # the scene changed while it ran
        self.state.set_result(result)
        if jobs.EXTRA_EXCEPTION in result.extras:
            self.state.notifications.error(
                f"{result.method} crashed on {result.query_name}: {result.reason}",
                detail=str(result.extras[jobs.EXTRA_EXCEPTION]),
                source="localize",
            )
        elif result.extras.get(jobs.EXTRA_METHOD_ERROR):
            self.state.notifications.error(f"{result.method}: {result.reason}", source="localize")

    # ------------------------------------------------------------------ images
    def load_image(
        self, path: Path, kind: str, on_loaded: Callable[[Any], None], depth: Any = None
    ) -> Task:
        """Read an image (and optionally its ``DepthInfo``) in the io worker."""

        def job(ctx: Any) -> tuple[Any, Any]:
            from locgui.io.images import read_depth, read_image

            rgb = read_image(path)
            ctx.check_cancelled()
            return rgb, (read_depth(depth) if depth is not None else None)

        task = self.submit(job, kind, f"read {path.name}", executor="io")
        task.finished.connect(on_loaded)
        return task

    # ------------------------------------------------------------------ training
    def train(self, trainer: str, resume: bool = False, config: Any = None) -> Task | None:
        """Train a registered trainer into the open map bundle (a child process watched from
        the "train" executor: localizing goes on meanwhile), then reopen the bundle so its new
        capability shows. ``config``: the trainer's config (default: its defaults)."""
        from locgui.methods.registry import get_trainer

        bundle = self.state.bundle
        if bundle is None or not hasattr(bundle, "path"):
            self.state.notifications.warning("open a map bundle to train on", source="train")
            return None
        spec = get_trainer(trainer)
        cfg = config if config is not None else spec.make_config()
        device = str(self.state.settings["device"])
        job = functools.partial(
            building.train_subprocess, trainer, Path(bundle.path), cfg, resume, device
        )
        verb = "resume" if resume else "train"
        task = self.submit(job, "train", f"{verb} {trainer}", executor="train",
                           supersede="none")  # fmt: skip
        path = Path(bundle.path)

        def done(metrics: dict[str, Any]) -> None:
            seconds = metrics.get("train_seconds", metrics.get("total_seconds", "?"))
            self.state.notifications.info(
                f"{trainer} trained in {seconds} s -> {metrics.get('checkpoint', path)}", "train"
            )
            self.open_path(path)

        task.finished.connect(done)
        return task

    # ------------------------------------------------------------------ map building
    def build_map(
        self, source: Path, out: Path, config: Any = None, open_when_done: bool = True
    ) -> Task:
        """Build a map bundle from ``source`` into ``out`` (a child process, watched from the
        "build" executor so localizations on "cpu" are not queued behind it), then open it."""
        job = functools.partial(building.build_map_subprocess, Path(source), Path(out), config)

        task = self.submit(job, "build", f"build map {Path(out).name}", executor="build")
        if open_when_done:
            task.finished.connect(lambda path: self.open_path(path))
        task.finished.connect(
            lambda path: self.state.notifications.info(f"map bundle written to {path}", "build")
        )
        return task

    # ------------------------------------------------------------------ live relocalization
    def start_live(self, source: str, options: Any, max_frames: int | None = None) -> Task | None:
        """Relocalize ``source`` (webcam index, video file or image folder) live against the
        open map with ``options`` (``SessionOptions``) on the "live" executor; the run's
        state goes to ``state.live``. None (and a message there) when it cannot start."""
        live, bundle = self.state.live, self.state.bundle
        if live.active:
            return None
        if bundle is None:
            live.fail("open a scene with a map bundle first")
            return None
        if not source:
            live.fail("choose a video file, an image folder or a webcam")
            return None
        control = LiveControl()
        live.begin(source, options.method)
        request = LiveRequest(bundle, source, options, max_frames, live.runs[-1])
        task = self.submit(
            functools.partial(run_live, request, control), LIVE, f"live {Path(source).name}",
            executor=LIVE, supersede="none", notify_failure=False,
        )  # fmt: skip
        self._live = (task, control)
        task.partial.connect(functools.partial(self._on_live_partial, task))
        task.failed.connect(functools.partial(self._on_live_failed, task))
        task.done.connect(functools.partial(self._on_live_done, task))
        return task

    def pause_live(self, paused: bool) -> None:
        if self._live is not None:
            self._live[1].pause(paused)
            self.state.live.set_paused(paused)

    def step_live(self) -> None:
        """Pause (if running) and let one more frame through."""
        if self._live is not None:
            if self.state.live.status != PAUSED:
                self.pause_live(True)
            self._live[1].step()

    def stop_live(self) -> None:
        if self._live is not None:
            self.bridge.cancel(self._live[0])

    def _on_live_partial(self, task: Task, kind: str, payload: Any) -> None:
        if self._live is None or self._live[0] is not task:
            return
        if kind == "frame":
            update = self._live[1].take()
            if update is not None:
                self.state.live.set_frame(update)
        elif kind == "summary":
            self.state.live.finish(payload)

    def _on_live_failed(self, task: Task, exc: BaseException, tb: str) -> None:
        if isinstance(exc, LocguiError):
            self.state.live.fail(str(exc))
        else:
            self.state.live.fail(f"unexpected error: {type(exc).__name__}: {exc}")
            self._on_failed(task, exc, tb)

    def _on_live_done(self, task: Task) -> None:
        if self._live is not None and self._live[0] is task:
            self._live = None
            if self.state.live.active:  # cancelled before the session ran
                self.state.live.stopped()
