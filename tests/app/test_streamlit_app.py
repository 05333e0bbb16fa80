"""The chat's flows through Streamlit's AppTest: the real app script, real index, real model.

The packaged Qwen2.5-Coder 0.5B answers (fast enough for tests); faults are injected only
where a failure is the point (an unreachable server, a missing model, a locked index).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.feedback import FeedbackLog
from rag_core.answering.prompt import NOT_FOUND
from rag_core.generation.llm import LlamaCppChat
from rag_core.settings import Settings
from rag_core.store.edge import EdgeStore
from tests.app.chat_corpus import (
    ANSWERABLE,
    APP,
    UNRELATED,
    ask,
    captions,
    markdown,
    start,
    use_app_settings,
)


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path]) -> AppTest:
    use_app_settings(monkeypatch, indexed[1])
    return start()


def test_sidebar_shows_the_index_and_the_fallback_model(chat: AppTest) -> None:
    metrics = {m.label: m.value for m in chat.metric}
    assert metrics == {"Documents": "3", "Passages": metrics["Passages"]}
    assert int(metrics["Passages"]) > 3
    assert "Last indexed: " in captions(chat) and "never" not in captions(chat)
    assert "small fallback" in captions(chat)
    assert chat.selectbox[0].value == "documents"
    assert not chat.error


def test_question_is_answered_with_citations_linked_to_their_sources(chat: AppTest) -> None:
    ask(chat, ANSWERABLE)
    page = markdown(chat)
    links = re.findall(r'<a class="rd-cite" href="#(src-\w+-\d+)"', page)
    assert links, f"no citation link in the answer: {page[:500]}"
    for target in links:  # every link lands on a source block on the page
        assert f'<div class="rd-source" id="{target}">' in page
    assert "travel-policy.md" in page
    assert "<mark>" in page, "the cited sentence is highlighted in its passage"
    assert any(b.label.startswith("Open travel-policy.md") for b in chat.download_button)
    assert "first token" in captions(chat) and "tokens/s" in captions(chat)
    assert len(chat.feedback) == 1


def test_unrelated_question_is_refused_with_the_closest_passages(
    chat: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_call(*args: object, **kwargs: object) -> Iterator[str]:
        raise AssertionError("a refusal must not call the model")

    monkeypatch.setattr(LlamaCppChat, "stream_chat", no_call)
    ask(chat, UNRELATED)
    page = markdown(chat)
    assert f"**{NOT_FOUND}**" in page
    assert "Closest passages found" in page and 'class="rd-source"' in page
    assert not chat.error
    assert "first token" not in captions(chat)


def test_feedback_is_stored_with_question_answer_and_sources(
    chat: AppTest, indexed: tuple[Path, Path]
) -> None:
    ask(chat, ANSWERABLE)
    chat.feedback[0].set_value(0).run()  # thumbs down
    log = FeedbackLog(Settings(data_dir=indexed[1]).feedback_path)
    rows = [r for r in log.entries() if r["question"] == ANSWERABLE]
    log.close()
    assert len(rows) == 1
    row = rows[0]
    assert row["rating"] == 0 and row["answer"] and row["collection"] == "documents"
    assert row["sources"] and {"n", "source", "page", "snippet", "score"} <= set(row["sources"][0])


def test_new_chat_starts_an_empty_conversation(chat: AppTest) -> None:
    ask(chat, UNRELATED)
    assert chat.chat_message
    chat.button(key="new_chat").click().run()
    assert not chat.chat_message


def test_conversations_are_kept_reopened_renamed_and_deleted(
    chat: AppTest, indexed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal (no model call) is kept with its closest passages; a new session (a
    reload without the address) lists it in the sidebar and reopens it as it was shown;
    the address (?c=) reopens it directly; rename and delete act on the store."""
    from rag_core.conversations.store import ConversationStore

    question = f"{UNRELATED} (kept)"
    ask(chat, question)
    shown = markdown(chat)
    assert f"**{NOT_FOUND}**" in shown
    kept = ConversationStore(Settings(data_dir=indexed[1]).conversations.path)
    conversation = kept.recent("local user")[0]
    assert conversation.title == question and conversation.messages == 1
    assert chat.query_params["c"] == conversation.id

    later = start()  # another session: nothing open, the conversation in the sidebar
    assert not later.chat_message
    later.button(key=f"conv-{conversation.id}").click().run()
    assert len(later.chat_message) == 2
    reopened = markdown(later)
    assert f"**{NOT_FOUND}**" in reopened and 'class="rd-source"' in reopened
    assert reopened.count('class="rd-source"') == shown.count('class="rd-source"')

    linked = AppTest.from_file(APP, default_timeout=300)
    linked.query_params["c"] = conversation.id  # a reload of the page's address
    linked.run()
    assert len(linked.chat_message) == 2 and not linked.exception

    linked.text_input(key=f"title-{conversation.id}").input("Tiramisu").run()
    linked.button(key="rename_conversation").click().run()
    assert kept.get("local user", conversation.id).title == "Tiramisu"
    assert any(b.label == "Tiramisu" for b in linked.button)
    linked.button(key="delete_conversation").click().run()
    assert kept.get("local user", conversation.id) is None
    assert not linked.chat_message and "c" not in linked.query_params


def test_waiting_behind_another_question_is_shown(
    chat: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import resources

    model = resources.get_model(Settings())  # the app's own cached model
    assert isinstance(model, LlamaCppChat)
    model._lock.acquire()  # another user's answer is being generated
    threading.Timer(1.5, model._lock.release).start()
    ask(chat, ANSWERABLE)
    assert "behind another question" in captions(chat)


def test_upload_adds_documents_and_reports_a_broken_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    use_app_settings(monkeypatch, data)
    app = start()
    assert "no documents yet" in "\n".join(i.value for i in app.info)
    assert app.chat_input[0].proto.disabled
    app.file_uploader[0].set_value(
        [
            (
                "expenses.md",
                b"# Expenses\n\nReceipts are submitted within 30 days.\n",
                "text/markdown",
            ),
            ("broken.pdf", b"%PDF-1.7\nthis is not really a PDF\n", "application/pdf"),
        ]
    ).run()
    app.button(key="add_documents").click().run()
    assert not app.exception, app.exception
    assert any("Added 1 document" in s.value for s in app.success)
    warnings = [w.value for w in app.warning]
    assert any(w.startswith("broken.pdf could not be added:") for w in warnings), warnings
    assert {m.label: m.value for m in app.metric}["Documents"] == "1"
    assert not app.chat_input[0].proto.disabled
    uploaded = data / "documents" / "documents" / "uploads"
    assert (uploaded / "expenses.md").is_file()
    assert not (uploaded / "broken.pdf").exists(), "a failed upload is not kept to fail again"


def test_unreachable_qdrant_server_gets_a_plain_message(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_app_settings(monkeypatch, tmp_path / "data", qdrant_url="http://127.0.0.1:9")
    app = start()
    assert "cannot be reached" in app.error[0].value
    assert "Traceback" not in markdown(app)


def test_locked_index_gets_a_plain_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = tmp_path / "data"
    use_app_settings(monkeypatch, data)
    settings = Settings(data_dir=data)
    with EdgeStore(settings.qdrant_dir, settings.collection):  # an ingest run holds it
        app = start()
    assert "open in another ragdesk process" in app.error[0].value


def test_missing_model_still_shows_passages(
    monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path], tmp_path: Path
) -> None:
    use_app_settings(monkeypatch, indexed[1], llm_model=str(tmp_path / "missing.gguf"))
    app = start()
    assert "RAGDESK_LLM_MODEL" in app.error[0].value
    ask(app, ANSWERABLE)
    assert any("closest passages" in w.value for w in app.warning)
    assert "travel-policy.md" in markdown(app)


def test_with_a_worker_uploads_go_to_its_inbox_and_its_state_is_shown(
    monkeypatch: pytest.MonkeyPatch, indexed: tuple[Path, Path], tmp_path: Path
) -> None:
    from ingest.watch import WorkerStatus, worker_status_path

    inbox = tmp_path / "inbox"
    use_app_settings(monkeypatch, indexed[1], inbox_dir=str(inbox))
    settings = Settings(data_dir=indexed[1])
    status = WorkerStatus(str(inbox), "documents", state="watching")
    status.failed = {"scan.pdf": "image-only PDF (no text layer)"}
    status.save(worker_status_path(settings, "documents"))
    app = start()
    assert any(c.value.startswith("Indexing worker: watching") for c in app.caption)
    app.file_uploader[0].set_value([("memo.md", b"# Memo\n\nHello.\n", "text/markdown")]).run()
    app.button(key="add_documents").click().run()
    assert any("indexing worker adds it" in s.value for s in app.success)  # one file
    assert (inbox / "uploads" / "memo.md").read_bytes() == b"# Memo\n\nHello.\n"
    status.state = "stopped"
    status.save(worker_status_path(settings, "documents"))
    assert "worker is not running" in start().warning[0].value
