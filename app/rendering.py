"""HTML for answers and their sources.

Document text and model output are untrusted: everything is escaped first, then the few
elements we add (citation links, the highlighted sentence) are inserted around it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from rag_core.retrieval import Source

_MARKER = re.compile(r"\[(\d{1,3})\]")

STYLE = """
<style>
a.rd-cite { text-decoration: none; font-weight: 600; padding: 0 .15em; border-radius: .3em;
  background: rgba(28, 131, 225, .12); }
a.rd-cite:hover { background: rgba(28, 131, 225, .3); }
div.rd-source { border-left: 3px solid rgba(28, 131, 225, .6); padding: .3em .8em;
  margin: .2em 0 .4em 0; scroll-margin-top: 4em; }
div.rd-source .rd-where { font-weight: 600; }
div.rd-source .rd-passage { font-size: .9em; color: inherit; opacity: .85; white-space: pre-wrap; }
div.rd-source mark { background: #fff3a3; color: #222; padding: 0 .1em; }
div.rd-source:target { background: rgba(255, 243, 163, .25); }
</style>
"""


def anchor(message_id: str, n: int) -> str:
    return f"src-{message_id}-{n}"


def answer_html(text: str, message_id: str, cited: Iterable[int]) -> str:
    """The answer, escaped, with each valid `[n]` turned into a link to source n below."""
    valid = set(cited)

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in valid:
            return match.group(0)
        return f'<a class="rd-cite" href="#{anchor(message_id, n)}" title="source {n}">[{n}]</a>'

    escaped = html.escape(text, quote=False)
    return _MARKER.sub(link, escaped).replace("\n", "<br>")


def where(source: Source) -> str:
    """'file.pdf, page 4 · Chapter > Section', 'book.xlsx · Budget, rows 12–30' — what a
    reader needs to find the passage."""
    parts = [source.source]
    if source.page:
        parts[0] += f", page {source.page}"
    if source.section:
        parts.append(source.section)
    if source.rows:
        parts[-1] += f", rows {source.rows}"
    return " · ".join(parts)


def passage_html(text: str, highlight: str | None) -> str:
    """The passage, escaped, with the cited sentence marked when it is found in it."""
    if highlight:
        start = _find_loosely(text, highlight.strip())
        if start is not None:
            begin, end = start
            return (
                html.escape(text[:begin], quote=False)
                + "<mark>"
                + html.escape(text[begin:end], quote=False)
                + "</mark>"
                + html.escape(text[end:], quote=False)
            )
    return html.escape(text, quote=False)


def _find_loosely(text: str, sentence: str) -> tuple[int, int] | None:
    """Where `sentence` occurs in `text`, allowing different whitespace between words."""
    if not sentence:
        return None
    words = [re.escape(w) for w in sentence.split()]
    match = re.search(r"\s+".join(words), text)
    return (match.start(), match.end()) if match else None


def source_html(message_id: str, n: int, source: Source, highlight: str | None) -> str:
    return (
        f'<div class="rd-source" id="{anchor(message_id, n)}">'
        f'<div class="rd-where">[{n}] {html.escape(where(source), quote=False)}</div>'
        f'<div class="rd-passage">{passage_html(source.text, highlight)}</div>'
        "</div>"
    )


def timing_caption(timings: dict[str, float], refused: bool) -> str:
    parts = [f"retrieval {timings.get('retrieval_ms', 0):.0f} ms"]
    if not refused and "time_to_first_token_ms" in timings:
        parts.append(f"first token {timings['time_to_first_token_ms'] / 1000:.1f} s")
        parts.append(f"{timings.get('tokens_per_s', 0):.1f} tokens/s")
    if timings.get("queued_ms", 0) >= 100:
        parts.append(f"waited {timings['queued_ms'] / 1000:.1f} s behind another question")
    return " · ".join(parts)
