"""A passage given with the chunk that follows it in its section.

Chunks are cut by size, not by meaning: a heading and the first lines under it end one
chunk while the answer opens the next ("Raft log retention … --snapshot-count" then "Since
v3.2 the default … is 100,000"), and a list's introduction ends where its items begin. The
search finds the chunk whose words match the question; the answer is often its
continuation. Giving the first passages with their next chunk (when it is still in the same
section) puts that answer in front of the model; on answers-corpus, four passages each with
its continuation give the gold passage more often than six alone (0.897 against 0.862), for
a tenth more prompt tokens (benchmarks/passage_recall.py; README, "Retrieval: the corpus
set").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from rag_core.types import Payload, point_id

if TYPE_CHECKING:  # retrieval.py calls this module
    from rag_core.answering.retrieval import Source

# (point id, groups) -> the payload, when the groups may see it (VectorStore.visible_payload)
PayloadLookup = Callable[[str, Sequence[str]], dict[str, Any] | None]


def with_continuations(
    sources: Sequence[Source], groups: Sequence[str], first: int, lookup: PayloadLookup
) -> list[Source]:
    """The sources with, after each of the `first` ones, the chunk that follows it in the
    same file and section (when the groups may see it and it is not given already). A
    continuation takes its predecessor's relevance and score: it is given as part of it, so
    the prompt's passage margin keeps or drops the two together."""
    given = {s.id for s in sources}
    expanded: list[Source] = []
    for position, source in enumerate(sources):
        expanded.append(source)
        if position >= first:
            continue
        following = _following(source, groups, lookup)
        if following is not None and following.id not in given:
            expanded.append(following)
            given.add(following.id)
    return expanded


def _following(source: Source, groups: Sequence[str], lookup: PayloadLookup) -> Source | None:
    identifier = point_id(source.source, source.file_hash, source.chunk_index + 1)
    payload = lookup(identifier, groups)
    if not payload or payload.get(Payload.SECTION) != source.section:
        return None
    return replace(
        source,
        id=identifier,
        text=payload.get(Payload.TEXT, ""),
        page=payload.get(Payload.PAGE),
        chunk_index=source.chunk_index + 1,
        char_start=int(payload.get(Payload.CHAR_START, 0)),
        char_end=int(payload.get(Payload.CHAR_END, 0)),
        rows=payload.get(Payload.ROWS),
    )
