"""The answer pipeline: (rewrite follow-up) -> retrieve -> refuse or prompt -> stream -> cite.

`AnswerEngine.stream` yields answer text pieces as the model produces them and ends with
one `Answer` holding the final text, citations, the passages given to the model, the
refusal decision and timings.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from rag_core.answering.citation_check import SentenceCheck, SupportChecker, cites_a_claim
from rag_core.answering.citations import Citation, cite
from rag_core.answering.language import language_of
from rag_core.answering.prompt import (
    DEFAULT_WORDING,
    REFUSALS,
    Prompt,
    PromptSource,
    Wording,
    build_prompt,
    describe,
    not_found,
)
from rag_core.answering.question_translation import QuestionTranslator
from rag_core.answering.relevance_gate import floor_for, translation_passes
from rag_core.answering.repetition import repeat_start, without_repetition
from rag_core.answering.retrieval import Retrieval, Retriever, Source
from rag_core.answering.safety import REMOVED, leaked_words
from rag_core.answering.unknown_names import unknown_names
from rag_core.embedding.relevance import (
    passage_margin,
    relevance_floors,
    support_across_languages,
)
from rag_core.generation.admission import AnswerGate, AnswerTimeout, Lease, WaitCallback
from rag_core.generation.llm import ChatModel, GenerationStats
from rag_core.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, translator
from rag_core.observability import telemetry
from rag_core.settings import Settings

_SENTENCE_END = re.compile(r"[.!?\n]")  # a piece that may complete a sentence
UNKNOWN_NAMES = N_("None of the documents mentions {names}.")
INJECTION_REFUSAL = N_(
    "The passages found contain text that tries to instruct the assistant, and the draft "
    "answer followed it, so it was withheld. Please read the sources below directly."
)

REWRITE_SYSTEM = (
    "Rewrite the user's last question as one standalone question that can be understood "
    "without the conversation. Reply with the question only."
)


@dataclass(frozen=True, slots=True)
class Turn:
    question: str
    answer: str


@dataclass(slots=True)
class Answer:
    question: str
    search_query: str
    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    refused: bool = False
    language: str = SOURCE_LANGUAGE  # the question's, so the answer's and its messages'
    # who refused: "threshold" (nothing relevant enough, no model call), "unknown names"
    # (the question names something no document mentions, no model call), "model" (it
    # said "not found" although passages were given) or "unsupported" (the citation check);
    # different causes, different fixes
    refused_by: str | None = None
    flagged_injection: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    search_translation: str | None = None  # the question translated, also searched
    checks: list[SentenceCheck] = field(default_factory=list)  # cited sentences, verified
    # what the model wrote, and the passages it was given (numbered as in its prompt):
    # kept so that evaluation runs can replay the steps after generation
    model_text: str = ""
    prompt_sources: list[PromptSource] = field(default_factory=list)

    @property
    def unsupported(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.supported]

    def citation_supported(self, n: int) -> bool | None:
        """Every sentence citing source n is backed by it (None: no sentence was checked)."""
        verdicts = [c.supported for c in self.checks if n in c.cited]
        return all(verdicts) if verdicts else None

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "citations": [
                {
                    "n": c.n,
                    "source": c.source,
                    "page": c.page,
                    "section": c.section,
                    "rows": c.rows,
                    "snippet": c.snippet,
                    "score": c.score,
                    "supported": self.citation_supported(c.n),
                }
                for c in self.citations
            ],
            "unsupported_sentences": [c.to_json() for c in self.unsupported],
            "recited_sentences": [c.to_json() for c in self.checks if c.recited_from],
            "sources": [source_json(n, s) for n, s in enumerate(self.sources, start=1)],
            "refused": self.refused,
            "refused_by": self.refused_by,
            "language": self.language,
            "search_query": self.search_query,
            "search_translation": self.search_translation,
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }


def source_json(n: int, source: Source) -> dict[str, Any]:
    return {
        "n": n,
        "source": source.source,
        "page": source.page,
        "section": source.section,
        "rows": source.rows,
        "snippet": source.text[:400],
        "score": round(source.relevance, 4),
    }


class AnswerEngine:
    """One per request or per session (it holds no per-question state); the model and the
    gate are the process's shared ones."""

    def __init__(
        self,
        retriever: Retriever,
        model: ChatModel | None,
        settings: Settings,
        gate: AnswerGate | None = None,
        wording: Wording = DEFAULT_WORDING,
    ) -> None:
        self._retriever = retriever
        self._wording = wording
        self._model = model
        self._settings = settings
        self._checker = (
            SupportChecker(
                retriever.embedder,
                settings.support_threshold,
                support_across_languages(retriever.embedder.info.name),
            )
            if settings.verify_citations
            else None
        )
        self._gate = gate
        self._floors = relevance_floors(settings.min_relevance, retriever.embedder.info.name)
        self._margin = passage_margin(settings.passage_margin, retriever.embedder.info.name)
        target = settings.translate_questions_to
        self._translator = (
            QuestionTranslator(model, target) if model is not None and target != "off" else None
        )

    def retrieve(
        self,
        question: str,
        groups: Sequence[str],
        history: Sequence[Turn] = (),
        k: int | None = None,
        on_wait: WaitCallback | None = None,
        language: str | None = None,
    ) -> tuple[str, Retrieval, bool]:
        """(search query, retrieval, refused) — no answer generation. `language`: the
        question's, when the caller knows it already. A question not in the translation
        language is translated by the model and searched again, both fused; the floor
        refuses it only when neither the question (on its own search, as the floor was
        measured) nor its translation reaches its floor. A question naming something no
        document mentions is refused too (rag_core/answering/unknown_names.py)."""
        query = self.standalone_question(question, history, on_wait)
        k = k or self._settings.top_k
        retrieval = self._retriever.retrieve(query, groups, k)
        refused = retrieval.best_relevance < self.relevance_floor(question, retrieval, language)
        language = language or language_of(question)
        # names first: a question the documents never mention costs no translation either
        if not refused and self._names_unknown(question, language, groups, retrieval):
            return query, retrieval, True
        if self._translator is not None and self._translator.needed(language):
            started = time.perf_counter()
            with self._slot(on_wait):
                translation = self._translator(query, language)
            translated_ms = (time.perf_counter() - started) * 1000
            if translation:
                retrieval = self._retriever.retrieve(query, groups, k, translation=translation)
                retrieval.translation_ms = translated_ms
                if refused and translation_passes(self._floors, retrieval):  # rescued by it
                    refused = self._names_unknown(question, language, groups, retrieval)
        if not refused:
            retrieval.sources = self._retriever.continued(
                retrieval.sources, groups, self._settings.continued_passages
            )
        return query, retrieval, refused

    def _names_unknown(
        self, question: str, language: str, groups: Sequence[str], retrieval: Retrieval
    ) -> bool:
        """Does the question name something no document the groups see mentions? The names
        go into `retrieval.unknown_names`, for the refusal to say."""
        if not self._settings.refuse_unknown_names:
            return False
        retrieval.unknown_names = unknown_names(
            question, language, lambda name: self._retriever.mentioned(name, groups)
        )
        return bool(retrieval.unknown_names)

    @property
    def passage_margin(self) -> float | None:
        """How far below the best passage another may score and still be given (None: all)."""
        return self._margin

    def relevance_floor(
        self, question: str, retrieval: Retrieval, language: str | None = None
    ) -> float:
        """The embedder's floor for this question: the across-languages one when its best
        passage is in another language (a Spanish question over an English manual)."""
        best = retrieval.best_source
        return floor_for(self._floors, question, best.text if best else None, language)

    def standalone_question(
        self, question: str, history: Sequence[Turn], on_wait: WaitCallback | None = None
    ) -> str:
        """A follow-up ("and for v3?") rewritten with the conversation, for retrieval. The
        rewrite is a model call too: it waits in the same line as answers."""
        if not history:
            return question
        previous = history[-1].question
        if self._model is None or not _looks_like_follow_up(question):
            return question if not _looks_like_follow_up(question) else f"{previous} {question}"
        conversation = "\n".join(
            f"User: {t.question}\nAssistant: {t.answer[:300]}" for t in history[-3:]
        )
        messages = [
            {"role": "system", "content": REWRITE_SYSTEM},
            {
                "role": "user",
                "content": f"{conversation}\nUser: {question}\n\nStandalone question:",
            },
        ]
        with self._slot(on_wait):
            rewritten = "".join(self._model.stream_chat(messages, 64, GenerationStats()))
        rewritten = rewritten.strip().strip('"')
        rewritten = rewritten.splitlines()[0] if rewritten else ""
        if not rewritten or len(rewritten) > 4 * len(question) + 200:
            return f"{previous} {question}"
        # keep both: the rewrite names the topic, the original keeps the user's own words
        return f"{rewritten} {question}" if rewritten.lower() != question.lower() else rewritten

    def stream(
        self,
        question: str,
        groups: Sequence[str],
        history: Sequence[Turn] = (),
        k: int | None = None,
        on_wait: WaitCallback | None = None,
        fallback_language: str = SOURCE_LANGUAGE,
    ) -> Iterator[str | Answer]:
        """Pieces of the answer as they are written, then the `Answer`. With a gate, the
        model part waits for a slot (`on_wait` hears how many answers are ahead); closing
        this generator early (a reader who left) frees the slot at once. The answer and
        its messages are in the question's language (`fallback_language`, the reader's
        interface language, when the question is too short to tell)."""
        started = time.perf_counter()
        telemetry.QUESTIONS.inc()
        language = language_of(question, fallback_language)
        _ = translator(language)
        query, retrieval, refused = self.retrieve(question, groups, history, k, on_wait, language)
        answer = Answer(question=question, search_query=query, sources=retrieval.sources)
        answer.language = language
        answer.timings["retrieval_ms"] = retrieval.milliseconds
        answer.search_translation = retrieval.translation
        if retrieval.translation:
            answer.timings["translation_ms"] = retrieval.translation_ms
        telemetry.RETRIEVAL_SECONDS.observe(retrieval.milliseconds / 1000)
        if refused or self._model is None:
            telemetry.REFUSALS.labels("not_found").inc()
            answer.refused = True
            answer.refused_by = "threshold" if refused else "no model"
            answer.text = not_found(language)
            if retrieval.unknown_names:  # say what the documents never mention
                answer.refused_by = "unknown names"
                names = ", ".join(f"“{name}”" for name in retrieval.unknown_names)
                answer.text += " " + _(UNKNOWN_NAMES).format(names=names)
            answer.timings["total_ms"] = (time.perf_counter() - started) * 1000
            yield answer.text
            yield answer
            return

        model = self._model
        prompt = build_prompt(
            question,
            retrieval.sources,
            model.count_tokens,
            model.context_tokens,
            self._settings.answer_tokens,
            self._margin,
            self._wording,
            language,
        )
        answer.sources = [p.source for p in prompt.sources]
        stats = GenerationStats()
        prompt_ready = time.perf_counter()
        pieces: list[str] = []
        with self._slot(on_wait) as lease:
            waited_ms = lease.waited_s * 1000 if lease else 0.0
            generation = model.stream_chat(prompt.messages, self._settings.answer_tokens, stats)
            try:
                for piece in generation:
                    if lease is not None and lease.expired():
                        raise AnswerTimeout(
                            _(
                                "The answer took longer than {seconds:.0f} s and was stopped. "
                                "Please ask again."
                            ).format(seconds=self._settings.answer_timeout_s)
                        )
                    pieces.append(piece)
                    yield piece
                    ended = _SENTENCE_END.search(piece)
                    if ended and repeat_start("".join(pieces), finished=False) is not None:
                        break  # a loop: the rest would repeat it up to the token limit
            except Exception:
                telemetry.MODEL_ERRORS.inc()
                raise
            finally:
                generation.close()  # frees the model (or the server's slot) now
        conclude(answer, "".join(pieces), prompt, self._checker)
        stats.queued_ms += waited_ms
        _record_timings(answer, stats, prompt, started, prompt_ready, waited_ms)
        _observe(answer)
        yield answer

    def verify(self, answer: Answer, prompt: Prompt) -> None:
        """Check each cited sentence against its passage; re-cite or flag (in place)."""
        check_citations(answer, prompt, self._checker)

    def _slot(self, on_wait: WaitCallback | None) -> AbstractContextManager[Lease | None]:
        return self._gate.slot(on_wait) if self._gate is not None else nullcontext()

    def ask(
        self,
        question: str,
        groups: Sequence[str],
        history: Sequence[Turn] = (),
        fallback_language: str = SOURCE_LANGUAGE,
    ) -> Answer:
        result = None
        for item in self.stream(question, groups, history, fallback_language=fallback_language):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result


def conclude(
    answer: Answer, model_text: str, prompt: Prompt, checker: SupportChecker | None
) -> None:
    """From the model's words to what is shown (in place): markers mended, a refusal in
    its words recognised, an answer that follows a removed instruction withheld, each cited
    sentence checked, and an answer none of whose sentences its passages back withheld.
    Apart from generation so that `benchmarks/citation_replay.py` can re-run it on logged
    model outputs."""
    _ = translator(answer.language)
    answer.model_text, answer.prompt_sources = model_text, list(prompt.sources)
    # a small model sometimes copies a passage whole, removal marker included
    raw = without_repetition(model_text.replace(REMOVED, "").strip())
    answer.text, answer.citations = cite(raw, prompt.sources)
    answer.refused = _is_not_found(answer.text)
    if answer.refused:  # includes a model that produced nothing usable
        answer.text, answer.citations = not_found(answer.language), []
        answer.refused_by = "model"
        telemetry.REFUSALS.labels("model").inc()
    answer.flagged_injection = _followed_injection(answer.text, prompt, answer.question)
    if answer.flagged_injection:
        answer.text, answer.citations = _(INJECTION_REFUSAL), []
        telemetry.REFUSALS.labels("injection").inc()
    elif not answer.refused:
        check_citations(answer, prompt, checker)
        unbacked = bool(answer.checks) and not any(c.supported for c in answer.checks)
        # an answer citing nothing (no marker even after attribution: nothing in it could be
        # traced to a passage) is no more an answer from the documents than an unbacked one
        uncited = checker is not None and not cites_a_claim(answer.text, answer.language)
        if unbacked or uncited:
            _withhold_unsupported(answer, prompt)
            telemetry.REFUSALS.labels("unsupported").inc()


def check_citations(answer: Answer, prompt: Prompt, checker: SupportChecker | None) -> None:
    """Check each cited sentence against its passage; re-cite or flag (in place)."""
    if checker is None or not answer.citations:
        return
    started = time.perf_counter()
    passages = {p.n: p.text for p in prompt.sources}
    places = "\n".join(describe(p.source) for p in prompt.sources)
    verification = checker.verify(answer.text, passages, answer.language, answer.question, places)
    if verification.text != answer.text:  # re-cited: citations follow the new markers
        answer.text, answer.citations = cite(verification.text, prompt.sources)
    answer.checks = verification.checks
    answer.timings["verify_ms"] = (time.perf_counter() - started) * 1000


def _withhold_unsupported(answer: Answer, prompt: Prompt) -> None:
    """No cited sentence is backed by its passage: not an answer. Say "not found" and what
    the passages given are about, so the reader knows where the search landed."""
    _ = translator(answer.language)
    about = list(dict.fromkeys(describe(p.source, _) for p in prompt.sources))[:3]
    closest = _("The closest passages found are in: {places}.").format(places="; ".join(about))
    answer.text = f"{not_found(answer.language)} {closest}"
    answer.citations, answer.refused, answer.refused_by = [], True, "unsupported"


def _looks_like_follow_up(question: str) -> bool:
    words = re.findall(r"\w+", question.lower())
    pronouns = {"it", "its", "that", "this", "those", "these", "they", "them", "there", "he", "she"}
    pronouns |= {"eso", "esto", "ese", "esa", "esos", "esas", "ello", "ellos", "ellas", "allí"}
    starts = ("and ", "what about", "how about", "also", "then ", "but ", "same ")
    starts += ("y ", "¿y ", "¿qué hay de", "también", "entonces", "pero ", "¿pero ")
    return len(words) <= 6 or bool(pronouns & set(words)) or question.lower().startswith(starts)


def _is_not_found(text: str) -> bool:
    """The model's refusal, in any language it was told to refuse in."""
    core = re.sub(r"\W+", " ", text.lower()).strip()
    refusals = {re.sub(r"\W+", " ", not_found(lang).lower()).strip() for lang in LANGUAGES}
    if not core or any(core.startswith(refusal) for refusal in refusals):
        return True
    return any(pattern.match(core) for pattern in REFUSALS.values())


def _followed_injection(text: str, prompt: Prompt, question: str) -> bool:
    removed = [sentence for p in prompt.sources for sentence in p.removed]
    if not removed:
        return False
    allowed = question + "\n" + "\n".join(p.text for p in prompt.sources)
    allowed += "\n".join(describe(p.source) for p in prompt.sources)
    return bool(leaked_words(text, removed, allowed))


def _observe(answer: Answer) -> None:
    telemetry.TTFT_SECONDS.observe(answer.timings["time_to_first_token_ms"] / 1000)
    if answer.timings["tokens_per_s"] > 0:
        telemetry.TOKENS_PER_SECOND.observe(answer.timings["tokens_per_s"])
    telemetry.GENERATED_TOKENS.inc(answer.timings["generation_tokens"])


def _record_timings(
    answer: Answer,
    stats: GenerationStats,
    prompt: Prompt,
    started: float,
    prompt_ready: float,
    waited_ms: float = 0.0,
) -> None:
    # stats.first_token_ms counts from the model call, which starts after the slot wait
    first_token_ms = (prompt_ready - started) * 1000 + waited_ms + stats.first_token_ms
    answer.timings.update(
        {
            "prompt_tokens": float(prompt.tokens),
            "prompt_eval_tokens": float(stats.prompt_tokens),
            "prompt_eval_ms": stats.prompt_eval_ms,
            "queued_ms": stats.queued_ms,
            "time_to_first_token_ms": first_token_ms,
            "generation_tokens": float(stats.completion_tokens),
            "tokens_per_s": stats.tokens_per_second,
            "total_ms": (time.perf_counter() - started) * 1000,
        }
    )
    # what ragdesk adds before the first token: everything but llama.cpp's own prompt
    # evaluation (the first token is sampled from the prompt batch's logits) and time
    # queued behind another user
    answer.timings["before_model_ms"] = (prompt_ready - started) * 1000  # retrieval + prompt
    answer.timings["overhead_ms"] = (
        answer.timings["time_to_first_token_ms"] - stats.prompt_eval_ms - stats.queued_ms
    )
