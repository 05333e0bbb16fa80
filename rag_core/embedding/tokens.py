"""Token counting with the embedder's own tokenizer, without loading torch.

Chunk sizes are measured in the tokens the embedding model will see, so that no chunk is
silently truncated by the model window. Parser processes use this too, so it must be
light: a SentencePiece unigram tokenizer (XLM-RoBERTa's, multilingual-e5's) is counted by
`sentencepiece` itself, built from the same tokenizer.json, instead of `tokenizers`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import regex
from tokenizers import Tokenizer

SPECIAL_TOKENS = 2  # [CLS] ... [SEP] added by BERT-style encoders
_MARK = regex.compile(r"\p{M}")  # combining marks
_GRAPHEME = regex.compile(r"\X")


@lru_cache(maxsize=4)
def load_tokenizer(model_path: str) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.no_truncation()  # tokenizer.json ships with truncation on: it would hide sizes
    tokenizer.no_padding()
    return tokenizer


class TextTokens(Protocol):
    """A text's tokens as the embedder sees them (no special tokens)."""

    def count(self, text: str) -> int: ...

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Each token's (start, end) character offsets in `text`."""
        ...


class HuggingFaceTokens:
    """Any tokenizer.json, through `tokenizers` (the embedder's own copy)."""

    def __init__(self, model_path: str) -> None:
        self._tokenizer = load_tokenizer(model_path)

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def spans(self, text: str) -> list[tuple[int, int]]:
        return list(self._tokenizer.encode(text, add_special_tokens=False).offsets)


class SentencePieceTokens:
    """A SentencePiece unigram tokenizer.json (pieces and scores, the precompiled `nmt_nfkc`
    normalizer, whitespace as ▁) counted by `sentencepiece`.

    `tokenizers` holds XLM-RoBERTa's 250k pieces in a trie of ~280 MB, in every process
    that counts; `sentencepiece`'s double-array trie takes ~57 MB and counts about 4x
    faster per call. The counts are the same: `tokenizers` collapses runs of spaces and
    adds no token for leading whitespace, as SentencePiece does, but gives trailing
    whitespace a token of its own ("▁"), added back here; and it normalizes a short
    grapheme (a character and its combining marks) by its first character alone when the
    charsmap maps that one (" ̀" after a no-break space: the accent dropped), done here too.
    Whole corpus (../shared/docs, 34,645 chunks): the same chunks; 35,197 texts with
    whitespace of several kinds at either end: the same counts
    (tests/rag_core/embedding/test_tokens.py)."""

    def __init__(self, description: dict[str, Any]) -> None:
        import sentencepiece

        self._processor = sentencepiece.SentencePieceProcessor(
            model_proto=_sentencepiece_model(description)
        )

    def count(self, text: str) -> int:
        read = self._as_tokenizers_reads(text)
        return len(self._processor.encode(read)) + self._trailing_space(read)

    def _as_tokenizers_reads(self, text: str) -> str:
        """`text` with each short grapheme whose first character the charsmap maps cut to
        that character, as `tokenizers`' normalizer reads it (its `Precompiled` looks a
        grapheme under 6 bytes up whole and takes the shortest match)."""
        if not _MARK.search(text):
            return text
        return _GRAPHEME.sub(self._grapheme_as_read, text)

    def _grapheme_as_read(self, match: regex.Match[str]) -> str:
        grapheme = match.group(0)
        if len(grapheme) > 1 and len(grapheme.encode("utf-8")) < 6 and self._mapped(grapheme[0]):
            return grapheme[0]
        return grapheme

    def _trailing_space(self, text: str) -> bool:
        """Whether `tokenizers` gives the text's end a "▁" token of its own."""
        end = len(text)
        while end and self._deleted(text[end - 1]):
            end -= 1
        return end > 0 and self._space(text[end - 1])

    def spans(self, text: str) -> list[tuple[int, int]]:
        """SentencePiece's own pieces (an accent `count` leaves out, as `tokenizers` does,
        is a piece here: only where a text is cut, and only one token more)."""
        encoded = text.encode("utf-8")
        char_at = {}  # byte offset -> character offset, at character starts
        position = 0
        for index, char in enumerate(text):
            char_at[position] = index
            position += len(char.encode("utf-8"))
        char_at[position] = len(text)
        pieces = self._processor.encode(text, return_type="proto").pieces
        spans = []
        for piece in pieces:
            begin, end = piece.begin, piece.end
            while begin not in char_at:  # inside a character: its start
                begin -= 1
            while end not in char_at and end < len(encoded):
                end += 1
            spans.append((char_at[begin], char_at.get(end, len(text))))
        if self._trailing_space(text):
            spans.append((len(text.rstrip()), len(text)))
        return spans

    @lru_cache(maxsize=256)  # noqa: B019 - one instance per model, kept for the process
    def _space(self, char: str) -> bool:
        """Whether the normalizer turns `char` into a space (tab, NBSP, zero-width...)."""
        return self._processor.normalize(f"a{char}b") == "▁a▁b"

    @lru_cache(maxsize=256)  # noqa: B019
    def _deleted(self, char: str) -> bool:
        return self._processor.normalize(f"a{char}b") == "▁ab"

    @lru_cache(maxsize=256)  # noqa: B019
    def _mapped(self, char: str) -> bool:
        """Whether the charsmap changes `char` (NBSP, ligatures, full-width forms...)."""
        return self._processor.normalize(f"a{char}b") != f"▁a{char}b".replace(" ", "▁")


def _sentencepiece_model(description: dict[str, Any]) -> bytes:
    """The SentencePiece model a unigram tokenizer.json was converted from."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    model = description["model"]
    charsmap = _precompiled_charsmap(description)
    special = {token["id"] for token in description.get("added_tokens", []) if token["special"]}
    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(model["vocab"])
    proto.trainer_spec.unk_id = model["unk_id"]
    proto.trainer_spec.bos_id = proto.trainer_spec.eos_id = proto.trainer_spec.pad_id = -1
    proto.normalizer_spec.name = "user_defined"
    proto.normalizer_spec.precompiled_charsmap = charsmap or b""
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    proto.normalizer_spec.escape_whitespaces = True
    kinds = pb.ModelProto.SentencePiece
    for number, (piece, score) in enumerate(model["vocab"]):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, score
        if number == model["unk_id"]:
            entry.type = kinds.UNKNOWN
        elif number in special:
            entry.type = kinds.CONTROL
    return proto.SerializeToString()


def _precompiled_charsmap(description: dict[str, Any]) -> bytes | None:
    """The normalizer's precompiled charsmap, when the normalizer is just that (and the
    collapse of repeated spaces SentencePiece also does); None otherwise."""
    normalizer = description.get("normalizer") or {}
    steps = (
        normalizer.get("normalizers", []) if normalizer.get("type") == "Sequence" else [normalizer]
    )
    charsmap = None
    for step in steps:
        if step.get("type") == "Precompiled" and charsmap is None:
            charsmap = base64.b64decode(step["precompiled_charsmap"])
        elif not (step.get("type") == "Replace" and step.get("content") == " "):
            return None
    return charsmap


def _is_sentencepiece_unigram(description: dict[str, Any]) -> bool:
    """tokenizer.json describes a SentencePiece unigram model `sentencepiece` counts alike."""
    model, pre = description.get("model") or {}, description.get("pre_tokenizer") or {}
    prepends = pre.get("prepend_scheme") == "always" or pre.get("add_prefix_space") is True
    return (
        model.get("type") == "Unigram"
        and not model.get("byte_fallback")
        and model.get("unk_id") is not None
        and pre.get("type") == "Metaspace"
        and pre.get("replacement") == "▁"
        and prepends
        and _precompiled_charsmap(description) is not None
    )


@lru_cache(maxsize=4)
def text_tokens(model_path: str) -> TextTokens:
    """The lightest exact counter for the model's tokenizer.json."""
    path = Path(model_path) / "tokenizer.json"
    description = json.loads(path.read_text(encoding="utf-8"))
    if _is_sentencepiece_unigram(description):
        try:
            return SentencePieceTokens(description)
        except ImportError:
            pass
    return HuggingFaceTokens(model_path)


def token_counter(model_path: str) -> Callable[[str], range]:
    """The callable llama-index splitters take: text -> a sequence as long as its tokens
    (no special tokens). Splitters and the table chunker only take its length, so it is a
    `range`, and only counts are remembered.

    Remembers recent texts: SentenceSplitter measures the same sentences again as it merges
    them (octave.pdf, 1,134 pages: 147,652 calls for 24,724 distinct texts), and each call
    into the tokenizer costs far more than its few dozen characters."""
    tokens = text_tokens(model_path)
    count = lru_cache(maxsize=1 << 15)(tokens.count)

    def encode(text: str) -> range:
        return range(count(text))

    return encode


def model_window(model_path: str) -> int:
    """The model's maximum sequence length in tokens, special tokens included."""
    config = Path(model_path) / "sentence_bert_config.json"
    if config.is_file():
        value = json.loads(config.read_text()).get("max_seq_length")
        if value:
            return int(value)
    tokenizer_config = Path(model_path) / "tokenizer_config.json"
    if tokenizer_config.is_file():
        value = json.loads(tokenizer_config.read_text()).get("model_max_length")
        if value and value < 100_000:
            return int(value)
    return 512
