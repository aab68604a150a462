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

REBUILD_MS = 250
NAME_WIDTH = 190
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
        self.tree.setColumnWidth(0, NAME_WIDTH)  # not ResizeToContents: it measures every row
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
        """Bring the tree in line with the state: items of unchanged nodes are kept (their
        expansion too), new nodes added, gone ones removed, texts and check boxes updated."""
        self._timer.stop()
        nodes = entities.build(self.state, style.method_color)
        self._building = True
        try:
            items: dict[str, QtWidgets.QTreeWidgetItem] = {}
            self._sync(self.tree.invisibleRootItem(), nodes, items)
            self.items = items
            self.follow_selection()
        finally:
            self._building = False

    def _sync(
        self,
        parent: QtWidgets.QTreeWidgetItem,
        nodes: list[Entity],
        items: dict[str, QtWidgets.QTreeWidgetItem],
    ) -> None:
        current = [c for i in range(parent.childCount()) if (c := parent.child(i)) is not None]
        moved = [c.data(0, KEY) for c in current] != [n.key for n in nodes]
        if moved:  # re-added items lose their expansion: set again below
            by_key = {c.data(0, KEY): c for c in current}
            parent.takeChildren()
            current = [by_key[n.key] if n.key in by_key else self._new_item(n) for n in nodes]
            parent.addChildren(current)
        for item, node in zip(current, nodes, strict=True):
            self._fill(item, node)
            items[node.key] = item
            self._sync(item, node.children, items)
            if moved and node.children:
                item.setExpanded(node.key in self._expanded)

    def _new_item(self, node: Entity) -> QtWidgets.QTreeWidgetItem:
        item = QtWidgets.QTreeWidgetItem()
        item.setData(0, KEY, node.key)
        if node.visible is not None:
            item.setFlags(item.flags() | QtCore.Qt.ItemFlag.ItemIsUserCheckable)
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
