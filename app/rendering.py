"""HTML for answers and their sources.

Document text and model output are untrusted: everything is escaped first, then the few
elements we add (citation links, the highlighted sentence) are inserted around it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from app.i18n import _
from rag_core.answering.retrieval import Source

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
span.rd-unsupported { text-decoration: underline wavy rgba(214, 39, 40, .75);
  text-underline-offset: .2em; cursor: help; }
span.rd-unsupported:hover .rd-flag::after { content: attr(data-note); position: absolute;
  left: 1.4em; top: -.1em; white-space: nowrap; background: #333; color: #fff;
  font-weight: 400; padding: .1em .5em; border-radius: .3em; z-index: 10; }
span.rd-unsupported .rd-flag { color: #d62728; font-weight: 700; font-size: .85em;
  padding-left: .15em; position: relative; }
</style>
"""


def anchor(message_id: str, n: int) -> str:
    return f"src-{message_id}-{n}"


def unsupported_note(cited: Sequence[int]) -> str:
    """The tooltip of a flagged sentence: "not found in [2]" (or "[1], [3]")."""
    return _("not found in {sources}").format(sources=", ".join(f"[{n}]" for n in cited))


def _flag_unsupported(escaped: str, flagged: Sequence[tuple[str, Sequence[int]]]) -> str:
    """Wrap each flagged sentence (found in the escaped answer) in a marked span. The
    tooltip's brackets are entities, so the citation linking that follows leaves them."""
    for sentence, cited in flagged:
        target = html.escape(sentence, quote=False)
        at = escaped.find(target)
        if not target or at < 0:
            continue
        note = html.escape(unsupported_note(cited)).replace("[", "&#91;").replace("]", "&#93;")
        span = (
            f'<span class="rd-unsupported" title="{note}">{target}'
            f'<span class="rd-flag" aria-hidden="true" data-note="{note}">⚠</span></span>'
        )
        escaped = escaped[:at] + span + escaped[at + len(target) :]
    return escaped


def answer_html(
    text: str,
    message_id: str,
    cited: Iterable[int],
    unsupported: Sequence[tuple[str, Sequence[int]]] = (),
) -> str:
    """The answer, escaped, with each valid `[n]` turned into a link to source n below and
    each sentence its source does not support marked, with a tooltip saying so."""
    valid = set(cited)

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in valid:
            return match.group(0)
        title = html.escape(_("source {n}").format(n=n))
        return f'<a class="rd-cite" href="#{anchor(message_id, n)}" title="{title}">[{n}]</a>'

    escaped = _flag_unsupported(html.escape(text, quote=False), unsupported)
    return _MARKER.sub(link, escaped).replace("\n", "<br>")


def where(source: Source) -> str:
    """'file.pdf, page 4 · Chapter > Section', 'book.xlsx · Budget, rows 12–30' — what a
    reader needs to find the passage."""
    parts = [source.source]
    if source.page:
        parts[0] += _(", page {page}").format(page=source.page)
    if source.section:
        parts.append(source.section)
    if source.rows:
        parts[-1] += _(", rows {rows}").format(rows=source.rows)
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
    parts = [_("retrieval {ms:.0f} ms").format(ms=timings.get("retrieval_ms", 0))]
    if "translation_ms" in timings:  # the question was also searched translated
        translated = timings["translation_ms"] / 1000
        parts.append(_("question translated for the search in {s:.1f} s").format(s=translated))
    if not refused and "time_to_first_token_ms" in timings:
        first = timings["time_to_first_token_ms"] / 1000
        parts.append(_("first token {s:.1f} s").format(s=first))
        parts.append(_("{rate:.1f} tokens/s").format(rate=timings.get("tokens_per_s", 0)))
    if timings.get("queued_ms", 0) >= 100:
        waited = timings["queued_ms"] / 1000
        parts.append(_("waited {s:.1f} s behind another question").format(s=waited))
    return " · ".join(parts)
