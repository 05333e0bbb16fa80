"""benchmarks/answer_devset.py on a small set of its own documents, retrieval only: the
gold file is found for a Spanish and an English question, and the report is split by
language pair (question language → document language)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

POLITICA = """# Política de vacaciones

Cada empleado tiene 23 días laborables de vacaciones al año. Las vacaciones se piden en el
portal de personal con al menos 10 días de antelación.
"""

POLICY = """# Parking policy

Employees park in garage B. Visitors get a ticket from the front desk for up to 4 hours.
"""


def row(question: str, source: str, lang: str, doc_lang: str, keywords: list[str]) -> str:
    kind = "fact" if source else "unanswerable"
    fields = {"question": question, "answerable": bool(source), "kind": kind}
    fields |= {"source": source, "pages": [], "answer_keywords": keywords}
    return json.dumps(fields | {"lang": lang, "doc_lang": doc_lang}, ensure_ascii=False)


def test_retrieve_only_reports_each_language_pair(tmp_path: Path, shared_docs: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "rrhh").mkdir(parents=True)
    (docs / "rrhh/vacaciones.md").write_text(POLITICA, encoding="utf-8")
    (docs / "facilities").mkdir()
    (docs / "facilities/parking.md").write_text(POLICY, encoding="utf-8")
    qa = tmp_path / "qa.jsonl"
    lines = [
        row("¿Cuántos días de vacaciones tengo al año?", "rrhh/vacaciones.md", "es", "es", ["23"]),
        row("Where do employees park?", "facilities/parking.md", "en", "en", ["garage B"]),
        row("¿Cuál es la contraseña de la wifi?", "", "es", "es", []),
    ]
    qa.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "result.json"
    command = [sys.executable, "benchmarks/answer_devset.py", "--qa", str(qa), "--docs", str(docs)]
    command += ["--retrieve-only", "--work", str(tmp_path / "work"), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAGDESK_SHARED_DIR": str(shared_docs.parent)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["model"] is None and result["questions"] == 3
    assert result["gold_retrieved"] == 1.0 and result["gold_at_1"] == 1.0
    pairs = result["by_language_pair"]
    assert set(pairs) == {"es→es", "en→en"}
    assert pairs["es→es"]["questions"] == 2 and pairs["en→en"]["gold_retrieved"] == 1.0
    corpus = tmp_path / "work/corpus"
    assert (corpus / "rrhh/vacaciones.md").is_symlink()  # --docs files are all ingested
    assert [q["gold_rank"] for q in result["per_question"] if q["kind"] == "fact"] == [1, 1]


def test_answer_language_tells_spanish_from_english() -> None:
    """Model answers are checked for the asker's language (citation markers ignored)."""
    texts = [
        "Las copias de seguridad se guardan cada noche en el servidor [1].",
        "Backups are kept every night on the server [1].",
    ]
    code = f"import answer_devset as b; print([b.answer_language(t) for t in {texts!r}])"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO / "benchmarks",
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip() == "['es', 'en']", done.stderr[-1000:]
