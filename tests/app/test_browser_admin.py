"""Directory sign-in and the admin's audit page in a real browser: `streamlit run` with
RAGDESK_AUTH=ldap against a real slapd, driven by Debian's chromium; screenshots of the
sign-in page and the audit log go to tests/output/ (README images live in app/assets/)."""

from __future__ import annotations

from pathlib import Path

from rag_core.access.audit import AuditLog
from rag_core.embedding.embedder import Embedder
from rag_core.settings import Settings
from tests.app.chat_corpus import build_collection
from tests.audit_entries import record_question
from tests.conftest import REPO
from tests.servers import chat_app, chromium
from tests.slapd import PASSWORDS, Directory

OUTPUT = REPO / "tests" / "output"
QUESTIONS = [
    ("lena", ["hr"], "How much are hotel nights reimbursed in capitals?", "travel-policy.md"),
    ("omar", ["eng"], "What does the etcd FAQ say about backups?", "etcd.faq.md"),
    ("lena", ["hr"], "Which flights may be booked in business class?", "travel-policy.md"),
    (
        "ada",
        ["eng", "hr"],
        "What is the Debian social contract about?",
        "debian-social-contract.txt",
    ),
]


def test_sign_in_page_and_admin_audit_page(
    tmp_path: Path, embedder: Embedder, ldap_server: Directory, ldap_group_map: Path
) -> None:
    from playwright.sync_api import expect

    data = tmp_path / "data"
    build_collection(tmp_path / "docs", data, embedder)
    audit = AuditLog(Settings(data_dir=data).audit_path)
    for user, groups, question, source in QUESTIONS:
        record_question(audit, user, question, source, groups=["*", *groups])
    settings = ldap_server.settings(group_map_file=ldap_group_map)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with (
        chat_app(data, **{key: str(value) for key, value in settings.items()}) as url,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        name = page.get_by_label("User name")
        expect(name).to_be_visible(timeout=120_000)
        name.fill("ada")
        page.get_by_role("textbox", name="Password").fill(PASSWORDS["ada"])
        page.screenshot(path=str(OUTPUT / "sign-in.png"))

        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_text("Signed in as ada")).to_be_visible(timeout=180_000)
        page.get_by_text("Audit log", exact=True).click()
        expect(page.get_by_role("heading", name="Audit log")).to_be_visible(timeout=60_000)
        expect(page.locator('[data-testid="stDataFrame"]')).to_be_visible(timeout=60_000)
        expect(page.get_by_text("4 of 4 entries")).to_be_visible()
        page.wait_for_timeout(1500)  # the table's canvas paints after it appears
        page.screenshot(path=str(OUTPUT / "admin-audit.png"))
    for name in ("sign-in.png", "admin-audit.png"):
        assert (OUTPUT / name).stat().st_size > 10_000
