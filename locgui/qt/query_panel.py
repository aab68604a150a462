"""The query list: the scene's query split with thumbnails, files opened or dropped, and
database images held out as queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from locgui.io.queries import QueryRef
from locgui.model.selection import Selection
from locgui.qt import style
from locgui.qt.controller import Workbench

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
THUMB = QtCore.QSize(96, 72)


def rgb_to_qimage(rgb: np.ndarray) -> QtGui.QImage:
    """(H, W, 3) uint8 RGB -> a QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QtGui.QImage(rgb.data, w, h, 3 * w, QtGui.QImage.Format.Format_RGB888).copy()


def thumbnail(rgb: np.ndarray, max_side: int = 96) -> np.ndarray:
    """A small copy by striding (cheap; thumbnails need no filtering)."""
    step = max(1, int(np.ceil(max(rgb.shape[:2]) / max_side)))
    return np.ascontiguousarray(rgb[::step, ::step])


class QueryPanel(QtWidgets.QWidget):
    """Lists ``AppState.queries``; selecting one makes it the current query."""

    def __init__(self, bench: Workbench, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.bench = bench
        self.state = bench.state
        self.list = QtWidgets.QListWidget()
        self.list.setIconSize(THUMB)
        self.list.setUniformItemSizes(True)
        self.list.setAlternatingRowColors(True)
        self.list.currentItemChanged.connect(self._on_current)
        self.list.itemDoubleClicked.connect(lambda _: bench.localize())
        open_btn = QtWidgets.QPushButton("Open image…")
        open_btn.setToolTip("Add an image file as a query (or drop images on the window)")
        open_btn.clicked.connect(self.open_dialog)
        self.hold_out_btn = QtWidgets.QPushButton("Hold out database image")
        self.hold_out_btn.setToolTip(
            "Use the database image shown in the image view as a query, excluded from retrieval"
        )
        self.hold_out_btn.clicked.connect(self.hold_out_current)
        self.count = style.shrinkable(style.styled_label(role="muted"))
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(open_btn)
        buttons.addWidget(self.hold_out_btn)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.count)
        lay.addWidget(self.list, 1)
        lay.addLayout(buttons)
        self._thumbs: dict[str, QtGui.QIcon] = {}
        self.state.queries_changed.connect(self._rebuild)
        self.state.selection.changed.connect(self._on_selection)
        self.state.scene_changed.connect(self._thumbs.clear)
        self._rebuild()

    # ------------------------------------------------------------------ list
    def _rebuild(self) -> None:
        current = self.state.selection.current.query
        with QtCore.QSignalBlocker(self.list):
            self.list.clear()
            for q in self.state.queries.values():
                item = QtWidgets.QListWidgetItem(self._label(q))
                item.setData(QtCore.Qt.ItemDataRole.UserRole, q.name)
                item.setToolTip(str(q.path) if q.path else q.name)
                if q.name in self._thumbs:
                    item.setIcon(self._thumbs[q.name])
                self.list.addItem(item)
                if q.name == current:
                    self.list.setCurrentItem(item)
        n = len(self.state.queries)
        text = (f"{n} quer{'y' if n == 1 else 'ies'} · double-click or Enter to localize" if n
                else "no queries · hold out a database image (Ctrl+H) or open query images "
                "(Ctrl+Shift+O, or drop them here)")  # fmt: skip
        self.count.setText(text)
        self.count.setToolTip(text)
        self.hold_out_btn.setEnabled(self.state.selection.current.image_id is not None)
        self._load_thumbnails(
            [q for q in self.state.queries.values() if q.name not in self._thumbs]
        )

    @staticmethod
    def _label(q: QueryRef) -> str:
        tags = []
        if q.gt_cam_from_world is not None:
            tags.append("GT")
        if q.held_out:
            tags.append("held out")
        elif q.image_id is None:
            tags.append("file")
        return f"{q.name}\n{' · '.join(tags)}" if tags else q.name

    def _on_current(self, item: QtWidgets.QListWidgetItem | None, _prev: object) -> None:
        if item is not None:
            self.state.select_query(item.data(QtCore.Qt.ItemDataRole.UserRole), source="queries")

    def _on_selection(self, new: Selection, old: Selection) -> None:
        self.hold_out_btn.setEnabled(new.image_id is not None)
        if new.query == old.query:
            return
        with QtCore.QSignalBlocker(self.list):
            for r in range(self.list.count()):
                if self.list.item(r).data(QtCore.Qt.ItemDataRole.UserRole) == new.query:
                    self.list.setCurrentRow(r)

    # ------------------------------------------------------------------ thumbnails
    def _load_thumbnails(self, queries: list[QueryRef]) -> None:
        if not queries:
            return

        def job(ctx: Any) -> None:
            from locgui.io.images import read_image

            for q in queries:
                ctx.check_cancelled()
                if q.pixels is not None:
                    rgb = q.pixels
                elif q.path is not None:
                    try:
                        rgb = read_image(q.path)
                    except Exception:  # noqa: BLE001  (a thumbnail is not worth an error)
                        continue
                else:
                    continue
                ctx.partial("thumb", (q.name, thumbnail(rgb)))

        task = self.bench.submit(
            job, "thumbnails", "thumbnails", executor="io", notify_failure=False
        )
        task.partial.connect(self._on_thumb)

    def _on_thumb(self, kind: str, payload: tuple[str, np.ndarray]) -> None:
        name, small = payload
        icon = QtGui.QIcon(QtGui.QPixmap.fromImage(rgb_to_qimage(small)))
        self._thumbs[name] = icon
        for r in range(self.list.count()):
            item = self.list.item(r)
            if item.data(QtCore.Qt.ItemDataRole.UserRole) == name:
                item.setIcon(icon)

    # ------------------------------------------------------------------ adding queries
    def open_dialog(self) -> None:
        paths, _ = QtWidgets.QFileDialog.getOpenFileNames(
            self, "Open query images", "", "Images (*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp)"
        )
        self.add_files([Path(p) for p in paths])

    def add_files(self, paths: list[Path]) -> list[QueryRef]:
        added = []
        for path in paths:
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                self.state.notifications.warning(f"{path.name} is not an image file; not added")
                continue
            q = QueryRef.from_file(path, self.state.queries)
            added.append(self.state.add_query(q, select=path == paths[-1]))
        return added

    def hold_out_current(self) -> QueryRef | None:
        scene, image_id = self.state.scene, self.state.selection.current.image_id
        if scene is None or image_id is None:
            self.state.notifications.warning("pick a database image first (click a camera in 3D)")
            return None
        return self.state.add_query(QueryRef.from_scene(scene, image_id, held_out=True))
