"""A task of several stages shows one bar that only moves forward."""

from __future__ import annotations

import pytest

from locgui.model.progress import MAP_BUILD_STAGES, StagedProgress


def test_map_build_bar_never_goes_back_and_names_the_stage() -> None:
    bar = StagedProgress(MAP_BUILD_STAGES)
    seen = [bar("load", -1.0)]
    seen += [bar("extract", k / 10, f"im{k}") for k in range(11)]
    seen += [bar("retrieval", -1.0, "fitting")]
    seen += [bar("match", k / 4, f"{k}/4 pairs") for k in range(5)]
    seen += [bar("sfm", -1.0), bar("descriptors", -1.0), bar("write", 1.0)]
    values = [v for v, _ in seen]
    assert values == sorted(values) and values[-1] == pytest.approx(1.0)
    assert seen[6] == (pytest.approx(0.02 + 0.38 * 0.5), "extract: im5")
    # the raw fractions went back (extract 100 % -> match 0 %); the bar did not
    assert bar("match", 0.0)[0] >= values[-1]


def test_stages_span_the_bar_in_order() -> None:
    posed = ["load", "extract", "retrieval", "match", "verify", "triangulate", "descriptors",
             "write"]  # fmt: skip
    ends = [MAP_BUILD_STAGES[s] for s in posed]
    assert ends[0][0] == 0.0 and ends[-1][1] == 1.0
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(ends, ends[1:], strict=False))
    assert MAP_BUILD_STAGES["sfm"] == (MAP_BUILD_STAGES["verify"][0],
                                       MAP_BUILD_STAGES["triangulate"][1])  # fmt: skip


def test_unlisted_stage_keeps_the_bar() -> None:
    bar = StagedProgress(MAP_BUILD_STAGES)
    bar("match", 1.0)
    value, text = bar("something else", 0.1, "hi")
    assert value == pytest.approx(0.73) and text == "something else: hi"


def test_demo_bar_covers_generation_then_the_map_build() -> None:
    from locgui.model.progress import DEMO_STAGES, GENERATE_SHARE

    bar = StagedProgress(DEMO_STAGES)
    assert bar("generate", 0.5)[0] == pytest.approx(GENERATE_SHARE / 2)
    assert bar("map", -1.0)[0] == pytest.approx(GENERATE_SHARE)
    assert bar("extract", 0.0)[0] == pytest.approx(GENERATE_SHARE + (1 - GENERATE_SHARE) * 0.02)
    assert bar("write", 1.0)[0] == pytest.approx(1.0)


def test_scene_generation_reports_progress_per_image(tmp_path) -> None:
    from locgui.io.synth import generate
    from locgui.runtime.context import RunContext

    seen: list[tuple[str, float, str]] = []
    ctx = RunContext(on_progress=lambda stage, f, msg: seen.append((stage, f, msg)))
    generate(tmp_path / "tiny", preset="tiny", ctx=ctx)
    fractions = [f for stage, f, _ in seen if stage == "generate"]
    assert len(fractions) == 20  # 16 mapping + 4 query images
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] < 1.0
    assert seen[-1][2] == "query_0003"
