"""The parameter panel generated from config dataclasses, and the methods picker."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("PySide6")

from PySide6 import QtWidgets  # noqa: E402

from locgui.methods.registry import all_methods  # noqa: E402
from locgui.qt.param_panel import ParamPanel  # noqa: E402
from tests.test_model_config import DemoConfig  # noqa: E402


def test_panel_widgets_follow_the_field_types(qtbot):
    panel = ParamPanel(DemoConfig())
    qtbot.addWidget(panel)
    e = panel.editors
    assert isinstance(e["enabled"], QtWidgets.QCheckBox) and e["enabled"].isChecked()
    assert isinstance(e["steps"], QtWidgets.QSpinBox)
    assert (e["steps"].minimum(), e["steps"].maximum(), e["steps"].value()) == (1, 100, 10)
    assert isinstance(e["lr"], QtWidgets.QDoubleSpinBox) and e["lr"].singleStep() == 0.001
    assert isinstance(e["matcher"], QtWidgets.QComboBox)
    assert [e["matcher"].itemText(i) for i in range(e["matcher"].count())] == ["mnn", "lighterglue"]
    assert isinstance(e["mode"], QtWidgets.QComboBox) and e["mode"].currentText() == "fast"
    assert isinstance(e["note"], QtWidgets.QLineEdit)
    assert "how many" in e["steps"].toolTip() and "range [1, 100]" in e["steps"].toolTip()
    assert "tags" not in e  # not a scalar: kept as is


def test_panel_round_trips_a_config(qtbot):
    panel = ParamPanel(DemoConfig())
    qtbot.addWidget(panel)
    seen = []
    panel.changed.connect(seen.append)
    e = panel.editors
    e["enabled"].setChecked(False)
    e["steps"].setValue(42)
    e["lr"].setValue(0.25)
    e["matcher"].setCurrentIndex(1)
    e["mode"].setCurrentText("slow")
    e["note"].setText("hello")
    e["note"].editingFinished.emit()
    expected = DemoConfig(
        enabled=False, steps=42, lr=0.25, matcher="lighterglue", mode="slow", note="hello"
    )
    assert panel.config() == expected
    assert seen[-1] == expected
    # Spin boxes clamp to the metadata bounds.
    e["steps"].setValue(1000)
    assert panel.config().steps == 100
    # Showing a config puts every value back into the editors (and emits nothing).
    n = len(seen)
    panel.set_config(DemoConfig(steps=3, note=None))
    assert panel.config() == DemoConfig(steps=3, note=None)
    assert len(seen) == n


@pytest.mark.parametrize("spec", all_methods(), ids=lambda s: s.name)
def test_every_registered_method_gets_a_panel(qtbot, spec):
    """Defaults and every preset survive a round trip through the generated panel."""
    cfg = spec.make_config()
    panel = ParamPanel(cfg)
    qtbot.addWidget(panel)
    assert panel.editors, f"{spec.name}: empty panel"
    assert panel.config() == cfg
    for preset in spec.presets:
        pcfg = spec.make_config(preset)
        panel.set_config(pcfg)
        assert panel.config() == pcfg, f"{spec.name} preset {preset}"
    assert dataclasses.is_dataclass(panel.config())


def test_methods_panel_lists_the_registry_and_edits_configs(qtbot):
    from locgui.qt.controller import Workbench
    from locgui.qt.methods_panel import MethodsPanel

    bench = Workbench()
    panel = MethodsPanel(bench)
    qtbot.addWidget(panel)
    names = [s.name for s in all_methods()]
    assert list(panel.specs) == names
    # Checking methods updates the settings the Localize button reads.
    for row in range(panel.list.count()):
        item = panel.list.item(row)
        item.setCheckState(item.checkState().Checked)
    assert bench.state.settings["methods"] == names
    # Editing a parameter updates the config used for the next request.
    panel.list.setCurrentRow(0)
    param_panel = panel.panels[names[0]]
    first = next(s for s in param_panel.specs if s.kind == "int")
    default = getattr(all_methods()[0].make_config(), first.name)
    param_panel.editors[first.name].setValue(default + 1)
    assert getattr(bench.method_config(names[0]), first.name) == default + 1
    bench.shutdown()


def test_the_device_box_offers_only_real_devices(qtbot, monkeypatch):
    """A CPU-only machine is not offered cuda, even with a GPU machine's saved setting."""
    import locgui.qt.methods_panel as panel_module
    from locgui.qt.controller import Workbench

    monkeypatch.setattr(panel_module, "available_devices", lambda: ["cpu"])
    bench = Workbench()
    bench.state.settings.set("device", "cuda")
    panel = panel_module.MethodsPanel(bench)
    qtbot.addWidget(panel)
    assert [panel.device.itemText(i) for i in range(panel.device.count())] == ["cpu"]
    assert bench.state.settings["device"] == "cpu"
