"""The light token counter agrees with the embedder's own tokenizer."""

from __future__ import annotations

import re
from pathlib import Path

from rag_core.embedding.embedder import Embedder
from rag_core.embedding.tokens import HuggingFaceTokens, SentencePieceTokens, text_tokens

REPO = Path(__file__).resolve().parents[3]


def _texts(shared_docs: Path) -> list[str]:
    """Paragraphs and sentences of real English and Spanish documents, as they come (with
    their indentation and line ends) and with whitespace of several kinds added at either
    end, where the two tokenizers' conventions differ."""
    files = [
        shared_docs / "text" / "debian-bug-reporting.txt",
        shared_docs / "markdown" / "etcd.faq.md",
        *sorted((REPO / "data" / "eval" / "docs-es").rglob("*.txt"))[:3],
    ]
    texts = []
    for file in files:
        for paragraph in file.read_text(encoding="utf-8", errors="replace").split("\n\n")[:150]:
            texts.append(paragraph)
            texts += re.split(r"(?<=[.!?])\s", paragraph)
    edges = (" ", "\n", "\t ", "\u00a0", "\u200b", "\u00ad", " \u3000")
    texts += [w + t for t in texts[:300] for w in edges] + [
        t + w for t in texts[:300] for w in edges
    ]
    odd = ["", " ", "\n\n", "¿Qué tal?  Ñandú ½ ﬁ ", "日本語のテキスト", "x" * 600]
    # a combining accent after a character the normalizer maps (no-break space, ligature),
    # as in the Debian FAQ's PDF text ("for \u00a0\u0300frozen’"), and after others
    accents = ["for \u00a0\u0300frozen’? ", "\u00a0\u0300", "x \u0300y", "ﬁ\u0300", "e\u0301te"]
    return [*texts, *odd, *accents, "\u00a0\u0300\u0301\u0302 n\u0303"]


def test_sentencepiece_counts_as_tokenizers_does(shared_docs: Path, e5_embedder: Embedder) -> None:
    """multilingual-e5's unigram tokenizer is counted by sentencepiece (a fifth of the
    memory), with the same count for every text."""
    path = str(e5_embedder.model_path)
    light, full = text_tokens(path), HuggingFaceTokens(path)
    assert isinstance(light, SentencePieceTokens)
    texts = _texts(shared_docs)
    assert len(texts) > 2000
    differ = [t for t in texts if light.count(t) != full.count(t)]
    assert differ == []


def _windows(text: str, spans: list[tuple[int, int]], size: int) -> list[str]:
    """The text cut every `size` tokens, as the chunker cuts an overlong piece."""
    cut = []
    for first in range(0, len(spans), size):
        last = min(first + size, len(spans)) - 1
        cut.append(text[spans[first][0] : spans[last][1]].strip())
    return cut


def test_token_spans_cut_text_into_windows_that_fit(
    shared_docs: Path, e5_embedder: Embedder
) -> None:
    """Where a text must be cut at token boundaries (a piece longer than the model window),
    the cut loses and repeats nothing, and each part fits the window by the embedder's own
    count. (The cut points may differ from `tokenizers`' where two segmentations of a run
    such as "----" score alike: same count, other pieces.)"""
    path = str(e5_embedder.model_path)
    light, full = text_tokens(path), HuggingFaceTokens(path)
    for text in _texts(shared_docs)[:600]:
        spans = light.spans(text)
        if not re.search(r"[\u0300-\u036f]", text):
            assert len(spans) == light.count(text)
        for size in (5, 16):
            windows = _windows(text, spans, size)
            assert re.sub(r"\s", "", "".join(windows)) == re.sub(r"\s", "", text)
            assert max((full.count(w) for w in windows), default=0) <= size + 1, text


def test_wordpiece_models_keep_tokenizers(embedder: Embedder) -> None:
    """all-MiniLM-L6-v2's WordPiece vocabulary is small: counted by `tokenizers` itself."""
    tokens = text_tokens(str(embedder.model_path))
    assert isinstance(tokens, HuggingFaceTokens)
    assert tokens.count("Kerberos tickets last ten hours.") == 8
