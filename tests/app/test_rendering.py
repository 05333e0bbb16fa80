"""Answer and passage HTML: untrusted text escaped, citations linked, cited sentence marked."""

from __future__ import annotations

from dataclasses import replace

from app.rendering import answer_html, passage_html, source_html, timing_caption, where
from rag_core.answering.retrieval import Source


def source(text: str) -> Source:
    return Source(
        id="p1",
        source="hr/leave.pdf",
        text=text,
        title="Leave",
        page=3,
        section="Leave > Sick",
        chunk_index=0,
        char_start=0,
        char_end=len(text),
        file_hash="h",
        score=1.0,
        relevance=0.8,
    )


def test_only_valid_citations_become_links() -> None:
    html = answer_html("Sick leave is 10 days [1]. Also [7].", "m1", cited=[1])
    assert '<a class="rd-cite" href="#src-m1-1" title="source 1">[1]</a>' in html
    assert "[7]" in html and "src-m1-7" not in html


def test_model_output_and_document_text_are_escaped() -> None:
    html = answer_html('<script>alert("x")</script> [1]', "m1", cited=[1])
    assert "<script>" not in html and "&lt;script&gt;" in html
    passage = passage_html("<img src=x onerror=alert(1)> Sick leave is 10 days.", "Sick leave")
    assert "<img" not in passage and "&lt;img" in passage


def test_the_cited_sentence_is_marked_across_line_breaks() -> None:
    text = "Intro. Sick leave is\n10 days per year. Other text."
    html = passage_html(text, "Sick leave is 10 days per year.")
    assert "<mark>Sick leave is\n10 days per year.</mark>" in html
    assert passage_html(text, "not in the passage") == text.replace("<", "&lt;")


def test_source_block_names_file_page_and_section() -> None:
    html = source_html("m1", 2, source("Sick leave is 10 days."), None)
    assert 'id="src-m1-2"' in html
    assert "[2] hr/leave.pdf, page 3 · Leave &gt; Sick" in html


def test_spreadsheet_sources_name_sheet_and_rows() -> None:
    sheet = replace(source("Ingrid | Backup operator"), source="staff.xlsx", page=None,
                    section="Contacts", rows="2–3")  # fmt: skip
    assert where(sheet) == "staff.xlsx · Contacts, rows 2–3"
    assert where(replace(sheet, section=None)) == "staff.xlsx, rows 2–3"  # a CSV


def test_timings_caption() -> None:
    caption = timing_caption(
        {
            "retrieval_ms": 12.4,
            "time_to_first_token_ms": 2500,
            "tokens_per_s": 9.26,
            "queued_ms": 3000,
        },
        refused=False,
    )
    assert caption == (
        "retrieval 12 ms · first token 2.5 s · 9.3 tokens/s · waited 3.0 s behind another question"
    )
    assert timing_caption({"retrieval_ms": 5}, refused=True) == "retrieval 5 ms"
    translated = timing_caption({"retrieval_ms": 31, "translation_ms": 1240}, refused=True)
    assert translated == "retrieval 31 ms · question translated for the search in 1.2 s"


def test_an_unsupported_sentence_is_marked_with_a_tooltip() -> None:
    text = "Sick leave is 10 days [1]. It is <b>30</b> days abroad [1]."
    flagged = [("It is <b>30</b> days abroad [1].", [1])]
    html = answer_html(text, "m1", cited=[1], unsupported=flagged)
    note = "not found in &#91;1&#93;"
    assert f'<span class="rd-unsupported" title="{note}">' in html
    assert f'<span class="rd-flag" aria-hidden="true" data-note="{note}">⚠</span>' in html
    assert "<b>" not in html and "&lt;b&gt;30&lt;/b&gt;" in html  # still escaped
    # both citations are still links, the tooltip's brackets were left alone
    assert html.count('<a class="rd-cite"') == 2
    assert html.index("Sick leave") < html.index("rd-unsupported")  # only the flagged one
