"""Token counting with the embedder's own tokenizer, without loading torch.

Chunk sizes are measured in the tokens the embedding model will see, so that no chunk is
silently truncated by the model window. Parser processes use this too (cheap to load).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from tokenizers import Tokenizer

SPECIAL_TOKENS = 2  # [CLS] ... [SEP] added by BERT-style encoders


@lru_cache(maxsize=4)
def load_tokenizer(model_path: str) -> Tokenizer:
    tokenizer = Tokenizer.from_file(str(Path(model_path) / "tokenizer.json"))
    tokenizer.no_truncation()  # tokenizer.json ships with truncation on: it would hide sizes
    tokenizer.no_padding()
    return tokenizer


def token_counter(model_path: str) -> Callable[[str], range]:
    """The callable llama-index splitters take: text -> a sequence as long as its tokens
    (no special tokens). Splitters and the table chunker only take its length, so it is a
    `range`, and only counts are remembered.

    Remembers recent texts: SentenceSplitter measures the same sentences again as it merges
    them (octave.pdf, 1,134 pages: 147,652 calls for 24,724 distinct texts), and each call
    into the tokenizer costs far more than its few dozen characters."""
    tokenizer = load_tokenizer(model_path)

    @lru_cache(maxsize=1 << 15)
    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

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
