"""ONNX Runtime inference for the feature networks: export once, cache, run on the CPU.

A torch module is exported (``torch.onnx.export``, the torch.export-based exporter) the first
time it is needed, into ``$XDG_CACHE_HOME/locgui/onnx``, under a name keyed by a hash of its
weights, the graph's version and the torch/onnx versions: a changed network or toolchain
exports anew, and nothing is downloaded. The file is written under a temporary name and then
renamed, so an interrupted export never leaves a truncated graph under the final name; a
cached file that does not load (corrupt, cut short by a full disk) is deleted and exported
again. torch stays the reference: the caller falls back to it when anything here fails.

torch, onnx and onnxruntime are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from locgui.core.errors import MethodError

log = logging.getLogger(__name__)

BACKENDS = ("torch", "onnx", "auto")
"""Inference backends of the networks that have an exported graph: ``auto`` is ``onnx`` where
onnxruntime imports and the device is the CPU, else ``torch``."""


def cache_dir() -> Path:
    """Where exported graphs are kept: ``$XDG_CACHE_HOME/locgui/onnx`` (``~/.cache/...``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "locgui" / "onnx"


def onnxruntime_available() -> bool:
    """Whether onnxruntime is installed (checked without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_backend(backend: str, device: Any) -> str:
    """``"torch"`` or ``"onnx"`` for the configured ``backend`` on the torch ``device``.

    ``auto`` picks onnx on the CPU when onnxruntime is installed. ``onnx`` on another device
    (the graphs run on the CPU only) or without onnxruntime gives torch, with a warning.
    Raises MethodError for an unknown backend.
    """
    if backend not in BACKENDS:
        raise MethodError(f"unknown inference backend {backend!r} (known: {', '.join(BACKENDS)})")
    on_cpu = getattr(device, "type", str(device)) == "cpu"
    if backend == "auto":
        return "onnx" if on_cpu and onnxruntime_available() else "torch"
    if backend == "onnx" and not on_cpu:
        log.warning("backend onnx runs on the CPU only; using torch on %s", device)
        return "torch"
    if backend == "onnx" and not onnxruntime_available():
        log.warning("backend onnx needs the package onnxruntime; using torch")
        return "torch"
    return backend


def graph_file(name: str, module: Any, version: int, directory: Path | None = None) -> Path:
    """The cache file of ``module`` exported as ``name``: keyed by its weights (parameters
    and buffers), the graph ``version`` (bump it when the exported module's code changes) and
    the torch and onnx versions."""
    import torch

    digest = hashlib.sha256(f"{name} v{version} torch {torch.__version__}".encode())
    digest.update(_package_version("onnx").encode())
    digest.update(_package_version("onnxscript").encode())
    for key, tensor in module.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return (directory or cache_dir()) / f"{name}-{digest.hexdigest()[:20]}.onnx"


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{name} {version(name)}"
    except PackageNotFoundError:
        return f"{name} missing"


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporter's deprecation warnings (tests treat warnings as errors) and its
    log lines (torchvision operators locgui never uses, hundreds of optimizer steps)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "onnx_ir")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def export_graph(
    module: Any,
    example: tuple[Any, ...],
    path: Path,
    input_names: list[str],
    output_names: list[str],
    dynamic_shapes: tuple[dict[int, Any], ...],
) -> None:
    """Export ``module`` run on ``example`` to ``path`` atomically (a temporary file in the
    same folder, then renamed over ``path``). ``dynamic_shapes``: per example input, its
    dynamic axes (axis -> ``torch.export.Dim``)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".onnx.tmp", dir=path.parent)
    os.close(fd)
    try:
        with _quiet_export(), torch.inference_mode(False), torch.no_grad():
            torch.onnx.export(
                module.eval(),
                example,
                tmp,
                input_names=input_names,
                output_names=output_names,
                dynamic_shapes=dynamic_shapes,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is an ordinary file
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


class OnnxGraph:
    """An exported graph run by onnxruntime on the CPU.

    Each call runs with as many intra-op threads as torch has (``torch.get_num_threads()``),
    so the settings that bound torch (the batch workers, the tests' one thread) bound it too;
    one session is kept per thread count. Thread-safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.session(_torch_threads())  # fail here, not at the first image, on a bad file

    def session(self, threads: int) -> Any:
        """The onnxruntime session with ``threads`` intra-op threads (made on first use)."""
        with self._lock:
            if threads not in self._sessions:
                self._sessions[threads] = _make_session(self.path, threads)
            return self._sessions[threads]

    def run(self, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The graph's outputs, in its output order, for ``inputs`` (name -> array)."""
        outputs: list[np.ndarray] = self.session(_torch_threads()).run(None, inputs)
        return outputs


def _torch_threads() -> int:
    import torch

    return max(1, torch.get_num_threads())


def _make_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    # Spinning worker threads steal the only other core from the caller's own work on a
    # 2-core machine; without spinning the dense pass was as fast or faster there.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def load_graph(path: Path, export: Callable[[Path], None]) -> OnnxGraph:
    """The graph at ``path``, calling ``export(path)`` first when the file is missing, and
    once more when the cached file does not load (it is deleted first).

    Raises whatever the export or onnxruntime raises when a fresh export does not load.
    """
    if path.is_file():
        try:
            return OnnxGraph(path)
        except Exception as exc:  # onnxruntime raises its own types for a bad file
            log.warning("cached graph %s does not load (%s); exporting it again", path, exc)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    log.info("exporting %s (first use; it is cached for later runs)", path.name)
    export(path)
    return OnnxGraph(path)
