"""A question translated by the answering model, so that it is also searched in the
language most documents are written in.

Why: the packaged multilingual embedder matches a Spanish question with an English passage
far worse than an English question with it. On faq-dev-es (190 Spanish questions, English
passages, e5, hybrid) the Spanish questions reach nDCG@10 0.652; their translations by the
packaged Qwen2.5-Coder-1.5B reach 0.748, as good as the English originals (0.754), in
1.2-1.4 s a question (0.5B: 0.724 in 0.6 s). The retriever then fuses both searches, each
passage judged mostly by the question in its own language
(`rag_core.answering.retrieval.fuse_by_language`), so Spanish passages keep the Spanish
question's ranking.
"""

from __future__ import annotations

import logging

from rag_core.generation.llm import ChatModel, GenerationStats, Message
from rag_core.types import RagdeskError

LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
MAX_TOKENS = 96  # a question, not an essay: a runaway reply is cut and rejected
log = logging.getLogger(__name__)

SYSTEM = "You are a professional translator from {source} to {target}."
INSTRUCTION = (
    "Translate this question into {target}. Keep numbers, names, commands, file names and "
    "code exactly as they are. Reply with the {target} translation only.\n\n{question}"
)


def translation_messages(question: str, source: str, target: str) -> list[Message]:
    names = {"source": LANGUAGE_NAMES.get(source, source), "target": LANGUAGE_NAMES[target]}
    return [
        {"role": "system", "content": SYSTEM.format(**names)},
        {"role": "user", "content": INSTRUCTION.format(question=question, **names)},
    ]


def clean_translation(reply: str, question: str) -> str | None:
    """The translated question, or None when the reply is not one (empty, the question
    itself, or far longer than it: a model that answered instead of translating)."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    text = lines[0].strip().strip('"“”«»').strip() if lines else ""
    if not text or text.lower() == question.strip().lower():
        return None
    if len(text) > 3 * len(question) + 80:
        return None
    return text


class QuestionTranslator:
    """Translates questions into `target` with the answering model (greedy, short); a
    question already in `target` is not sent to the model."""

    def __init__(self, model: ChatModel, target: str) -> None:
        if target not in LANGUAGE_NAMES:
            known = ", ".join(sorted(LANGUAGE_NAMES))
            raise ValueError(f"cannot translate questions into {target!r}: use one of {known}")
        self._model = model
        self.target = target

    def needed(self, language: str) -> bool:
        return language != self.target

    def __call__(self, question: str, language: str) -> str | None:
        if not self.needed(language):
            return None
        messages = translation_messages(question, language, self.target)
        try:
            reply = "".join(self._model.stream_chat(messages, MAX_TOKENS, GenerationStats()))
        except RagdeskError as exc:  # e.g. a remote model server's hiccup: search as asked
            log.warning("question not translated for the search: %s", exc)
            return None
        return clean_translation(reply, question)
