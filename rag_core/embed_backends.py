"""How the embedder runs: torch as packaged, or an ONNX build of the same model made here.

The ONNX builds derive from the packaged model folder on first use, with no hub: exported
by torch (`torch.onnx.export`), fused by onnxruntime's BERT optimizer, and for `onnx-int8`
its weights quantized to int8 per channel by onnxruntime's dynamic quantization (no
calibration data; per-tensor scales lost too much: cosine to torch 0.95 vs 0.99). They run
on onnxruntime with the model's own tokenizer and pooling. sentence-transformers' ONNX
backend would do this, but needs optimum-onnx, which pins transformers below 4.58.

A build is saved under `Settings.embedders_dir`, in a folder named by a fingerprint of the
source files, the quantization target and the library versions, so an upgrade makes a new
build instead of loading a stale one. Several processes may start at once: one builds
(file lock), the others wait and load its result.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rag_core.types import ConfigurationError

BACKENDS = ("torch", "onnx", "onnx-int8")
# Measured on faq-dev (README, "Embedding backends"): the fastest within 0.005 nDCG@10 of torch.
FASTEST = "onnx-int8"
LEGACY = "torch"  # what collections made before backends existed were built with


def resolve_backend(setting: str, recorded: str | None) -> str:
    """The backend to embed with. `auto`: the one an existing collection was built with
    (`recorded`), else the fastest; an explicit setting is taken as it is (a collection
    built otherwise then refuses it, see rag_core.store.check_compatible)."""
    if setting == "auto":
        return recorded or FASTEST
    if setting not in BACKENDS:
        raise ConfigurationError(f"unknown embedder backend {setting!r}: one of auto, {BACKENDS}")
    return setting


def quantization_target() -> str:
    """sentence-transformers' dynamic-quantization preset for this CPU."""
    if platform.machine().lower() in ("arm64", "aarch64"):
        return "arm64"
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        flags = set()
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


def _fingerprint(source: Path, backend: str, target: str) -> str:
    digest = hashlib.blake2b(digest_size=8)
    digest.update(f"{backend}\x00{target}".encode())
    for package in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            digest.update(f"{package}={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=none".encode())
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(f"{path.relative_to(source)}\x00{path.stat().st_size}".encode())
        if path.suffix == ".json":  # configs are small: their content, not their mtime
            digest.update(path.read_bytes())
    return digest.hexdigest()


def onnx_build(source: Path, backend: str, cache_root: Path) -> Path:
    """The ONNX file of the model at `source` for `backend`, made now if absent."""
    target = quantization_target() if backend == "onnx-int8" else "fp32"
    folder = cache_root / f"{source.name}-{backend}-{_fingerprint(source, backend, target)}"
    model_file = folder / ("model_qint8.onnx" if backend == "onnx-int8" else "model.onnx")
    if model_file.is_file():
        return model_file
    cache_root.mkdir(parents=True, exist_ok=True)
    with open(cache_root / ".build.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if not model_file.is_file():
            staging = Path(tempfile.mkdtemp(prefix=".building-", dir=cache_root))
            try:
                _build(source, backend, target, staging / model_file.name)
                for leftover in staging.iterdir():  # intermediate graphs: ~90 MB each
                    if leftover.name != model_file.name:
                        leftover.unlink()
                shutil.rmtree(folder, ignore_errors=True)  # a half-made build of a crash
                os.replace(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return model_file


def _build(source: Path, backend: str, target: str, out: Path) -> None:
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoConfig, AutoModel

    class _Hidden(torch.nn.Module):
        """The encoder's last hidden state (pooling happens outside, as in the model)."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    config = AutoConfig.from_pretrained(str(source))
    model = _Hidden(AutoModel.from_pretrained(str(source))).eval()
    sample = torch.ones((2, 16), dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    raw = out.with_name("raw.onnx")
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample, torch.ones_like(sample), torch.zeros_like(sample)),
            str(raw),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )
    fused = optimize_model(
        str(raw),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
    )
    if backend != "onnx-int8":
        fused.save_model_to_file(str(out))
        return
    optimized = out.with_name("fused.onnx")
    fused.save_model_to_file(str(optimized))
    quantize_dynamic(
        str(optimized),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=target == "avx2",  # without VNNI, u8 x s8 products can saturate
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


class OnnxEncoder:
    """The ONNX build, used like SentenceTransformer.encode: the model's own tokenizer
    (truncated to its window), the encoder on onnxruntime, then the model's pooling
    (mean or CLS, from 1_Pooling/config.json) and normalization."""

    def __init__(self, source: Path, model_file: Path, window: int, threads: int) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        pooling = _pooling_mode(source)
        self._mean = pooling == "mean"
        self._tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=window)
        pad = self._tokenizer.padding or {}
        self._tokenizer.enable_padding(
            pad_id=int(pad.get("pad_id", 0)), pad_token=str(pad.get("pad_token", "[PAD]"))
        )
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self._session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    def encode(self, texts: Sequence[str], batch_size: int = 16, **_: Any) -> np.ndarray:
        """Normalized vectors, in order; batches of similar lengths (little padding)."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            encoded = self._tokenizer.encode_batch([texts[i] for i in batch])
            mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {
                "input_ids": np.asarray([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": mask,
                "token_type_ids": np.asarray([e.type_ids for e in encoded], dtype=np.int64),
            }
            hidden = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
            states = hidden[0]
            if self._mean:
                summed = (states * mask[..., None]).sum(axis=1)
                pooled = summed / np.clip(mask.sum(axis=1, keepdims=True), 1e-9, None)
            else:
                pooled = states[:, 0]
            vectors[batch] = pooled
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)


def _pooling_mode(source: Path) -> str:
    try:
        config = json.loads((source / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        config = {}
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ConfigurationError(
        f"the ONNX embedder backends run mean- or CLS-pooled models; {source} pools otherwise: "
        "set RAGDESK_EMBED_BACKEND=torch"
    )


def load_onnx(source: Path, backend: str, cache_root: Path, window: int, threads: int) -> Any:
    """An encoder running the ONNX build of `source` (made on first use)."""
    return OnnxEncoder(source, onnx_build(source, backend, cache_root), window, threads)
