"""End to end in Spanish: a browser whose language is Spanish gets the chat in Spanish
(Accept-Language, no setting), asks in Spanish and sees a cited Spanish answer from the
packaged model; the sidebar switch turns the page to English. Screenshots go to
tests/output/ (app/assets/chat-es.png in the README is one)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag_core.answering.language import language_of
from rag_core.embedding.embedder import Embedder
from tests.app.chat_corpus import PREGUNTA, build_spanish_collection
from tests.conftest import REPO
from tests.servers import chat_app, chromium, require_chromium

OUTPUT = REPO / "tests" / "output"


@pytest.fixture(scope="module")
def spanish_app(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[str]:
    require_chromium()
    docs = tmp_path_factory.mktemp("browser-docs-es")
    data = tmp_path_factory.mktemp("browser-data-es")
    build_spanish_collection(docs, data, embedder)
    with chat_app(data) as url:
        yield url


def test_spanish_browser_asks_in_spanish_and_gets_a_cited_spanish_answer(
    spanish_app: str,
) -> None:
    from playwright.sync_api import expect

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(locale="es-ES", viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(spanish_app)
        chat_box = page.get_by_placeholder("Haga una pregunta sobre los documentos")
        expect(chat_box).to_be_enabled(timeout=180_000)  # first start loads the models
        expect(page.get_by_role("heading", name="Pregunte a los documentos")).to_be_visible()
        chat_box.fill(PREGUNTA)
        chat_box.press("Enter")

        citation = page.locator("a.rd-cite").first
        expect(citation).to_be_visible(timeout=600_000)  # the answer is complete (loaded 2 cores)
        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
        expect(answer).to_contain_text("220")
        expect(answer).to_contain_text("Fuentes")
        target = citation.get_attribute("href")
        assert target and target.startswith("#src-")
        panel = page.locator(f"div.rd-source{target}")
        expect(panel).to_contain_text("politica-viajes.md")
        expect(panel.locator("mark")).to_be_visible()
        expect(page.get_by_role("button", name="Abrir politica-viajes.md").first).to_be_visible()
        written = answer.locator('[data-testid="stMarkdownContainer"]').first.inner_text()
        assert language_of(written, fallback="xx") == "es", written
        # the run that re-renders the finished answer is over (no stale streamed copy left)
        expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=60_000)
        page.screenshot(path=str(OUTPUT / "chat-es.png"))

        page.get_by_text("English", exact=True).click()
        expect(page.get_by_placeholder("Ask a question about the documents")).to_be_visible(
            timeout=60_000
        )
        expect(page.get_by_text("Sources", exact=True).first).to_be_visible()
    assert (OUTPUT / "chat-es.png").stat().st_size > 10_000
