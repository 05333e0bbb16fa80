"""BM25 terms per language: Spanish words meet on their stems, a collection keeps the
languages it was made with, and older collections keep Qdrant's English default."""

from __future__ import annotations

from pathlib import Path

import pytest
import qdrant_edge

from ingest.pipeline import run_ingest
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.embedding.sparse import (
    DEFAULT_LANGUAGES,
    LexicalEncoder,
    languages_of,
    resolve_languages,
)
from rag_core.settings import Settings, load_settings
from rag_core.store.edge import EdgeStore
from rag_core.types import ConfigurationError


def shared_terms(encoder: LexicalEncoder, document: str, question: str) -> set[int]:
    return set(encoder.document(document).indices) & set(encoder.query(question).indices)


def test_spanish_inflections_meet_on_one_stem() -> None:
    spanish = LexicalEncoder(["es"])
    assert shared_terms(spanish, "Las políticas de la empresa", "¿Qué política hay?")
    assert shared_terms(spanish, "Instalación del servidor", "¿Cómo instalar el servidor?")
    english = LexicalEncoder(["en"])  # English stemming leaves the Spanish forms apart
    assert not shared_terms(english, "Instalación del servidor", "¿Cómo instalar?")


def test_two_languages_pool_both_stemmers_and_both_stop_word_lists() -> None:
    both = LexicalEncoder(["es", "en"])
    assert shared_terms(both, "Las políticas de la empresa", "política")
    assert shared_terms(both, "The company policies", "policy")
    # stop words of either language are no terms
    assert both.query("the and of with de para los las").indices == []
    assert LexicalEncoder(["es"]).query("the and of with").indices != []
    document = both.document("políticas políticas policy")
    assert len(set(document.indices)) == len(document.indices)  # each term once


def test_english_alone_is_qdrants_default_bm25() -> None:
    """Collections made before languages were recorded keep getting the same terms."""
    text = "The installers were installing packages for the policies"
    legacy = qdrant_edge.Bm25().embed_document(text)
    ours = LexicalEncoder(["en"]).document(text)
    assert ours.indices == list(legacy.indices) and ours.values == list(legacy.values)


def test_neutral_keeps_words_as_written() -> None:
    neutral = LexicalEncoder(["none"])
    assert not shared_terms(neutral, "políticas", "política")
    assert len(neutral.query("the policy").indices) == 2  # no stop words either


def test_languages_are_a_setting_fixed_per_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().document_languages == ["auto"]
    monkeypatch.setenv("RAGDESK_DOCUMENT_LANGUAGES", "ES, en")
    assert load_settings().document_languages == ["es", "en"]
    monkeypatch.setenv("RAGDESK_DOCUMENT_LANGUAGES", "es,klingon")
    with pytest.raises(ConfigurationError, match="klingon"):
        load_settings()
    assert resolve_languages(["auto"], None) == DEFAULT_LANGUAGES == ("en", "es")
    assert resolve_languages(["auto"], {"embedder": "x"}) == ("en",)  # made before languages
    assert resolve_languages(["auto"], {"sparse_languages": ["es"]}) == ("es",)
    assert resolve_languages(["es"], {"sparse_languages": ["es"]}) == ("es",)
    with pytest.raises(ConfigurationError, match="--rebuild"):
        resolve_languages(["en"], {"sparse_languages": ["es"]})


def test_a_spanish_collection_finds_inflected_words_lexically(
    tmp_path: Path, e5_embedder: Embedder, embedder_builds: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "vacaciones.md").write_text(
        "# Vacaciones\n\nLas políticas de vacaciones conceden veintidós días laborables al año.",
        encoding="utf-8",
    )
    (docs / "gastos.md").write_text(
        "# Gastos\n\nLos viajes de empresa se reservan en clase turista.", encoding="utf-8"
    )
    settings = Settings(
        data_dir=tmp_path / "data", embedder_dir=embedder_builds, document_languages=["es"]
    )
    with EdgeStore(tmp_path / "qdrant", "es") as store:
        run_ingest(docs, settings, store, e5_embedder)
        assert languages_of(store.meta()) == ("es",)
        spec = search_spec(settings.model_copy(update={"retrieval_mode": "sparse"}))
        retrieval = Retriever(store, e5_embedder, spec).retrieve("política", ["*"], 2)
    assert [s.source for s in retrieval.sources] == ["vacaciones.md"]
