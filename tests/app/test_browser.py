"""End to end: `streamlit run app/streamlit_app.py` on 127.0.0.1, driven by Debian's chromium.

A question about the indexed documents is typed into the chat; the test waits for the
streamed answer, checks that a citation and its source panel are visible, follows the
citation link, and saves screenshots under tests/output/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag_core.embedding.embedder import Embedder
from tests.app.chat_corpus import ANSWERABLE, build_collection
from tests.conftest import REPO
from tests.servers import (
    chat_app,
    chromium,
    free_port,
    require_chromium,
    scrape_metrics,
    scripted_model,
)

OUTPUT = REPO / "tests" / "output"


@pytest.fixture(scope="module")
def indexed_data(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    require_chromium()
    docs = tmp_path_factory.mktemp("browser-docs")
    data = tmp_path_factory.mktemp("browser-data")
    build_collection(docs, data, embedder)
    return data


@pytest.fixture(scope="module")
def app_url(indexed_data: Path) -> Iterator[str]:
    with chat_app(indexed_data) as url:
        yield url


def test_question_in_the_browser_gets_a_streamed_cited_answer(app_url: str) -> None:
    from playwright.sync_api import expect

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(app_url)
        chat_box = page.get_by_placeholder("Ask a question about the documents")
        expect(chat_box).to_be_enabled(timeout=180_000)  # first start loads the models
        chat_box.fill(ANSWERABLE)
        chat_box.press("Enter")

        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
        expect(answer).to_be_visible(timeout=60_000)
        citation = page.locator("a.rd-cite").first
        expect(citation).to_be_visible(timeout=300_000)  # the streamed answer is complete
        target = citation.get_attribute("href")
        assert target and target.startswith("#src-")
        panel = page.locator(f"div.rd-source{target}")
        expect(panel).to_be_visible()
        expect(panel).to_contain_text("travel-policy.md")
        expect(panel.locator("mark")).to_be_visible()
        expect(page.get_by_role("button", name="Open travel-policy.md").first).to_be_visible()
        page.screenshot(path=str(OUTPUT / "chat-answer.png"), full_page=True)

        citation.click()
        expect(panel).to_be_in_viewport()
        page.screenshot(path=str(OUTPUT / "chat-citation-followed.png"))
    assert (OUTPUT / "chat-answer.png").stat().st_size > 10_000


def test_a_conversation_survives_a_reload_and_reopens_from_the_sidebar(app_url: str) -> None:
    """Ask; reload the page: the conversation is still open (its id is in the address) with
    its citations; New chat empties the page; the sidebar lists it and reopens it."""
    from playwright.sync_api import expect

    question = "How much is a hotel night reimbursed in a capital?"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(app_url)
        chat_box = page.get_by_placeholder("Ask a question about the documents")
        expect(chat_box).to_be_enabled(timeout=180_000)
        chat_box.fill(question)
        chat_box.press("Enter")
        expect(page.locator("a.rd-cite").first).to_be_visible(timeout=600_000)
        expect(page).to_have_url(re.compile(r"[?&]c=[0-9a-f]{32}"), timeout=30_000)
        shown = page.locator('[data-testid="stChatMessage"]').nth(1)
        # the message is whole once its feedback buttons (the last thing drawn) are there
        expect(shown).to_contain_text("thumb_down", timeout=60_000)
        answer_text = shown.inner_text()

        page.reload()
        expect(page.locator("a.rd-cite").first).to_be_visible(timeout=180_000)
        reopened = page.locator('[data-testid="stChatMessage"]')
        expect(reopened.nth(1)).to_contain_text("thumb_down", timeout=60_000)
        expect(reopened.first).to_contain_text(question)
        expect(page.locator("div.rd-source").first).to_contain_text("travel-policy.md")
        assert reopened.nth(1).inner_text() == answer_text, "reopened as it was shown"

        page.get_by_role("button", name="New chat").click()
        expect(page.locator('[data-testid="stChatMessage"]')).to_have_count(0, timeout=60_000)
        kept = page.get_by_test_id("stSidebar").get_by_role("button", name=question)
        expect(kept).to_be_visible()
        kept.click()
        expect(page.locator("a.rd-cite").first).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stChatMessage"]').first).to_contain_text(question)
        page.screenshot(path=str(OUTPUT / "chat-conversation-reopened.png"), full_page=True)


def test_streamed_answer_grows_before_it_is_final(app_url: str) -> None:
    """Tokens reach the page while the model is still writing (no citations rendered yet)."""
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page()
        page.goto(app_url)
        chat_box = page.get_by_placeholder("Ask a question about the documents")
        expect(chat_box).to_be_enabled(timeout=180_000)
        chat_box.fill("Which class may I book for a flight of three hours?")
        chat_box.press("Enter")
        answer = page.locator('[data-testid="stChatMessage"]').nth(1)
        expect(answer).to_be_visible(timeout=60_000)
        lengths = []
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            text = answer.inner_text()
            if "Searching the documents" not in text and "Busy:" not in text:
                lengths.append(len(text))
            if page.locator("a.rd-cite, div.rd-source").count():
                break
            time.sleep(0.2)
        partial = sorted(set(lengths))
        assert len(partial) >= 3, f"the answer appeared in one piece: lengths {partial}"


def test_proxy_header_signs_the_user_in(indexed_data: Path) -> None:
    """RAGDESK_AUTH=header: the reverse proxy's header reaches the app through the browser's
    real connection; without it the page refuses."""
    from playwright.sync_api import expect

    users = indexed_data / "users.yaml"
    users.write_text("users:\n  erin:\n    groups: [eng]\n")
    with (
        chat_app(indexed_data, auth="header", users_file=str(users)) as url,
        chromium() as browser,
    ):
        proxied = browser.new_context(extra_http_headers={"X-Forwarded-User": "erin"})
        page = proxied.new_page()
        page.goto(url)
        expect(page.get_by_text("Signed in as erin (eng)")).to_be_visible(timeout=180_000)
        direct = browser.new_context().new_page()
        direct.goto(url)
        expect(direct.get_by_text("You are not signed in")).to_be_visible(timeout=60_000)
        expect(direct.get_by_placeholder("Ask a question about the documents")).to_have_count(0)


def _wrong_about_capitals(messages: list[dict[str, str]]) -> str:
    """A true sentence and a false one, both cited to the hotel passage, wherever it is."""
    prompt = messages[-1]["content"]
    n = re.findall(r"^\[(\d+)\] ", prompt[: prompt.index("Hotel nights")], re.M)[-1]
    return (
        f"Hotel nights are reimbursed up to 150 EUR in most cities [{n}]. "
        f"In capitals the limit is 300 EUR per night [{n}]."
    )


def test_an_unsupported_sentence_is_marked_with_its_tooltip(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> None:
    """A model that misstates a figure: the chat marks that sentence, not the true one.
    Its own collection: the module's chat (app_url) holds the shared one open."""
    from playwright.sync_api import expect

    require_chromium()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    docs, data = tmp_path_factory.mktemp("marked-docs"), tmp_path_factory.mktemp("marked-data")
    build_collection(docs, data, embedder)
    with (
        scripted_model(_wrong_about_capitals) as model_url,
        chat_app(data, llm_backend="openai", llm_base_url=model_url) as url,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        chat_box = page.get_by_placeholder("Ask a question about the documents")
        expect(chat_box).to_be_enabled(timeout=180_000)
        chat_box.fill(ANSWERABLE)
        chat_box.press("Enter")
        flagged = page.locator("span.rd-unsupported")
        expect(flagged).to_have_count(1, timeout=180_000)
        expect(flagged).to_contain_text("300 EUR")
        expect(flagged).not_to_contain_text("150 EUR")
        expect(flagged).to_have_attribute("title", re.compile(r"^not found in \[\d\]$"))
        expect(page.get_by_text("say something not found in the source")).to_be_visible()
        flagged.hover()
        page.wait_for_timeout(300)
        page.screenshot(path=str(OUTPUT / "chat-unsupported.png"))  # app/assets/ has a copy


def test_three_tabs_at_once_all_get_cited_answers(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, llama_server_url: str
) -> None:
    """Three employees ask at the same moment; the chat runs on llama-server (continuous
    batching, 3 slots): all three answers arrive with citations and nobody waited in line."""
    from playwright.sync_api import expect

    OUTPUT.mkdir(parents=True, exist_ok=True)
    docs, data = tmp_path_factory.mktemp("tabs-docs"), tmp_path_factory.mktemp("tabs-data")
    build_collection(docs, data, embedder)
    metrics_port = free_port()
    questions = [
        ANSWERABLE,
        "Which class do employees book for a flight of three hours?",
        "Who has to approve business class on a long flight?",
    ]
    with (
        chat_app(
            data,
            llm_backend="openai",
            llm_base_url=llama_server_url,
            max_concurrent_answers="3",
            answer_tokens="120",
            metrics_port=str(metrics_port),
        ) as url,
        chromium() as browser,
    ):
        pages = [browser.new_context().new_page() for _ in questions]
        for page in pages:
            page.goto(url)
        boxes = [p.get_by_placeholder("Ask a question about the documents") for p in pages]
        for box in boxes:
            expect(box).to_be_enabled(timeout=180_000)
        for box, question in zip(boxes, questions, strict=True):
            box.fill(question)
            box.press("Enter")
        for page in pages:
            expect(page.locator("a.rd-cite").first).to_be_visible(timeout=300_000)
            expect(page.locator("div.rd-source").first).to_contain_text("travel-policy.md")
        pages[0].screenshot(path=str(OUTPUT / "chat-three-tabs.png"), full_page=True)
        metrics = scrape_metrics(metrics_port)
        # the admin's Service page (open mode: the local user is the admin) shows the same
        service = pages[0]
        service.get_by_text("Service", exact=True).click()
        expect(service.get_by_role("heading", name="Service")).to_be_visible(timeout=60_000)
        questions_tile = service.get_by_test_id("stMetric").filter(has_text="Questions")
        expect(questions_tile).to_contain_text("3")
        expect(service.get_by_test_id("stMetric").filter(has_text="Model errors")).to_contain_text(
            "0"
        )
        service.screenshot(path=str(OUTPUT / "admin-service.png"))  # app/assets/ has a copy
    assert metrics["ragdesk_questions_total"] == 3
    assert metrics["ragdesk_answer_queue_wait_seconds_count"] == 3
    assert metrics["ragdesk_answer_queue_wait_seconds_sum"] < 1.0, "someone waited in line"
    assert metrics.get("ragdesk_answers_rejected_total{reason=queue_full}", 0) == 0
