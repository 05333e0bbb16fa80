"""The compose topology without Docker: the ingestion worker (`ingest --watch`) fills the
index from an inbox, generation runs on a real OpenAI-compatible server (llama_cpp.server),
and the chat, driven by chromium, answers from the worker's documents through that server.

No Qdrant server can be installed here (nothing on PyPI, npm or Debian), so the index is the
embedded engine, which one process opens at a time: the worker runs first and is stopped
with SIGTERM before the chat starts. With a Qdrant server the two run side by side."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from rag_core.settings import Settings
from tests.app.chat_corpus import ANSWERABLE, TRAVEL_POLICY
from tests.servers import (
    chat_app,
    chromium,
    model_server,
    require_chromium,
    start_worker,
)


def run_worker_until_indexed(inbox: Path, data: Path) -> dict:
    from ingest.watch import read_worker_status, worker_status_path

    worker = start_worker(inbox, data)
    status_file = worker_status_path(Settings(data_dir=data), "documents")
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = read_worker_status(status_file)
            if status and status.get("last_report") and "broken.pdf" in status["failed"]:
                return status
            assert worker.poll() is None, worker.communicate()[0]
            time.sleep(0.5)
        raise AssertionError(f"the worker did not index the inbox: {status_file}")
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
        assert worker.returncode == 0, output


def test_worker_then_chat_on_an_openai_compatible_server(tmp_path: Path) -> None:
    from playwright.sync_api import expect

    require_chromium()
    inbox, data = tmp_path / "inbox", tmp_path / "data"
    (inbox / "policies").mkdir(parents=True)
    (inbox / "policies" / "travel-policy.md").write_text(TRAVEL_POLICY, encoding="utf-8")
    (inbox / "broken.pdf").write_bytes(b"%PDF-1.7\nnot really a pdf\n")

    status = run_worker_until_indexed(inbox, data)
    assert status["last_report"]["files_new"] == 1

    with (
        model_server(tmp_path) as llm_url,
        chat_app(
            data,
            llm_backend="openai",
            llm_base_url=llm_url,
            llm_model="small",
            inbox_dir=str(inbox),
            document_roots=str(inbox),
        ) as url,
        chromium() as browser,
    ):
        page = browser.new_page()
        page.goto(url)
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar).to_contain_text(f"small at {llm_url}/v1", timeout=180_000)
        expect(sidebar).to_contain_text("worker is not running")  # stopped on purpose
        chat_box = page.get_by_placeholder("Ask a question about the documents")
        chat_box.fill(ANSWERABLE)
        chat_box.press("Enter")
        citation = page.locator("a.rd-cite").first
        expect(citation).to_be_visible(timeout=300_000)
        panel = page.locator(f"div.rd-source{citation.get_attribute('href')}")
        expect(panel).to_contain_text("policies/travel-policy.md")
        expect(page.get_by_role("button", name="Open travel-policy.md").first).to_be_visible()
    assert os.path.exists(inbox / "broken.pdf"), "the worker reports bad files, never deletes"
