"""The embedder's backends: the packaged MiniLM on torch, and its ONNX int8 build made here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag_core.embedding.backends import FASTEST, onnx_build, resolve_backend
from rag_core.embedding.embedder import Embedder, backend_of, query_embedder
from rag_core.settings import Settings
from rag_core.types import ConfigurationError

MINILM = "all-MiniLM-L6-v2"  # the session's `embedder`
TEXTS = [
    "How do I renew my Kerberos ticket?",
    "Use kinit to obtain a new ticket-granting ticket.",
    "The cafeteria serves lunch from noon.",
    "etcdctl snapshot save writes a backup of the etcd keyspace to a file.",
]


def test_auto_keeps_a_collections_backend_and_picks_the_fastest_for_a_new_one() -> None:
    assert resolve_backend("auto", None) == FASTEST == "onnx-int8"
    assert resolve_backend("auto", "torch") == "torch"
    assert resolve_backend("onnx", "torch") == "onnx"  # explicit: the collection refuses it
    assert backend_of({}) is None
    assert backend_of({"embedder": "all-MiniLM-L6-v2"}) == "torch"  # made before backends
    with pytest.raises(ConfigurationError, match="unknown embedder backend"):
        resolve_backend("tensorrt", None)


def test_int8_build_is_made_once_and_its_vectors_match_torch(
    tmp_path: Path, embedder: Embedder, embedder_builds: Path
) -> None:
    """The session's embedder is the default (int8): its build is on disk, reused as is,
    and its vectors are near torch's (same ranking, cosine close to 1)."""
    assert embedder.backend == "onnx-int8" and embedder.info.backend == "onnx-int8"
    int8 = embedder.encode_uncached(TEXTS)
    build = onnx_build(embedder.model_path, "onnx-int8", embedder_builds)
    assert build.is_file() and "qint8" in build.name
    stamp = build.stat().st_mtime_ns
    again = Embedder(Settings(data_dir=tmp_path, embedder_dir=embedder_builds, embed_model=MINILM))
    assert np.allclose(again.encode_uncached(TEXTS), int8, atol=1e-5)
    assert build.stat().st_mtime_ns == stamp  # not rebuilt
    again.close()

    torch = Embedder(Settings(data_dir=tmp_path, embed_backend="torch", embed_model=MINILM))
    reference = torch.encode_uncached(TEXTS)
    torch.close()
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    cosines = np.sum(int8 * reference, axis=1)
    assert cosines.min() > 0.97, cosines  # close, but not the same vectors
    assert np.argsort(int8[0] @ int8.T).tolist() == np.argsort(reference[0] @ reference.T).tolist()


def test_the_cache_is_kept_per_backend(tmp_path: Path, embedder_builds: Path) -> None:
    settings = Settings(data_dir=tmp_path, embedder_dir=embedder_builds, embed_model=MINILM)
    torch = Embedder(settings.model_copy(update={"embed_backend": "torch"}))
    torch.embed(TEXTS[:2])
    torch.close()
    int8 = query_embedder(settings, {})  # a new collection: the fastest backend
    int8.embed(TEXTS[:2])
    assert int8.stats.encoded == 2  # torch's vectors are not served for int8
    int8.close()
    follows = query_embedder(settings, {"embedder": "all-MiniLM-L6-v2"})  # a torch collection
    assert follows.backend == "torch"
    follows.embed(TEXTS[:2])
    assert follows.stats.encoded == 0 and follows._model is None  # its own cache, on disk
    follows.close()


def test_the_onnx_export_is_the_same_model_with_its_attention_fused(
    tmp_path: Path, embedder: Embedder, embedder_builds: Path
) -> None:
    """The export writes the encoder out by hand (so onnxruntime fuses each layer's
    attention: 1.05x torch without it, 2.4x with it); fp32 must then give torch's vectors,
    and the int8 build must hold the fused, quantized attention."""
    import onnx

    int8_graph = onnx.load(str(onnx_build(embedder.model_path, "onnx-int8", embedder_builds)))
    ops = [node.op_type for node in int8_graph.graph.node]
    assert ops.count("QAttention") == 6, sorted(set(ops))  # one per MiniLM layer
    assert "Where" not in ops and "IsNaN" not in ops  # transformers 5's mask glue is gone

    fp32 = Embedder(
        Settings(
            data_dir=tmp_path,
            embed_backend="onnx",
            embedder_dir=embedder_builds,
            embed_model=MINILM,
        )
    )
    torch = Embedder(Settings(data_dir=tmp_path, embed_backend="torch", embed_model=MINILM))
    texts = [*TEXTS, "x", "A much longer passage. " * 60]  # one token, and one past the window
    exported, reference = fp32.encode_uncached(texts), torch.encode_uncached(texts)
    fp32.close()
    torch.close()
    assert np.sum(exported * reference, axis=1).min() > 0.9999


def test_onnx_vectors_come_back_in_input_order(embedder: Embedder) -> None:
    """Texts run one per call on a thread pool; each vector must land at its text's index."""
    one_by_one = np.stack([embedder.encode_uncached([t])[0] for t in TEXTS])
    together = embedder.encode_uncached([*TEXTS, *reversed(TEXTS)])
    assert np.allclose(together[: len(TEXTS)], one_by_one, atol=1e-5)
    assert np.allclose(together[len(TEXTS) :], one_by_one[::-1], atol=1e-5)
    assert embedder.encode_uncached([]).shape == (0, embedder.info.dim)


@pytest.mark.parametrize("which", ["embedder", "e5_embedder"])
def test_onnx_encoder_shares_the_chunkers_tokenizer_and_cuts_like_it(
    which: str, request: pytest.FixtureRequest, shared_docs: Path
) -> None:
    """One tokenizer per process (XLM-R's takes ~300 MB a copy), and the window applied by
    `_fit` gives exactly the ids the tokenizer's own truncation gives, specials kept."""
    from tokenizers import Tokenizer

    from rag_core.embedding.backends import _fit
    from rag_core.embedding.tokens import load_tokenizer

    model: Embedder = request.getfixturevalue(which)
    model.encode_uncached(TEXTS[:1])
    shared = load_tokenizer(str(model.model_path))
    assert model._onnx is not None and model._onnx._tokenizer is shared
    reference = Tokenizer.from_file(str(model.model_path / "tokenizer.json"))
    reference.enable_truncation(max_length=model.info.max_tokens)
    reference.no_padding()  # MiniLM's tokenizer.json pads to 128
    text = (shared_docs / "text/debian-constitution.1.0.txt").read_text(encoding="utf-8")
    for chars in (40, 1_500, 2_500, 12_000):
        full = shared.encode(text[:chars])
        cut = reference.encode(text[:chars])
        ids, type_ids = _fit(full.ids, full.type_ids, full.special_tokens_mask, len(cut.ids))
        assert (ids, type_ids) == (cut.ids, cut.type_ids)
    assert len(shared.encode(text[:12_000]).ids) > model.info.max_tokens  # the cut was tested
