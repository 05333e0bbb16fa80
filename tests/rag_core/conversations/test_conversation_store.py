"""The conversation store on a real SQLite file: per-user, newest first, renamed, deleted,
expired after RAGDESK_CONVERSATION_DAYS, answers kept exactly as shown; another user's
conversation id finds nothing and writes nothing."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rag_core.answering.answer import Answer
from rag_core.answering.citation_check import SentenceCheck, Support
from rag_core.answering.citations import Citation
from rag_core.answering.retrieval import Source
from rag_core.conversations.records import answer_from_record, answer_record
from rag_core.conversations.store import ConversationStore, title_from


def shown_answer() -> Answer:
    source = Source(
        id="0b8f4a55-2a57-5d8e-9c3a-6d1f0e7a9b21",
        source="policies/travel.md",
        text="Hotel nights are reimbursed up to 150 EUR in most cities.",
        title="Travel policy",
        page=None,
        section="Travel policy > Hotels",
        chunk_index=3,
        char_start=120,
        char_end=178,
        file_hash="ab" * 32,
        score=0.91,
        relevance=0.72,
        rows=None,
    )
    check = SentenceCheck(
        sentence="Hotels are paid up to 300 EUR [1].",
        cited=(1,),
        support=Support(0.41, 0.6, 0.3, ("300",)),
        supported=False,
        recited_from=(2,),
    )
    return Answer(
        question="How much for hotels?",
        search_query="How much for hotels?",
        search_translation="¿Cuánto se paga por los hoteles?",  # the search's second query
        text="Hotels are paid up to 300 EUR [1].",
        citations=[Citation(1, source.source, None, source.section, source.text, 0.72, None)],
        sources=[source],
        timings={"retrieval_ms": 12.5, "translation_ms": 640.0, "time_to_first_token_ms": 800.0},
        checks=[check],
    )


def test_an_answer_comes_back_exactly_as_it_was_shown() -> None:
    answer = shown_answer()
    again = answer_from_record(answer_record(answer))
    assert again == answer
    assert again.unsupported[0].support.missing == ("300",)
    assert again.to_json() == answer.to_json()


def test_conversations_are_per_user_newest_first(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "state" / "conversations.sqlite3")
    first = store.create("hank", "documents", "When does the canteen open?")
    second = store.create("hank", "documents", "What are the salary bands?")
    erins = store.create("erin", "documents", "How do I deploy?")
    assert [c.id for c in store.recent("hank")] == [second.id, first.id]
    store.add_message("hank", first.id, question="And on Fridays?", model="m", channel="chat")
    assert [c.id for c in store.recent("hank")] == [first.id, second.id]  # used last: on top
    assert [c.id for c in store.recent("erin")] == [erins.id]
    assert store.recent("hank")[0].messages == 1
    assert len(first.id) == 32 and first.id != second.id


def test_another_users_conversation_finds_nothing_and_takes_nothing(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3")
    hanks = store.create("hank", "documents", "What is the salary band codeword?")
    store.add_message(
        "hank",
        hanks.id,
        question="What is the salary band codeword?",
        model="m",
        channel="api",
        answer=answer_record(shown_answer()),
    )
    assert store.get("erin", hanks.id) is None
    assert store.messages("erin", hanks.id) == []
    assert store.add_message("erin", hanks.id, question="x", model="m", channel="api") is None
    assert not store.rename("erin", hanks.id, "mine now")
    assert not store.delete("erin", hanks.id)
    assert [m.question for m in store.messages("hank", hanks.id)] == [
        "What is the salary band codeword?"
    ]
    assert store.get("hank", hanks.id).title == "What is the salary band codeword?"


def test_rename_delete_and_messages_in_order(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    store = ConversationStore(path)
    conversation = store.create("hank", "handbook", "  first\n question  ")
    assert conversation.title == "first question"
    for n in range(3):
        kept = store.add_message(
            "hank",
            conversation.id,
            question=f"q{n}",
            model="qwen",
            channel="chat",
            error="busy" if n == 1 else None,
            message_id=f"m{n}",
        )
        assert kept is not None
    assert [(m.id, m.question, m.error) for m in store.messages("hank", conversation.id)] == [
        ("m0", "q0", None),
        ("m1", "q1", "busy"),
        ("m2", "q2", None),
    ]
    assert store.rename("hank", conversation.id, "Canteen hours")
    assert not store.rename("hank", conversation.id, "   ")
    assert ConversationStore(path).get("hank", conversation.id).title == "Canteen hours"
    assert store.delete("hank", conversation.id)
    assert store.recent("hank") == []
    with sqlite3.connect(path) as db:  # the messages went with it
        assert db.execute("SELECT COUNT(*) FROM messages").fetchone() == (0,)


def test_conversations_unused_for_the_retention_period_are_deleted(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "c.sqlite3", retention_days=90)
    old = store.create("hank", "documents", "old question")
    store.add_message("hank", old.id, question="old question", model="m", channel="chat")
    now = datetime.now(UTC)
    assert store.purge(now + timedelta(days=89)) == 0
    assert store.purge(now + timedelta(days=91)) == 1
    assert store.get("hank", old.id) is None and store.messages("hank", old.id) == []


def test_titles_are_one_line_and_cut_at_a_word() -> None:
    long = "How do I " + "really " * 30 + "back up etcd?"
    title = title_from(long)
    assert len(title) <= 80 and title.endswith("…") and "  " not in title
    assert title_from("   ") == "Untitled"
