"""How the embedder runs: torch as packaged, or an ONNX build of the same model made here.

The ONNX builds derive from the packaged model folder on first use, with no hub: exported
by torch (`torch.onnx.export`, through a module that writes the encoder out the way the
fusions expect), fused by onnxruntime's BERT optimizer (one Attention node per layer), and
for `onnx-int8` its weights quantized to int8 per channel by onnxruntime's dynamic
quantization (no calibration data; per-tensor scales lost too much: cosine to torch 0.95 vs
0.99). They run on onnxruntime with the model's own tokenizer and pooling.
sentence-transformers' ONNX backend would do this, but needs optimum-onnx, which pins
transformers below 4.58.

A build is saved under `Settings.embedders_dir`, in a folder named by a fingerprint of the
source files, the quantization target and the library versions, so an upgrade makes a new
build instead of loading a stale one. Several processes may start at once: one builds
(file lock), the others wait and load its result.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import platform
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from rag_core.cpu import physical_cores
from rag_core.embedding.tokens import load_tokenizer
from rag_core.types import ConfigurationError

BACKENDS = ("torch", "onnx", "onnx-int8")
# Measured on faq-dev (README, "Embedding backends"): the fastest within 0.005 nDCG@10 of torch.
FASTEST = "onnx-int8"
LEGACY = "torch"  # what collections made before backends existed were built with
# Bumped when the export changes, so a cached build of an older export is not reused.
EXPORT_VERSION = 2  # 2: the classic encoder graph, whose attention onnxruntime fuses


def resolve_backend(setting: str, recorded: str | None) -> str:
    """The backend to embed with. `auto`: the one an existing collection was built with
    (`recorded`), else the fastest; an explicit setting is taken as it is (a collection
    built otherwise then refuses it, see rag_core.store.schema.check_compatible)."""
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
    digest.update(f"{backend}\x00{target}\x00export{EXPORT_VERSION}".encode())
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

    config = AutoConfig.from_pretrained(str(source))
    model = _classic_encoder(AutoModel.from_pretrained(str(source)).eval(), config)
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


def _classic_encoder(model: Any, config: Any) -> Any:
    """`model`'s encoder as a torch module whose export onnxruntime fuses (see below)."""
    import torch

    class ClassicEncoder(torch.nn.Module):
        """The BERT encoder written out the way onnxruntime's fusions recognise it.

        transformers 5 builds the attention mask with `Where`/`IsNaN` and heads with a -1
        dimension; onnxruntime then fuses no attention and the int8 model spends half its time
        in masking and softmax glue (measured: 1.05x torch). Same weights, same modules, same
        outputs (max difference 3e-6 on real tokens); only the graph's shape changes: an
        additive -10000 mask and explicit head counts, so each layer becomes one Attention."""

        def __init__(self, model: Any, config: Any) -> None:
            super().__init__()
            self.model = model
            self.heads = int(config.num_attention_heads)
            self.head_size = int(config.hidden_size) // self.heads

        def split(self, x: Any) -> Any:
            return x.view(x.size(0), x.size(1), self.heads, self.head_size).permute(0, 2, 1, 3)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)
            mask = attention_mask.unsqueeze(1).unsqueeze(2).to(hidden.dtype)
            additive = (1.0 - mask) * -10000.0
            for layer in self.model.encoder.layer:
                attention = layer.attention
                query, key, value = (
                    self.split(linear(hidden))
                    for linear in (attention.self.query, attention.self.key, attention.self.value)
                )
                scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.head_size)
                weights = torch.softmax(scores + additive, dim=-1)
                context = torch.matmul(weights, value).permute(0, 2, 1, 3).contiguous()
                width = self.heads * self.head_size
                context = context.view(context.size(0), context.size(1), width)
                hidden = attention.output.LayerNorm(attention.output.dense(context) + hidden)
                inner = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(hidden))
                hidden = layer.output.LayerNorm(layer.output.dense(inner) + hidden)
            return hidden

    return ClassicEncoder(model, config).eval()


class OnnxEncoder:
    """The ONNX build, used like SentenceTransformer.encode: the model's own tokenizer
    (truncated to its window), the encoder on onnxruntime, then the model's pooling
    (mean or CLS, from 1_Pooling/config.json) and normalization.

    Each text runs alone (no padding), on one thread per core, each thread a single-threaded
    run of the shared session. On the 2-core reference machine, 240 corpus chunks: 117
    chunks/s this way, 67 in length-sorted batches of 16 on two intra-op threads, 42 for
    torch (benchmarks in the README): small matrices stay in cache and no work is wasted on
    padding or on synchronising threads inside each operator."""

    def __init__(self, source: Path, model_file: Path, window: int, threads: int) -> None:
        import onnxruntime

        pooling = _pooling_mode(source)
        self._mean = pooling == "mean"
        # the process's one copy (chunk sizing uses it too): XLM-R's 250k-piece tokenizer
        # takes ~300 MB resident per copy; the window is applied here instead (`_fit`)
        self._tokenizer = load_tokenizer(str(source))
        self._window = window
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.dim = int(self._session.get_outputs()[0].shape[-1])
        self._workers = threads or physical_cores()
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def _one(self, ids: list[int], type_ids: list[int]) -> np.ndarray:
        feed = {
            "input_ids": np.asarray([ids], dtype=np.int64),
            "attention_mask": np.ones((1, len(ids)), dtype=np.int64),
            "token_type_ids": np.asarray([type_ids], dtype=np.int64),
        }
        states = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        return states[0].mean(axis=0) if self._mean else states[0, 0]

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        """Normalized vectors, in order (batch_size and the other encode options: ignored)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encoded = self._tokenizer.encode_batch(list(texts))
        jobs = [_fit(e.ids, e.type_ids, e.special_tokens_mask, self._window) for e in encoded]
        if len(jobs) == 1 or self._workers == 1:
            pooled = [self._one(*job) for job in jobs]
        else:
            pooled = list(self._executor().map(lambda job: self._one(*job), jobs))
        vectors = np.stack(pooled).astype(np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="embed")
            return self._pool

    def close(self) -> None:
        """Ends the worker threads (a later encode starts new ones)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None


def _fit(
    ids: list[int], type_ids: list[int], special: list[int], window: int
) -> tuple[list[int], list[int]]:
    """Ids cut to the model window as the tokenizer's own truncation would: the text's
    tokens shortened, the closing special tokens ([SEP], </s>) kept."""
    if len(ids) <= window:
        return ids, type_ids
    tail = 0
    while tail < len(special) and special[-1 - tail]:
        tail += 1
    head = window - tail
    return ids[:head] + ids[len(ids) - tail :], type_ids[:head] + type_ids[len(type_ids) - tail :]


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


def load_onnx(
    source: Path, backend: str, cache_root: Path, window: int, threads: int
) -> OnnxEncoder:
    """An encoder running the ONNX build of `source` (made on first use)."""
    return OnnxEncoder(source, onnx_build(source, backend, cache_root), window, threads)
