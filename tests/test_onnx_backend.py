"""The ONNX Runtime backend of XFeat against torch (the reference), and the graph cache."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from locgui.core.errors import MethodError
from locgui.methods.features import get_extractor

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def backends() -> tuple[Any, Any]:
    """(torch XFeat, onnx XFeat) sharing one network, 1024 keypoints."""
    reference = get_extractor("xfeat", top_k=1024, backend="torch")
    onnx = get_extractor("xfeat", top_k=1024, backend="onnx", network=reference.model)
    assert (reference.backend, onnx.backend) == ("torch", "onnx")
    return reference, onnx


def _fox_photo(fox_path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(sorted((fox_path / "images").glob("*.jpg"))[0]))
    small = cv2.resize(bgr, (640, 480), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(small[..., ::-1])


@pytest.fixture(params=["texture", pytest.param("fox", marks=pytest.mark.realdata)])
def photo(request: pytest.FixtureRequest) -> np.ndarray:
    """A 640x480 RGB image: the procedural texture, or a real fox photo where present."""
    from tests.plugins.features import textured_image

    if request.param == "fox":
        return _fox_photo(request.getfixturevalue("fox_path"))
    return textured_image(640, 480)


@pytest.mark.parametrize("size", [(640, 480), (352, 224)])
def test_dense_outputs_agree(backends: tuple[Any, Any], photo: np.ndarray, size: tuple) -> None:
    """Every dense output of the graph matches torch's, at two image sizes (one graph)."""
    import cv2
    import torch

    from locgui.methods.features.xfeat_dense import run_graph

    reference, onnx = backends
    rgb = cv2.resize(photo, size, interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0
    with torch.inference_mode():
        expected = reference.dense(x)
    got = run_graph(onnx.graph, x)
    assert [tuple(g.shape) for g in got] == [tuple(e.shape) for e in expected]
    assert got[1].shape[-2:] == (size[1], size[0])
    names = ("descriptor_map", "heatmap", "reliability")
    for name, g, e in zip(names, got[:3], expected[:3], strict=True):
        assert float((g - e).abs().max()) < 1e-4, name  # values in [0, 1] (descriptors +-1)
    flipped = float((got[3] != expected[3]).float().mean())
    assert flipped < 1e-4 and int(expected[3].sum()) > 1000


def test_keypoints_and_descriptors_agree(backends: tuple[Any, Any], photo: np.ndarray) -> None:
    reference, onnx = backends
    f_ref, f_onnx = reference.extract(photo), onnx.extract(photo)
    assert len(f_ref) == len(f_onnx) == 1024
    distance = np.linalg.norm(f_ref.keypoints[:, None] - f_onnx.keypoints[None], axis=-1)
    nearest = distance.argmin(axis=1)
    close = distance[np.arange(len(f_ref)), nearest] < 0.5
    assert close.mean() >= 0.95
    cosine = np.sum(f_ref.descriptors * f_onnx.descriptors[nearest], axis=1)[close]
    assert cosine.min() > 0.99
    np.testing.assert_allclose(np.sort(f_onnx.scores), np.sort(f_ref.scores), atol=1e-4)


def test_backend_setting(textured_rgb: np.ndarray) -> None:
    with pytest.raises(MethodError, match="unknown backend 'tensorrt'"):
        get_extractor("xfeat", backend="tensorrt")
    assert get_extractor("xfeat", top_k=50).backend == "onnx"  # auto on the CPU
    assert get_extractor("xfeat", top_k=50, backend="torch").graph is None


def test_failed_export_falls_back_to_torch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, textured_rgb: np.ndarray
) -> None:
    from locgui.methods.features import xfeat_dense

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(xfeat_dense, "xfeat_graph", broken)
    with caplog.at_level(logging.WARNING):
        xfeat = get_extractor("xfeat", top_k=50, backend="onnx")
    assert xfeat.backend == "torch" and xfeat.graph is None
    assert "exporter exploded" in caplog.text and "using torch" in caplog.text
    assert len(xfeat.extract(textured_rgb)) == 50


def test_failed_export_is_not_retried(
    backends: tuple[Any, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from locgui.methods.features import xfeat_dense

    calls: list[Path] = []

    def broken(dense: Any, path: Path) -> None:
        calls.append(path)
        raise ValueError("unsupported operator")

    monkeypatch.setattr(xfeat_dense, "export_xfeat_dense", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="ValueError: unsupported operator"):
            xfeat_dense.xfeat_graph(backends[0].dense, tmp_path)
    assert len(calls) == 1 and not any(tmp_path.iterdir())


# ------------------------------------------------------------------------------ graph cache
def _tiny_module() -> Any:
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).eval()


def _exporter(module: Any, calls: list[Path]) -> Any:
    import torch

    from locgui.methods.features.onnx_backend import export_graph

    def export(path: Path) -> None:
        calls.append(path)
        side = torch.export.Dim("side", min=4, max=1024)
        export_graph(
            module, (torch.rand(1, 3, 16, 16),), path, ["image"], ["out"],
            ({2: side, 3: side},),
        )  # fmt: skip

    return export


def _check_runs(graph: Any, module: Any) -> None:
    import torch

    x = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        expected = module(x).numpy()
    np.testing.assert_allclose(graph.run({"image": x.numpy()})[0], expected, atol=1e-5)


def test_cache_is_reused_and_keyed_by_weights(tmp_path: Path) -> None:
    import torch

    from locgui.methods.features.onnx_backend import graph_file, load_graph

    module, calls = _tiny_module(), []
    path = graph_file("tiny", module, 1, tmp_path)
    assert path.parent == tmp_path and not path.exists()
    _check_runs(load_graph(path, _exporter(module, calls)), module)
    stamp = path.stat().st_mtime_ns
    _check_runs(load_graph(path, _exporter(module, calls)), module)
    assert calls == [path] and path.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    assert graph_file("tiny", module, 2, tmp_path) != path  # another graph version
    with torch.no_grad():
        module[0].bias += 1.0
    assert graph_file("tiny", module, 1, tmp_path) != path  # other weights


def test_corrupt_cache_file_is_exported_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from locgui.methods.features.onnx_backend import graph_file, load_graph

    module, calls = _tiny_module(), []
    path = graph_file("tiny", module, 1, tmp_path)
    load_graph(path, _exporter(module, calls))
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # cut short, as by a full disk
    with caplog.at_level(logging.WARNING):
        graph = load_graph(path, _exporter(module, calls))
    assert len(calls) == 2 and "does not load" in caplog.text
    _check_runs(graph, module)
    assert path.stat().st_size == len(good)


def test_unknown_backend_and_devices() -> None:
    import torch

    from locgui.methods.features.onnx_backend import resolve_backend

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_backend("auto", cpu) == "onnx" and resolve_backend("onnx", cpu) == "onnx"
    assert resolve_backend("auto", cuda) == "torch" and resolve_backend("onnx", cuda) == "torch"
    assert resolve_backend("torch", cpu) == "torch"
    with pytest.raises(MethodError, match="unknown inference backend"):
        resolve_backend("openvino", cpu)
