"""Legacy binary Office files (.doc/.xls/.ppt) -> their modern form, with LibreOffice.

LibreOffice keeps what the plain-text converters (antiword, xls2csv, catppt) lose: headings
become sections, sheets keep their names and row numbers, slides their numbers. It costs
~3 s a file. Each call gets its own throw-away profile (two LibreOffice processes sharing
one block each other) and runs inside the parser sandbox: memory cap, timeout, whole
process tree killed on timeout.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ingest.errors import UnreadableDocument
from ingest.formats import Format
from ingest.tools import find_tool, first_line, run_tool
from rag_core.types import ParsedDocument


def parse_legacy(
    path: Path, row: Format, timeout_s: float, parse: Callable[[Path, str], ParsedDocument]
) -> ParsedDocument:
    """Convert to `row.converts_to`, then `parse` the converted copy; the result keeps the
    original format."""
    fmt, target, kind = row.name, row.converts_to, row.label
    assert row.tool is not None, f"{fmt}: a legacy format names the LibreOffice it needs"
    soffice = find_tool(
        row.tool.program,
        f"legacy {kind} file (.{fmt}) needs LibreOffice to be converted, and it is not "
        f"installed (apt-get install {row.tool.packages}); or save it as .{target}",
    )
    with tempfile.TemporaryDirectory(prefix="ragdesk-convert-") as work:
        folder = Path(work)
        source = folder / f"document.{fmt}"  # a plain name: no option-like or odd characters
        shutil.copyfile(path, source)
        done = run_tool(
            [
                soffice,
                f"-env:UserInstallation={(folder / 'profile').as_uri()}",
                "--headless",
                "--norestore",
                "--nolockcheck",
                "--convert-to",
                target,
                "--outdir",
                str(folder / "out"),
                str(source),
            ],
            timeout_s,
        )
        converted = folder / "out" / f"document.{target}"
        if not converted.is_file():
            said = b"\n".join(
                line
                for line in done.stdout.splitlines() + done.stderr.splitlines()
                if b"javaldx" not in line  # a warning LibreOffice always prints
            )
            reason = first_line(said) if said.strip() else "no output"
            raise UnreadableDocument(
                f"LibreOffice could not convert this {kind} file (damaged or password-"
                f"protected?): {reason}"
            )
        doc = parse(converted, target)
    doc.format = fmt
    if doc.title == "document":
        doc.title = path.stem.replace("_", " ").strip() or path.name
    return doc
