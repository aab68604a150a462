"""The entity tree dock: scene, queries and their results, methods, live runs (``model.entities``).

Check boxes show or hide layers and methods; clicking a node selects what it stands for or
shows its track in the timeline. The tree is rebuilt from the state at most every
``REBUILD_MS`` (a "Localize all" streams hundreds of results), keeping expanded nodes, and
follows the selection made in other views.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from locgui.model import entities
from locgui.model.entities import Entity
from locgui.model.state import AppState
from locgui.qt import style

REBUILD_MS = 150
KEY = QtCore.Qt.ItemDataRole.UserRole
EXPANDED = {"scene", "queries", "methods", "live"}  # expanded on a first build


class EntityTree(QtWidgets.QWidget):
    """The tree (two columns: name, detail) bound to an ``AppState``."""

    def __init__(self, state: AppState, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.tree = QtWidgets.QTreeWidget(self)
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Entity", ""])
        self.tree.setUniformRowHeights(True)
        self.tree.header().setStretchLastSection(True)
        self.tree.header().setSectionResizeMode(
            0, QtWidgets.QHeaderView.ResizeMode.ResizeToContents
        )
        self.tree.setToolTip(
            "Tick to show or hide in the 3D view; click to select (an image, a query, a "
            "result) or to scrub a method's results or a live run in the timeline"
        )
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tree)
        self.items: dict[str, QtWidgets.QTreeWidgetItem] = {}
        self._expanded: set[str] = set(EXPANDED)
        self._icons: dict[str, QtGui.QIcon] = {}
        self._building = False
        self._timer = QtCore.QTimer(self, singleShot=True, interval=REBUILD_MS)
        self._timer.timeout.connect(self.rebuild)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemExpanded.connect(lambda it: self._expanded.add(it.data(0, KEY)))
        self.tree.itemCollapsed.connect(lambda it: self._expanded.discard(it.data(0, KEY)))
        for signal in (state.scene_changed, state.queries_changed):
            signal.connect(self.schedule)
        state.results_changed.connect(lambda *_: self.schedule())
        state.live.status_changed.connect(lambda *_: self.schedule())
        state.live.finished.connect(lambda *_: self.schedule())
        state.settings.changed.connect(self._on_setting)
        state.selection.changed.connect(lambda new, old: self.follow_selection())
        self.rebuild()

    def schedule(self) -> None:
        """Rebuild soon (changes in a burst rebuild once)."""
        if not self._timer.isActive():
            self._timer.start()

    def _on_setting(self, key: str, value: object) -> None:
        if key.startswith("layer.") or key == "hidden_methods":
            self.schedule()

    # ------------------------------------------------------------------ model -> tree
    def rebuild(self) -> None:
        self._timer.stop()
        nodes = entities.build(self.state, style.method_color)
        flat = [n for node in nodes for n in node.walk()]
        if [n.key for n in flat] == list(self.items):
            self._refresh(flat)  # the same nodes: texts and check boxes only (cheap)
            return
        bar = self.tree.verticalScrollBar().value()
        self._building = True
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            self.items = {}
            for node in nodes:
                self.tree.addTopLevelItem(self._item(node))
            for key, item in self.items.items():
                item.setExpanded(key in self._expanded)
            self.follow_selection()
        finally:
            self.tree.setUpdatesEnabled(True)
            self._building = False
        self.tree.verticalScrollBar().setValue(bar)

    def _refresh(self, flat: list[Entity]) -> None:
        self._building = True
        try:
            for node in flat:
                self._fill(self.items[node.key], node)
        finally:
            self._building = False

    def _item(self, node: Entity) -> QtWidgets.QTreeWidgetItem:
        item = QtWidgets.QTreeWidgetItem()
        item.setData(0, KEY, node.key)
        if node.visible is not None:
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
        self._fill(item, node)
        self.items[node.key] = item
        for child in node.children:
            item.addChild(self._item(child))
        return item

    def _fill(self, item: QtWidgets.QTreeWidgetItem, node: Entity) -> None:
        """Texts, swatch and check box of ``item`` from ``node`` (only what changed)."""
        if item.text(0) != node.title:
            item.setText(0, node.title)
            item.setToolTip(0, node.tooltip or node.title)
        if item.text(1) != node.detail:
            item.setText(1, node.detail)
            item.setToolTip(1, node.detail)
        if node.colour is not None:
            item.setIcon(0, self._icon(node.colour))
        if node.visible is not None:
            check = QtCore.Qt.CheckState.Checked if node.visible else QtCore.Qt.CheckState.Unchecked
            if item.checkState(0) != check:
                item.setCheckState(0, check)

    def _icon(self, colour: str) -> QtGui.QIcon:
        if colour not in self._icons:
            pix = QtGui.QPixmap(12, 12)
            pix.fill(QtGui.QColor(colour))
            self._icons[colour] = QtGui.QIcon(pix)
        return self._icons[colour]

    def follow_selection(self) -> None:
        """Make the node of the current selection the tree's current node (no echo)."""
        key = entities.selected_key(self.state)
        item = self.items.get(key) if key is not None else None
        if item is None or item is self.tree.currentItem():
            return
        was, self._building = self._building, True
        try:
            self.tree.setCurrentItem(item)
            self.tree.scrollToItem(item)
        finally:
            self._building = was

    # ------------------------------------------------------------------ tree -> model
    def _on_item_changed(self, item: QtWidgets.QTreeWidgetItem, column: int) -> None:
        if self._building or column != 0:
            return
        flags = item.flags()
        if flags & QtCore.Qt.ItemFlag.ItemIsUserCheckable:
            on = item.checkState(0) == QtCore.Qt.CheckState.Checked
            entities.set_visible(self.state, str(item.data(0, KEY)), on)

    def _on_current(self, item: QtWidgets.QTreeWidgetItem | None, _: object) -> None:
        if self._building or item is None:
            return
        entities.select(self.state, str(item.data(0, KEY)))
