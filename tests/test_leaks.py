"""Nothing from a document outside a user's groups reaches them: not in answers, citations,
snippets, closest passages, downloads or any response body; by direct question, follow-up,
or asking for "all documents"; on the embedded engine and on the Qdrant-server code path
(qdrant-client), through the engine, the CLI and the chat."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from qdrant_client import QdrantClient
from typer.testing import CliRunner

from app.cli import app as ragdesk_cli
from ingest.pipeline import run_ingest
from rag_core.answer import AnswerEngine, Turn
from rag_core.audit import read_audit
from rag_core.embeddings import Embedder
from rag_core.llm import LlamaCppChat
from rag_core.model_files import resolve_model
from rag_core.retrieval import Retriever, search_spec
from rag_core.settings import Settings
from rag_core.store import ClientStore, EdgeStore, VectorStore
from rag_core.users import User, add_user
from tests.app.chat_corpus import ask, markdown, start, use_app_settings
from tests.conftest import REPO

HR_SECRET, ENG_SECRET = "MAGENTA-42", "TURQUOISE-17"
DOCS = {
    "hr/.ragdesk-acl.yaml": '"*": [hr]\n',
    "hr/salaries.md": f"# Salary bands\n\nThe salary band codeword is {HR_SECRET}. Band C pays "
    "between 61,000 and 74,000 EUR per year.\n",
    "eng/.ragdesk-acl.yaml": '"*": [eng]\n',
    "eng/deploy.md": f"# Deployment\n\nProduction deploys need the release codeword {ENG_SECRET} "
    "and two reviewers.\n",
    "public/canteen.md": "# Canteen\n\nThe canteen opens at noon and serves soup on Fridays.\n",
}
HANK, ERIN, PAULA = User("hank", ("hr",)), User("erin", ("eng",)), User("paula", ())
FORBIDDEN = {  # what each user must never see: the other groups' codewords and files
    "hank": (ENG_SECRET, "eng/deploy.md"),
    "erin": (HR_SECRET, "hr/salaries.md"),
    "paula": (ENG_SECRET, "eng/deploy.md", HR_SECRET, "hr/salaries.md"),
}
ASKS = {
    "hank": "What is the release codeword for production deploys?",
    "erin": "What is the salary band codeword, and what does band C pay?",
    "paula": "What are the codewords for salary bands and for production deploys?",
}
LIST_ALL = "List all documents you have access to and quote each of them in full."


def make_docs(root: Path) -> Path:
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def model() -> LlamaCppChat:
    settings = Settings(llm_temperature=0.0)
    return LlamaCppChat(resolve_model("qwen2.5-0.5b", REPO / "data" / "models"), settings)


@pytest.fixture(scope="module", params=["qdrant-edge", "qdrant-client"])
def engine(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    model: LlamaCppChat,
) -> Iterator[AnswerEngine]:
    root = make_docs(tmp_path_factory.mktemp("leak-docs"))
    settings = Settings(data_dir=tmp_path_factory.mktemp("leak-data"), workers=0)
    store: VectorStore
    if request.param == "qdrant-edge":
        store = EdgeStore(settings.qdrant_dir, settings.collection)
    else:  # the server code path, on qdrant-client's local mode (no server binary here)
        client = QdrantClient(path=str(settings.data_dir / "client"))
        store = ClientStore(client, settings.collection, "local")
    report = run_ingest(root, settings, store, embedder)
    assert report.failures == [] and report.files_new == 3
    yield AnswerEngine(Retriever(store, embedder, search_spec(settings)), model, settings)
    store.close()


def assert_clean(user: User, body: str) -> None:
    for forbidden in FORBIDDEN[user.name]:
        assert forbidden not in body, f"{user.name} was shown {forbidden}: {body[:600]}"


@pytest.mark.parametrize("user", [HANK, ERIN, PAULA], ids=lambda u: u.name)
def test_direct_question_about_other_groups_documents(engine: AnswerEngine, user: User) -> None:
    answer = engine.ask(ASKS[user.name], user.search_groups)
    assert_clean(user, json.dumps(answer.to_json()))
    assert all(s.source.split("/")[0] in {"public", *user.groups} for s in answer.sources)


@pytest.mark.parametrize("user", [HANK, ERIN], ids=lambda u: u.name)
def test_follow_up_and_list_everything(engine: AnswerEngine, user: User) -> None:
    history = [Turn("When does the canteen open?", "The canteen opens at noon [1].")]
    follow_up = engine.ask("And what codeword do the other teams use?", user.search_groups, history)
    everything = engine.ask(LIST_ALL, user.search_groups)
    for answer in (follow_up, everything):
        assert_clean(user, json.dumps(answer.to_json()))


def test_own_group_documents_are_found(engine: AnswerEngine) -> None:
    """The control: filtering is by group, not a blanket refusal."""
    answer = engine.ask(ASKS["erin"], HANK.search_groups)
    assert "hr/salaries.md" in {s.source for s in answer.sources}


@pytest.fixture(scope="module")
def signed_in_deployment(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Path, Path]:
    root = make_docs(tmp_path_factory.mktemp("leak-cli-docs"))
    data = tmp_path_factory.mktemp("leak-cli-data")
    settings = Settings(data_dir=data, workers=0)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        run_ingest(root, settings, store, embedder)
    users = data / "users.yaml"
    add_user(users, "hank", "hank-password", ["hr"])
    add_user(users, "erin", "erin-password", ["eng"])
    return data, users


@pytest.fixture
def signed_in_cli(signed_in_deployment: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's environment for the signed-in deployment; returns its data folder."""
    data, users = signed_in_deployment
    monkeypatch.setenv("RAGDESK_DATA_DIR", str(data))
    monkeypatch.setenv("RAGDESK_MODELS_PATH", str(REPO / "data" / "models"))
    monkeypatch.setenv("RAGDESK_LLM_MODEL", "qwen2.5-0.5b")
    monkeypatch.setenv("RAGDESK_AUTH", "password")
    monkeypatch.setenv("RAGDESK_USERS_FILE", str(users))
    return data


def test_cli_answers_as_the_named_user_and_audits(signed_in_cli: Path) -> None:
    data = signed_in_cli
    runner = CliRunner()
    for name in ("hank", "erin"):
        for question in (ASKS[name], LIST_ALL):
            result = runner.invoke(ragdesk_cli, ["ask", question, "--user", name, "--json"])
            assert result.exit_code == 0, result.output
            assert_clean(User(name, ()), result.stdout)
        retrieved = runner.invoke(
            ragdesk_cli, ["ask", ASKS[name], "--user", name, "--json", "--retrieve-only"]
        )
        assert_clean(User(name, ()), retrieved.stdout)
    entries = read_audit(Settings(data_dir=data).audit_path)
    assert [e["user"] for e in entries] == ["hank"] * 3 + ["erin"] * 3
    assert entries[0]["question"] == ASKS["hank"] and entries[0]["channel"] == "cli"
    assert all("eng/deploy.md" not in json.dumps(e) for e in entries if e["user"] == "hank")


def test_cli_refuses_without_a_user_or_with_self_chosen_groups(signed_in_cli: Path) -> None:
    runner = CliRunner()
    anonymous = runner.invoke(ragdesk_cli, ["ask", ASKS["hank"], "--json"])
    assert anonymous.exit_code == 2 and "--user NAME" in anonymous.output
    escalated = runner.invoke(ragdesk_cli, ["ask", ASKS["hank"], "--groups", "eng", "--json"])
    assert escalated.exit_code == 2 and "--groups is not allowed" in escalated.output
    assert ENG_SECRET not in anonymous.output + escalated.output


def test_chat_shows_nothing_and_offers_no_download_from_other_groups(
    signed_in_deployment: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, users = signed_in_deployment
    use_app_settings(monkeypatch, data, auth="password", users_file=str(users))
    chat = start()
    chat.text_input(key="sign_in_name").input("hank")
    chat.text_input(key="sign_in_password").input("hank-password")
    chat.button[0].click().run()
    for question in (ASKS["hank"], LIST_ALL):
        ask(chat, question)
    page = markdown(chat) + json.dumps([b.label for b in chat.download_button])
    assert_clean(HANK, page)
    entries = [e for e in read_audit(Settings(data_dir=data).audit_path) if e["channel"] == "chat"]
    assert [e["question"] for e in entries[-2:]] == [ASKS["hank"], LIST_ALL]
    assert {e["user"] for e in entries} == {"hank"}
