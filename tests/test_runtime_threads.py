"""Thread-pool policy set at start-up: OpenMP threads sleep when idle unless told otherwise."""

from __future__ import annotations

import os

import pytest

from locgui.runtime.threads import sleep_when_idle


def test_sleep_when_idle_sets_a_passive_wait_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "")  # recorded, so the test's value is undone
    monkeypatch.delenv("OMP_WAIT_POLICY")
    sleep_when_idle()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


def test_sleep_when_idle_keeps_the_users_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    sleep_when_idle()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_the_command_line_sets_it_before_running_a_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from locgui.cli import main

    monkeypatch.setenv("OMP_WAIT_POLICY", "")  # recorded, so the test's value is undone
    monkeypatch.delenv("OMP_WAIT_POLICY")
    assert main(["methods"]) == 0
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
