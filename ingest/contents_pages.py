"""Contents and index pages: lists of headings, each with a dot leader to its page number.

They are left out of the index. A contents page repeats every heading of the manual (a
FAQ's lists every question), so its lines match questions better than the passages they
point to, take places among the passages given to the model, and answer nothing. Dot
leaders are also expensive: each dot is a token, so a contents page becomes many chunks.
On the answers-corpus set's documents, 79 such pages of 1,847 made 2,128 of the 11,188
chunks (benchmarks/passage_recall.py measures what leaving them out changes).
"""

from __future__ import annotations

import re

from rag_core.types import Block

# four or more dots, optionally spaced (". . . ." or "....."): a leader, not an ellipsis
DOT_LEADER = re.compile(r"(?:\.\s?){4,}")
MIN_LEADER_LINES = 3
# Measured on the corpus set's 1,847 PDF pages: a contents or index page has a leader on
# 50-100 % of its lines (most above 70 %); every other page on 6 % or none.
LEADER_LINE_SHARE = 0.4


def is_contents_listing(text: str) -> bool:
    """Do most of the text's lines end in a dot leader (a contents page, a book's index)?"""
    lines = [line for line in text.splitlines() if line.strip()]
    leaders = sum(1 for line in lines if DOT_LEADER.search(line))
    return leaders >= MIN_LEADER_LINES and leaders >= LEADER_LINE_SHARE * len(lines)


def contents_blocks(blocks: list[Block]) -> frozenset[int]:
    """Indices of the blocks that are contents or index listings (tables never are)."""
    return frozenset(
        n
        for n, block in enumerate(blocks)
        if block.table is None and is_contents_listing(block.text)
    )
