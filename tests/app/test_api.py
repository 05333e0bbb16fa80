"""The HTTP API end to end: `ragdesk serve-api` (uvicorn) on 127.0.0.1 with the packaged
0.5B model over the chat's small collection, driven by the official `openai` client
(streaming and not) and by plain HTTP (httpx): citations, kept conversations, original
files, uploads, health, metrics, every refusal's status code, and a full answer queue (one
slot, no waiting room) answering 429 with Retry-After at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag_core.access.api_keys import ApiKeyStore
from rag_core.access.audit import read_audit
from rag_core.access.users import add_user
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from tests.app.chat_corpus import ANSWERABLE, TRAVEL_POLICY, build_collection
from tests.servers import api_app

FOLLOW_UP = "Which class do employees book for flights shorter than six hours?"


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-docs")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, docs: Path) -> Path:
    data = tmp_path_factory.mktemp("api-data")
    build_collection(docs, data, embedder)
    add_user(data / "users.yaml", "ada", "ada-password", ["hr"], admin=True)
    add_user(data / "users.yaml", "erin", "erin-password", ["eng"])
    return data


@pytest.fixture(scope="module")
def keys(deployment: Path) -> dict[str, str]:
    store = ApiKeyStore(Settings(data_dir=deployment).api.keys_path)
    made = {name: store.create(name)[1] for name in ("ada", "erin")}
    revoked, made["revoked"] = store.create("erin", "old script")
    store.revoke(revoked.id)
    return made


@pytest.fixture(scope="module")
def api(deployment: Path, keys: dict[str, str]) -> Iterator[str]:
    with api_app(
        deployment,
        auth="password",
        users_file=str(deployment / "users.yaml"),
        answer_tokens="120",
        top_k="3",  # a shorter prompt: this machine's two cores are shared
        max_concurrent_answers="1",
        max_queued_answers="0",  # a second question while one is answered: 429
        max_file_mb="1",
    ) as url:
        yield url


def client(url: str, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=url, headers=headers, timeout=300)


def test_openai_client_gets_a_cited_answer(api: str, keys: dict[str, str]) -> None:
    from openai import OpenAI

    openai = OpenAI(base_url=f"{api}/v1", api_key=keys["erin"], max_retries=0)
    reply = openai.chat.completions.create(
        model="ragdesk", messages=[{"role": "user", "content": ANSWERABLE}]
    )
    text = reply.choices[0].message.content
    extra = reply.model_extra or {}
    assert reply.object == "chat.completion" and reply.model == "ragdesk"
    assert extra["refused"] is False
    cited = extra["citations"]
    assert cited and cited[0]["source"] == "travel-policy.md", text
    assert all(f"[{c['n']}]" in text for c in cited), "the text keeps its [n] markers"
    assert {"source", "page", "section", "rows", "snippet", "supported"} <= set(cited[0])
    assert cited[0]["snippet"] in TRAVEL_POLICY.replace("\n", " ") or cited[0]["snippet"]
    assert reply.usage.completion_tokens > 0


def test_openai_client_streams_and_the_last_chunk_carries_the_citations(
    api: str, keys: dict[str, str]
) -> None:
    from openai import OpenAI

    openai = OpenAI(base_url=f"{api}/v1", api_key=keys["erin"], max_retries=0)
    stream = openai.chat.completions.create(
        model="ragdesk:documents",
        messages=[{"role": "user", "content": ANSWERABLE}],
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finals, usage = [], [], None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            pieces.append(choice.delta.content or "")
            if choice.finish_reason == "stop":
                finals.append(chunk.model_extra or {})
    assert len([p for p in pieces if p]) > 3, "the answer arrived in one piece"
    assert len(finals) == 1 and usage is not None
    final = finals[0]
    assert final["refused"] is False and final["answer"].strip()
    assert final["citations"][0]["source"] == "travel-policy.md"
    assert "supported" in final["citations"][0]


def test_ask_keeps_a_conversation_that_continues_over_both_endpoints(
    api: str, keys: dict[str, str], docs: Path
) -> None:
    from openai import OpenAI

    with client(api, keys["erin"]) as http:
        first = http.post("/v1/ask", json={"question": ANSWERABLE})
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["citations"] and body["sources"][0]["id"] and body["timings"]["total_ms"] > 0
        conversation = body["conversation_id"]
        openai = OpenAI(base_url=f"{api}/v1", api_key=keys["erin"], max_retries=0)
        follow = openai.chat.completions.create(
            model="ragdesk",
            messages=[{"role": "user", "content": FOLLOW_UP}],
            extra_body={"conversation_id": conversation},
        )
        assert (follow.model_extra or {})["conversation_id"] == conversation
        kept = http.get(f"/v1/conversations/{conversation}").json()
        assert kept["title"] == ANSWERABLE
        assert [m["question"] for m in kept["messages"]] == [ANSWERABLE, FOLLOW_UP]
        assert [m["channel"] for m in kept["messages"]] == ["api", "api"]
        assert kept["messages"][0]["citations"] == body["citations"], "kept as shown"
        listed = http.get("/v1/conversations").json()["data"]
        assert listed[0]["id"] == conversation and listed[0]["messages"] == 2
        # the original file behind a cited source: the chat's download rules
        source = body["sources"][0]
        original = http.get(source["file_url"])
        assert original.status_code == 200
        assert original.content == (docs / source["source"]).read_bytes()
        renamed = http.patch(f"/v1/conversations/{conversation}", json={"title": "Hotels"})
        assert renamed.json()["title"] == "Hotels"
        assert http.delete(f"/v1/conversations/{conversation}").status_code == 204
        assert http.get(f"/v1/conversations/{conversation}").status_code == 404


def error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == status
    assert "Traceback" not in response.text
    return body["error"]["message"]


def test_refusals_have_the_right_status_and_say_why(api: str, keys: dict[str, str]) -> None:
    question = {"model": "ragdesk", "messages": [{"role": "user", "content": ANSWERABLE}]}
    with client(api, None) as anonymous:
        assert "no API key" in error(anonymous.post("/v1/chat/completions", json=question), 401)
        assert anonymous.get("/v1/collections").headers["www-authenticate"] == "Bearer"
    with client(api, keys["revoked"]) as revoked:
        assert "revoked" in error(revoked.post("/v1/ask", json={"question": "x?"}), 401)
    with client(api, "rdk_" + "0" * 12 + "_" + "A" * 43) as forged:
        error(forged.get("/v1/collections"), 401)
    with client(api, keys["erin"]) as http:
        wrong = question | {"model": "ragdesk:nope"}
        assert "no collection 'nope'" in error(http.post("/v1/chat/completions", json=wrong), 404)
        assert "gpt-4" in error(
            http.post("/v1/chat/completions", json=question | {"model": "gpt-4"}), 404
        )
        error(http.post("/v1/ask", json={"question": "hotels?", "collection": "nope"}), 404)
        broken = http.post(
            "/v1/ask",
            content=b'{"question": "hotels?"',
            headers={"content-type": "application/json"},
        )
        assert "not valid JSON" in error(broken, 400)
        assert "surprise" in error(
            http.post("/v1/ask", json={"question": "a?", "surprise": 1}), 422
        )
        assert "empty" in error(http.post("/v1/ask", json={"question": "   "}), 422)
        huge = http.post("/v1/ask", json={"question": "why " * 25_000})
        message = error(huge, 422)
        assert "at most 2,000" in message and len(huge.text) < 2_000, "the input is not echoed"
        assert "last message" in error(
            http.post(
                "/v1/chat/completions",
                json={"model": "ragdesk", "messages": [{"role": "system", "content": "hi"}]},
            ),
            422,
        )
        error(http.post("/v1/ask", json={"question": "x?", "conversation_id": "f" * 32}), 404)
        error(http.get(f"/v1/sources/{'0' * 8}-0000-0000-0000-{'0' * 12}/file"), 404)
        error(http.get("/v1/sources/../../etc/passwd/file"), 404)
        upload = http.post("/v1/documents", files={"files": ("a.md", b"# A\n\nText.\n")})
        assert "only admins" in error(upload, 403)
        assert http.get("/v1/nothing-here").status_code == 404


def test_admins_add_documents_and_each_file_gets_its_result(api: str, keys: dict[str, str]) -> None:
    good = b"# Parking\n\nThe staff car park opens at seven and closes at ten at night.\n"
    broken = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog" + b"\x00garbage" * 20
    with client(api, keys["ada"]) as admin:
        result = admin.post(
            "/v1/documents",
            files=[("files", ("parking.md", good)), ("files", ("broken.pdf", broken))],
        )
        assert result.status_code == 200, result.text
        files = {f["name"]: f for f in result.json()["files"]}
        assert files["parking.md"]["status"] == "indexed" and files["parking.md"]["chunks"] >= 1
        assert files["broken.pdf"]["status"] == "failed" and files["broken.pdf"]["reason"]
        too_big = admin.post(
            "/v1/documents", files={"files": ("big.txt", b"word " * 300_000)}
        )  # 1.5 MB, the limit here is 1 MB
        assert "larger than 1 MB" in error(too_big, 413)
        names = [c["id"] for c in admin.get("/v1/collections").json()["data"]]
        assert names == ["documents"]


def test_health_metrics_and_openapi(api: str, keys: dict[str, str]) -> None:
    with client(api, None) as http:
        health = http.get("/healthz").json()
        assert health["status"] == "ok" and health["model"]
        metrics = http.get("/metrics")
        assert metrics.status_code == 200 and "ragdesk_questions_total" in metrics.text
        paths = http.get("/openapi.json").json()["paths"]
        assert {"/v1/chat/completions", "/v1/ask", "/v1/collections", "/v1/documents"} <= set(paths)
        assert "/v1/sources/{source_id}/file" in paths
        # the docs page works air-gapped: Swagger UI's files are served by the API itself
        page = http.get("/docs")
        assert page.status_code == 200 and "/static-offline-docs/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower()
        bundle = http.get("/static-offline-docs/swagger-ui-bundle.js")
        assert bundle.status_code == 200 and len(bundle.content) > 100_000


def test_a_full_answer_queue_answers_429_at_once(
    api: str, keys: dict[str, str], deployment: Path
) -> None:
    """One slot, no waiting room: while one answer streams, the next question is turned
    away with Retry-After, immediately; a reader who leaves frees the slot at once (not at
    the slot's deadline), and the question is audited as left."""
    question = {
        "model": "ragdesk",
        "messages": [{"role": "user", "content": ANSWERABLE}],
        "stream": True,
    }
    with client(api, keys["erin"]) as first, client(api, keys["ada"]) as second:
        with first.stream("POST", "/v1/chat/completions", json=question) as streaming:
            assert streaming.status_code == 200
            lines = streaming.iter_lines()
            assert next(line for line in lines if line.startswith("data:"))  # holds the slot
            assert second.get("/healthz").json()["answers_in_progress"] == 1
            started = time.monotonic()
            busy = second.post("/v1/ask", json={"question": ANSWERABLE})
            assert time.monotonic() - started < 60, "a full queue must not make callers wait"
            assert "busy" in error(busy, 429)
            assert int(busy.headers["retry-after"]) > 0
        # the reader left mid-answer: its slot is freed without waiting for the answer
        deadline = time.monotonic() + 30  # the token being written, then the slot is free
        while second.get("/healthz").json()["answers_in_progress"]:
            assert time.monotonic() < deadline, "the slot of a reader who left was kept"
            time.sleep(0.2)
    last = read_audit(Settings(data_dir=deployment).audit_path)[-1]
    assert (last["user"], last["channel"], last["question"]) == ("erin", "api", ANSWERABLE)
    assert "disconnected" in last["answer"]
