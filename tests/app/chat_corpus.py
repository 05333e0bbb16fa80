"""A small indexed collection for the chat tests: two real sample files and a policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ingest.pipeline import run_ingest
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from tests.conftest import REPO, SAMPLE

TRAVEL_POLICY = """# Travel policy

## Flights

Employees book economy class for flights shorter than six hours. Business class is allowed
for flights of six hours or more, with the approval of a department head.

## Hotels

Hotel nights are reimbursed up to 150 EUR in most cities and 220 EUR in capitals.
"""

ANSWERABLE = "How much are hotel nights reimbursed when travelling?"
UNRELATED = "What is a good recipe for tiramisu with mascarpone?"

# The same policy in Spanish (written for these tests), for questions asked in Spanish.
POLITICA_VIAJES = """# Política de viajes

## Vuelos

Los empleados reservan clase turista para vuelos de menos de seis horas. La clase business
se permite en vuelos de seis horas o más, con la aprobación de un jefe de departamento.

## Hoteles

Las noches de hotel se reembolsan hasta 150 EUR en la mayoría de las ciudades y hasta
220 EUR en las capitales. La compañía no reembolsa el minibar.
"""

PREGUNTA = "¿Cuánto se reembolsa por una noche de hotel en una capital?"
PREGUNTA_AJENA = "¿Cuál es una buena receta de tiramisú con mascarpone?"


def build_collection(docs: Path, data: Path, embedder: Embedder) -> None:
    """Index the chat corpus into `data` (embedded Qdrant), closing the store after."""
    docs.mkdir(parents=True, exist_ok=True)
    for name in ("etcd.faq.md", "debian-social-contract.txt"):
        (docs / name).write_bytes((SAMPLE / name).read_bytes())
    (docs / "travel-policy.md").write_text(TRAVEL_POLICY, encoding="utf-8")
    settings = Settings(data_dir=data, workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        report = run_ingest(docs, settings, store, embedder)
    assert report.failures == [] and report.chunks_written > 0


def build_spanish_collection(docs: Path, data: Path, embedder: Embedder) -> None:
    """A collection with the Spanish travel policy and one English sample file."""
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "politica-viajes.md").write_text(POLITICA_VIAJES, encoding="utf-8")
    (docs / "etcd.faq.md").write_bytes((SAMPLE / "etcd.faq.md").read_bytes())
    settings = Settings(data_dir=data, workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        report = run_ingest(docs, settings, store, embedder)
    assert report.failures == [] and report.chunks_written > 0


APP = str(REPO / "app" / "streamlit_app.py")
TIMEOUT = 300  # seconds for one script run: a model answer on a busy 2-core machine


def use_app_settings(monkeypatch: pytest.MonkeyPatch, data: Path, **extra: str) -> None:
    monkeypatch.setenv("RAGDESK_DATA_DIR", str(data))
    monkeypatch.setenv("RAGDESK_MODELS_PATH", str(REPO / "data" / "models"))
    monkeypatch.setenv("RAGDESK_LLM_MODEL", "qwen2.5-0.5b")
    monkeypatch.setenv("RAGDESK_LLM_TEMPERATURE", "0")
    for key, value in extra.items():
        monkeypatch.setenv(f"RAGDESK_{key.upper()}", value)


def start() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, app.exception
    return app


def ask(app: AppTest, question: str) -> AppTest:
    app.chat_input[0].set_value(question).run()
    assert not app.exception, app.exception
    return app


def markdown(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def captions(app: AppTest) -> str:
    return "\n".join(c.value for c in app.caption)
