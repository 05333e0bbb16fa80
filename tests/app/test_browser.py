"""End to end: `streamlit run app/streamlit_app.py` on 127.0.0.1, driven by Debian's chromium.

A question about the indexed documents is typed into the chat; the test waits for the
streamed answer, checks that a citation and its source panel are visible, follows the
citation link, and saves screenshots under tests/output/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag_core.embeddings import Embedder
from tests.app.chat_corpus import ANSWERABLE, build_collection
from tests.conftest import REPO

CHROMIUM = Path(os.environ.get("RAGDESK_CHROMIUM", "/usr/bin/chromium"))
OUTPUT = REPO / "tests" / "output"
CHROMIUM_ARGS = [  # no background traffic: this machine's network is closed
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not become healthy in {seconds:.0f} s:\n{log.read_text()[-3000:]}")


@contextmanager
def serve(data: Path, **settings: str) -> Iterator[str]:
    """`streamlit run app/streamlit_app.py` on a free port, as scripts/run starts it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGDESK_")}
    env |= {
        "RAGDESK_DATA_DIR": str(data),
        "RAGDESK_MODELS_PATH": str(REPO / "data" / "models"),
        "RAGDESK_LLM_MODEL": "qwen2.5-0.5b",
        "RAGDESK_LLM_TEMPERATURE": "0",
    }
    env |= {f"RAGDESK_{key.upper()}": value for key, value in settings.items()}
    log = data / f"streamlit-{port}.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(REPO / "app" / "streamlit_app.py"),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--browser.gatherUsageStats",
                "false",
                "--client.toolbarMode",
                "viewer",
            ],
            cwd=data,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, log, 120)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def indexed_data(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (`apt-get install chromium`)")
    docs = tmp_path_factory.mktemp("browser-docs")
    data = tmp_path_factory.mktemp("browser-data")
    build_collection(docs, data, embedder)
    return data


@pytest.fixture(scope="module")
def app_url(indexed_data: Path) -> Iterator[str]:
    with serve(indexed_data) as url:
        yield url


def test_question_in_the_browser_gets_a_streamed_cited_answer(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
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
        finally:
            browser.close()
    assert (OUTPUT / "chat-answer.png").stat().st_size > 10_000


def test_streamed_answer_grows_before_it_is_final(app_url: str) -> None:
    """Tokens reach the page while the model is still writing (no citations rendered yet)."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
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
                if "Searching the documents" not in text and "queued" not in text:
                    lengths.append(len(text))
                if page.locator("a.rd-cite, div.rd-source").count():
                    break
                time.sleep(0.2)
            partial = sorted(set(lengths))
            assert len(partial) >= 3, f"the answer appeared in one piece: lengths {partial}"
        finally:
            browser.close()


def test_proxy_header_signs_the_user_in(indexed_data: Path) -> None:
    """RAGDESK_AUTH=header: the reverse proxy's header reaches the app through the browser's
    real connection; without it the page refuses."""
    from playwright.sync_api import expect, sync_playwright

    users = indexed_data / "users.yaml"
    users.write_text("users:\n  erin:\n    groups: [eng]\n")
    with (
        serve(indexed_data, auth="header", users_file=str(users)) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            proxied = browser.new_context(extra_http_headers={"X-Forwarded-User": "erin"})
            page = proxied.new_page()
            page.goto(url)
            expect(page.get_by_text("Signed in as erin (eng)")).to_be_visible(timeout=180_000)
            direct = browser.new_context().new_page()
            direct.goto(url)
            expect(direct.get_by_text("You are not signed in")).to_be_visible(timeout=60_000)
            expect(direct.get_by_placeholder("Ask a question about the documents")).to_have_count(0)
        finally:
            browser.close()
