from __future__ import annotations

from pathlib import Path

import pytest

from rag_core.answering.retrieval import search_spec
from rag_core.settings import Settings, load_settings
from rag_core.types import ConfigurationError


def test_defaults_are_the_embedded_setup() -> None:
    settings = Settings()
    assert settings.qdrant_url is None
    assert settings.qdrant_dir == Path("data/qdrant")
    assert settings.collection == "documents"
    assert settings.groups == ["*"]


def test_env_vars_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("RAGDESK_COLLECTION=handbook\nRAGDESK_WORKERS=2\n")
    monkeypatch.setenv("RAGDESK_GROUPS", "hr, eng")
    monkeypatch.setenv("RAGDESK_ACL_FROM_FS", "true")
    settings = Settings()
    assert settings.collection == "handbook"
    assert settings.workers == 2
    assert settings.groups == ["hr", "eng"]
    assert settings.acl_from_fs is True


def test_explicit_values_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGDESK_COLLECTION", "from-env")
    assert load_settings(collection="from-flag", workers=None).collection == "from-flag"
    assert load_settings(collection=None).collection == "from-env"


def test_bad_values_name_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="collection"):
        load_settings(collection="no spaces/or slashes")
    with pytest.raises(ConfigurationError, match="chunk_overlap"):
        load_settings(chunk_tokens=64, chunk_overlap=64)


def test_fusion_weights_default_per_fusion() -> None:
    assert search_spec(Settings()).fusion == "dbsf"
    assert search_spec(Settings()).weights == (1.0, 0.2)
    assert search_spec(Settings(fusion="rrf")).weights == (1.0, 2.0)
    assert search_spec(Settings(fusion="rrf", sparse_weight=3)).weights == (1.0, 3.0)
    assert search_spec(Settings(fusion="dbsf", sparse_weight=1)).weights is None  # Qdrant's own


def test_sections_are_read_only_views_of_the_flat_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGDESK_EMBED_THREADS", "3")
    monkeypatch.setenv("RAGDESK_LLM_CONTEXT_TOKENS", "2048")
    monkeypatch.setenv("RAGDESK_MAX_CONCURRENT_ANSWERS", "2")
    monkeypatch.setenv("RAGDESK_QDRANT_URL", "http://index:6333")
    settings = Settings(data_dir=Path("/srv/ragdesk"))
    assert settings.embedding.threads == 3
    assert settings.embedding.cache_dir == Path("/srv/ragdesk/state")
    assert settings.embedding.builds_dir == settings.embedders_dir
    assert (settings.generation.context_tokens, settings.generation.parallel) == (2048, 2)
    assert settings.admission.max_concurrent == 2
    assert settings.store.location == "http://index:6333"
    assert settings.retrieval.fusion == "dbsf" and settings.metrics.port is None
    assert settings.conversations.path == Path("/srv/ragdesk/state/conversations.sqlite3")
    assert (settings.conversations.keep_days, settings.conversations.max_question_chars) == (
        90,
        2000,
    )
    assert (settings.api.host, settings.api.port) == ("127.0.0.1", 8000)
    assert settings.api.keys_path == Path("/srv/ragdesk/state/api-keys.sqlite3")
    with pytest.raises(AttributeError):
        settings.embedding.threads = 1  # type: ignore[misc]
    # a section is its component's cache key: equal settings, equal keys; a change, a new one
    assert settings.generation == Settings(data_dir=Path("/srv/ragdesk")).generation
    assert settings.generation != settings.model_copy(update={"llm_seed": 8}).generation
