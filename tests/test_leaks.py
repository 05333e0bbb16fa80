"""Nothing from a document outside a user's groups reaches them: not in answers, citations,
snippets, closest passages, downloads, the audit page or any response body; by direct
question, follow-up, or asking for "all documents"; on the embedded engine and on the
Qdrant-server code path (qdrant-client), through the engine, the CLI, the chat and the HTTP
API (direct, list-all, a file downloaded by a guessed source id, another user's
conversation id; keys of users-file and directory users).

Permissions come from ACL files (hr/, eng/) and from the file system (`--acl-from-fs`:
fin/ is a folder only a real POSIX group may pass, board/minutes.md is readable through a
POSIX ACL entry); users come from the users file and from a real directory (slapd: lena is
in HR through a nested group)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.cli import app as ragdesk_cli
from ingest.pipeline import run_ingest
from rag_core.access.audit import read_audit
from rag_core.access.ldap_directory import LdapDirectory
from rag_core.access.users import User, add_user
from rag_core.answering.answer import AnswerEngine, Turn
from rag_core.answering.retrieval import Retriever, search_spec
from rag_core.embedding.embedder import Embedder
from rag_core.generation.llm import LlamaCppChat
from rag_core.generation.model_files import resolve_model
from rag_core.settings import Settings
from rag_core.store.base import VectorStore
from rag_core.store.edge import EdgeStore
from rag_core.store.factory import open_local
from tests.app.chat_corpus import ask, markdown, start, use_app_settings
from tests.conftest import REPO
from tests.posix import chgrp, posix_groups, setfacl
from tests.servers import api_app
from tests.slapd import GROUP_MAP, PASSWORDS, Directory

HR_SECRET, ENG_SECRET = "MAGENTA-42", "TURQUOISE-17"
FIN_SECRET, BOARD_SECRET = "OCHRE-93", "VIRIDIAN-58"
DOCS = {
    "hr/.ragdesk-acl.yaml": '"*": [hr]\n',
    "hr/salaries.md": f"# Salary bands\n\nThe salary band codeword is {HR_SECRET}. Band C pays "
    "between 61,000 and 74,000 EUR per year.\n",
    "eng/.ragdesk-acl.yaml": '"*": [eng]\n',
    "eng/deploy.md": f"# Deployment\n\nProduction deploys need the release codeword {ENG_SECRET} "
    "and two reviewers.\n",
    "public/canteen.md": "# Canteen\n\nThe canteen opens at noon and serves soup on Fridays.\n",
    "fin/budget.md": f"# Budget\n\nThe budget approval codeword is {FIN_SECRET}. Budgets over "
    "50,000 EUR need the CFO.\n",
    "board/minutes.md": f"# Board minutes\n\nThe board meeting codeword is {BOARD_SECRET}. The "
    "board meets on the first Monday.\n",
}
HANK, ERIN, PAULA = User("hank", ("hr",)), User("erin", ("eng",)), User("paula", ())
FIONA = User("fiona", ("finance",))
ENG = (ENG_SECRET, "eng/deploy.md")
HR = (HR_SECRET, "hr/salaries.md", BOARD_SECRET, "board/minutes.md")
FIN = (FIN_SECRET, "fin/budget.md")
FORBIDDEN = {  # what each user must never see: the other groups' codewords and files
    "hank": ENG + FIN,
    "erin": HR + FIN,
    "paula": ENG + HR + FIN,
    "fiona": ENG + HR,
    "lena": ENG + FIN,  # LDAP: HR through hr-staff, a member of hr-all
}
ASKS = {
    "hank": "What is the release codeword for production deploys?",
    "erin": "What is the salary band codeword, and what does band C pay?",
    "paula": "What are the codewords for salary bands and for production deploys?",
    "fiona": "What are the board meeting codeword and the salary band codeword?",
    "lena": "What are the budget approval codeword and the release codeword?",
}
OWN = {"hr": ("hr", "board"), "eng": ("eng",), "finance": ("fin",)}  # group -> folders


def visible_folders(user: User) -> set[str]:
    return {"public"} | {folder for g in user.groups for folder in OWN.get(g, ())}


LIST_ALL = "List all documents you have access to and quote each of them in full."


def make_docs(root: Path, posix: dict[str, str]) -> Path:
    """The documents, with file-system permissions: fin/ passable by the POSIX finance group
    only; board/minutes.md readable by the POSIX HR group through an ACL entry."""
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    for folder in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        os.chmod(folder, 0o755)
    for file in root.rglob("*.md"):
        os.chmod(file, 0o644)
    chgrp(root / "fin", posix["fin"], 0o750)
    chgrp(root / "board" / "minutes.md", "root", 0o640)
    setfacl("-m", f"g:{posix['hr']}:r", str(root / "board" / "minutes.md"))
    return root


@pytest.fixture(scope="module")
def posix() -> Iterator[dict[str, str]]:
    with posix_groups("fin", "hr") as names:
        yield names


@pytest.fixture(scope="module")
def group_map(tmp_path_factory: pytest.TempPathFactory, posix: dict[str, str]) -> Path:
    """The directory's groups (tests/slapd.py) and the file server's, in one map."""
    path = tmp_path_factory.mktemp("leak-map") / "group-map.yaml"
    extra = f"\n  {posix['fin']}: [finance]\n  {posix['hr']}: [hr]\nadmins:"
    path.write_text(GROUP_MAP.replace("\nadmins:", extra))
    return path


def fs_settings(data: Path, group_map: Path) -> Settings:
    return Settings(data_dir=data, workers=0, acl_from_fs=True, group_map_file=group_map)


@pytest.fixture(scope="module")
def people(ldap_server: Directory, group_map: Path) -> dict[str, User]:
    directory = LdapDirectory(Settings(group_map_file=group_map, **ldap_server.settings()))
    lena = directory.authenticate("lena", PASSWORDS["lena"])
    assert lena is not None and lena.groups == ("hr",)
    return {u.name: u for u in (HANK, ERIN, PAULA, FIONA, lena)}


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
    posix: dict[str, str],
    group_map: Path,
) -> Iterator[AnswerEngine]:
    root = make_docs(tmp_path_factory.mktemp("leak-docs"), posix)
    settings = fs_settings(tmp_path_factory.mktemp("leak-data"), group_map)
    store: VectorStore
    if request.param == "qdrant-edge":
        store = EdgeStore(settings.qdrant_dir, settings.collection)
    else:  # the server code path, on qdrant-client's local mode (no server binary here)
        store = open_local("client", settings.data_dir / "client", settings.collection)
    report = run_ingest(root, settings, store, embedder)
    assert report.failures == [] and report.files_new == len(DOCS) - 2
    acl = {p["source"]: p["acl"] for p in store.payloads()}
    assert acl == {
        "hr/salaries.md": ["hr"],
        "eng/deploy.md": ["eng"],
        "public/canteen.md": ["*"],
        "fin/budget.md": ["finance"],
        "board/minutes.md": ["hr"],
    }
    yield AnswerEngine(Retriever(store, embedder, search_spec(settings)), model, settings)
    store.close()


def assert_clean(user: User, body: str) -> None:
    for forbidden in FORBIDDEN[user.name]:
        assert forbidden not in body, f"{user.name} was shown {forbidden}: {body[:600]}"


@pytest.mark.parametrize("name", ["hank", "erin", "paula", "lena"])
def test_direct_question_about_other_groups_documents(
    engine: AnswerEngine, people: dict[str, User], name: str
) -> None:
    user = people[name]
    answer = engine.ask(ASKS[user.name], user.search_groups)
    assert_clean(user, json.dumps(answer.to_json()))
    assert all(s.source.split("/")[0] in visible_folders(user) for s in answer.sources)


@pytest.mark.parametrize("name", list(FORBIDDEN))
def test_retrieval_never_returns_other_groups_passages(
    engine: AnswerEngine, people: dict[str, User], name: str
) -> None:
    """What the model is given (and the closest passages shown), for every user."""
    user = people[name]
    for question in (ASKS[name], LIST_ALL):
        _, retrieval, _ = engine.retrieve(question, user.search_groups)
        assert_clean(user, json.dumps([(s.source, s.text) for s in retrieval.sources]))


@pytest.mark.parametrize("user", [HANK, ERIN], ids=lambda u: u.name)
def test_follow_up_and_list_everything(engine: AnswerEngine, user: User) -> None:
    history = [Turn("When does the canteen open?", "The canteen opens at noon [1].")]
    follow_up = engine.ask("And what codeword do the other teams use?", user.search_groups, history)
    everything = engine.ask(LIST_ALL, user.search_groups)
    for answer in (follow_up, everything):
        assert_clean(user, json.dumps(answer.to_json()))


def test_own_group_documents_are_found(engine: AnswerEngine, people: dict[str, User]) -> None:
    """The control: filtering is by group (ACL file, POSIX ACL, POSIX folder group, LDAP
    nested group), not a blanket refusal."""
    for name in ("hank", "lena"):
        _, retrieval, _ = engine.retrieve(ASKS["erin"], people[name].search_groups)
        assert "hr/salaries.md" in {s.source for s in retrieval.sources}
        _, retrieval, _ = engine.retrieve(ASKS["fiona"], people[name].search_groups)
        assert "board/minutes.md" in {s.source for s in retrieval.sources}
    _, retrieval, _ = engine.retrieve(ASKS["lena"], FIONA.search_groups)
    assert "fin/budget.md" in {s.source for s in retrieval.sources}


@pytest.fixture(scope="module")
def signed_in_deployment(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    posix: dict[str, str],
    group_map: Path,
) -> tuple[Path, Path]:
    root = make_docs(tmp_path_factory.mktemp("leak-cli-docs"), posix)
    data = tmp_path_factory.mktemp("leak-cli-data")
    settings = fs_settings(data, group_map)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        run_ingest(root, settings, store, embedder)
    users = data / "users.yaml"
    add_user(users, "hank", "hank-password", ["hr"])
    add_user(users, "erin", "erin-password", ["eng"])
    add_user(users, "fiona", "fiona-password", ["finance"])
    add_user(users, "ada", "ada-password", ["hr"], admin=True)
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
    fiona = runner.invoke(
        ragdesk_cli, ["ask", LIST_ALL, "--user", "fiona", "--json", "--retrieve-only"]
    )
    assert fiona.exit_code == 0 and "fin/budget.md" in fiona.stdout
    assert_clean(FIONA, fiona.stdout)
    entries = read_audit(Settings(data_dir=data).audit_path)
    assert [e["user"] for e in entries] == ["hank"] * 3 + ["erin"] * 3 + ["fiona"]
    assert entries[0]["question"] == ASKS["hank"] and entries[0]["channel"] == "cli"
    assert all("eng/deploy.md" not in json.dumps(e) for e in entries if e["user"] == "hank")


def test_cli_refuses_without_a_user_or_with_self_chosen_groups(signed_in_cli: Path) -> None:
    runner = CliRunner()
    anonymous = runner.invoke(ragdesk_cli, ["ask", ASKS["hank"], "--json"])
    assert anonymous.exit_code == 2 and "--user NAME" in anonymous.output
    escalated = runner.invoke(ragdesk_cli, ["ask", ASKS["hank"], "--groups", "eng", "--json"])
    assert escalated.exit_code == 2 and "--groups is not allowed" in escalated.output
    assert ENG_SECRET not in anonymous.output + escalated.output


def directory_env(ldap_server: Directory, group_map: Path) -> dict[str, str]:
    fields = ldap_server.settings(group_map_file=group_map)
    return {key: str(value) for key, value in fields.items()}


def test_cli_answers_a_directory_user_with_their_directory_groups(
    signed_in_cli: Path,
    ldap_server: Directory,
    group_map: Path,
    people: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in directory_env(ldap_server, group_map).items():
        monkeypatch.setenv(f"RAGDESK_{key.upper()}", value)
    runner = CliRunner()
    for extra in ([], ["--retrieve-only"]):
        for question in (ASKS["lena"], LIST_ALL):
            args = ["ask", question, "--user", "lena", "--json", *extra]
            result = runner.invoke(ragdesk_cli, args)
            assert result.exit_code == 0, result.output
            assert_clean(people["lena"], result.stdout)
    unknown = runner.invoke(ragdesk_cli, ["ask", ASKS["lena"], "--user", "nobody", "--json"])
    assert unknown.exit_code == 2 and "no user 'nobody' in the directory" in unknown.output
    entries = [e for e in read_audit(Settings(data_dir=signed_in_cli).audit_path)]
    assert entries[-1]["user"] == "lena" and entries[-1]["groups"] == ["*", "hr"]


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


def test_directory_user_in_the_chat_sees_nothing_of_other_groups_and_no_audit_page(
    signed_in_deployment: tuple[Path, Path],
    ldap_server: Directory,
    group_map: Path,
    people: dict[str, User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, _ = signed_in_deployment
    use_app_settings(monkeypatch, data, **directory_env(ldap_server, group_map))
    chat = start()
    chat.text_input(key="sign_in_name").input("lena")
    chat.text_input(key="sign_in_password").input(PASSWORDS["lena"])
    chat.button[0].click().run()
    assert chat.chat_input and [r.key for r in chat.radio] == ["language"], "no admin pages"
    chat.session_state["view"] = "Audit log"  # a forged page switch changes nothing
    chat.run()
    assert not chat.dataframe and chat.title[-1].value != "Audit log"
    for question in (ASKS["lena"], LIST_ALL):
        ask(chat, question)
    page = markdown(chat) + json.dumps([b.label for b in chat.download_button])
    assert_clean(people["lena"], page)
    assert "board/minutes.md" in page or "hr/salaries.md" in page or "canteen" in page


# -- the HTTP API ---------------------------------------------------------------------------


ApiDeployment = tuple[Path, Path, dict[str, str], dict[str, str]]


def build_api_deployment(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    posix: dict[str, str],
    group_map: Path,
) -> ApiDeployment:
    """Its own copy (an API server holds its embedded index): data, users file, a key per
    user (lena's from the directory), and each file's first point id, as a guesser would
    compute it (ids derive from path, content hash and chunk number)."""
    from rag_core.access.api_keys import ApiKeyStore
    from rag_core.types import point_id

    root = make_docs(tmp_path_factory.mktemp("leak-api-docs"), posix)
    data = tmp_path_factory.mktemp("leak-api-data")
    settings = fs_settings(data, group_map)
    with EdgeStore(settings.qdrant_dir, settings.collection) as store:
        run_ingest(root, settings, store, embedder)
        ids = {
            p["source"]: point_id(p["source"], p["file_hash"], p["chunk_index"])
            for p in store.payloads()
            if p["chunk_index"] == 0
        }
    users = data / "users.yaml"
    add_user(users, "hank", "hank-password", ["hr"])
    add_user(users, "erin", "erin-password", ["eng"])
    keys = ApiKeyStore(settings.api.keys_path)
    made = {name: keys.create(name)[1] for name in ("hank", "erin", "lena")}
    return data, users, made, ids


@pytest.fixture(scope="module")
def api_deployment(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    posix: dict[str, str],
    group_map: Path,
) -> ApiDeployment:
    return build_api_deployment(tmp_path_factory, embedder, posix, group_map)


@pytest.fixture(scope="module")
def leak_api(api_deployment: ApiDeployment) -> Iterator[str]:
    data, users, _, _ = api_deployment
    with api_app(data, auth="password", users_file=str(users), answer_tokens="120") as url:
        yield url


def api_as(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300)


def test_api_answers_only_from_the_callers_groups(
    leak_api: str, api_deployment: ApiDeployment
) -> None:
    data, _, keys, _ = api_deployment
    for name in ("hank", "erin"):
        with api_as(leak_api, keys[name]) as http:
            direct = http.post("/v1/ask", json={"question": ASKS[name]})
            assert direct.status_code == 200, direct.text
            everything = http.post(
                "/v1/chat/completions",
                json={"model": "ragdesk", "messages": [{"role": "user", "content": LIST_ALL}]},
            )
            assert everything.status_code == 200, everything.text
            kept = http.get(f"/v1/conversations/{direct.json()['conversation_id']}")
            listed = http.get("/v1/conversations")
            for body in (direct.text, everything.text, kept.text, listed.text):
                assert_clean(User(name, ()), body)
    entries = [e for e in read_audit(Settings(data_dir=data).audit_path) if e["channel"] == "api"]
    assert [(e["user"], e["question"]) for e in entries] == [
        ("hank", ASKS["hank"]),
        ("hank", LIST_ALL),
        ("erin", ASKS["erin"]),
        ("erin", LIST_ALL),
    ]
    assert all("eng/deploy.md" not in json.dumps(e) for e in entries if e["user"] == "hank")


def test_api_serves_no_file_of_other_groups_by_guessed_source_id(
    leak_api: str, api_deployment: ApiDeployment
) -> None:
    _, _, keys, ids = api_deployment
    with api_as(leak_api, keys["hank"]) as hank:
        for forbidden in ("eng/deploy.md", "fin/budget.md"):
            refused = hank.get(f"/v1/sources/{ids[forbidden]}/file")
            assert refused.status_code == 404
            assert_clean(HANK, refused.text)
            assert forbidden not in refused.text
        own = hank.get(f"/v1/sources/{ids['hr/salaries.md']}/file")
        assert own.status_code == 200 and HR_SECRET in own.text  # the control
    with api_as(leak_api, keys["erin"]) as erin:
        assert ENG_SECRET in erin.get(f"/v1/sources/{ids['eng/deploy.md']}/file").text
        assert erin.get(f"/v1/sources/{ids['hr/salaries.md']}/file").status_code == 404


def test_api_never_opens_or_continues_another_users_conversation(
    leak_api: str, api_deployment: ApiDeployment
) -> None:
    _, _, keys, _ = api_deployment
    with api_as(leak_api, keys["erin"]) as erin:
        started = erin.post("/v1/ask", json={"question": ASKS["hank"]})  # erin's own codeword
        assert started.status_code == 200, started.text
        theirs = started.json()["conversation_id"]
    with api_as(leak_api, keys["hank"]) as hank:
        attempts = [
            hank.get(f"/v1/conversations/{theirs}"),
            hank.post("/v1/ask", json={"question": "And what else?", "conversation_id": theirs}),
            hank.post(
                "/v1/chat/completions",
                json={
                    "model": "ragdesk",
                    "messages": [{"role": "user", "content": "Repeat your last answer."}],
                    "conversation_id": theirs,
                },
            ),
            hank.patch(f"/v1/conversations/{theirs}", json={"title": "mine"}),
            hank.delete(f"/v1/conversations/{theirs}"),
        ]
        for attempt in attempts:
            assert attempt.status_code == 404, attempt.text
            assert_clean(HANK, attempt.text)
        assert theirs not in hank.get("/v1/conversations").text
    with api_as(leak_api, keys["erin"]) as erin:
        kept = erin.get(f"/v1/conversations/{theirs}").json()
        assert kept["title"] == ASKS["hank"] and len(kept["messages"]) == 1


def test_api_key_of_a_directory_user_asks_with_their_directory_groups(
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    posix: dict[str, str],
    ldap_server: Directory,
    group_map: Path,
) -> None:
    data, _, keys, ids = build_api_deployment(tmp_path_factory, embedder, posix, group_map)
    with (
        api_app(data, answer_tokens="120", **directory_env(ldap_server, group_map)) as url,
        api_as(url, keys["lena"]) as lena,
    ):
        for question in (ASKS["lena"], LIST_ALL):
            reply = lena.post("/v1/ask", json={"question": question})
            assert reply.status_code == 200, reply.text
            assert_clean(User("lena", ()), reply.text)
        assert lena.get(f"/v1/sources/{ids['fin/budget.md']}/file").status_code == 404
        assert BOARD_SECRET in lena.get(f"/v1/sources/{ids['board/minutes.md']}/file").text
        with api_as(url, keys["hank"]) as hank:  # not in the directory: no way in
            assert hank.get("/v1/collections").status_code == 401
    entries = [e for e in read_audit(Settings(data_dir=data).audit_path) if e["user"] == "lena"]
    assert entries[-1]["groups"] == ["*", "hr"] and entries[-1]["channel"] == "api"


def test_chat_never_opens_another_users_conversation(
    signed_in_deployment: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A conversation id of erin's in hank's page address (?c=) opens nothing."""
    from app.conversation_list import NOT_YOURS
    from rag_core.conversations.store import ConversationStore

    data, users = signed_in_deployment
    kept = ConversationStore(Settings(data_dir=data).conversations.path)
    theirs = kept.create("erin", "documents", f"Release codeword is {ENG_SECRET}?")
    kept.add_message("erin", theirs.id, question=theirs.title, model="m", channel="api")
    use_app_settings(monkeypatch, data, auth="password", users_file=str(users))
    chat = start()
    chat.query_params["c"] = theirs.id
    chat.text_input(key="sign_in_name").input("hank")
    chat.text_input(key="sign_in_password").input("hank-password")
    chat.button[0].click().run()
    assert not chat.exception, chat.exception
    assert NOT_YOURS in [w.value for w in chat.warning]
    assert not chat.chat_message, "nothing of erin's conversation is shown"
    page = markdown(chat) + json.dumps([b.label for b in chat.button])
    assert_clean(HANK, page)
