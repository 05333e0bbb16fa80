"""The citation check across languages: where a claim must score in a passage written in
another language (a Spanish answer from an English manual).

    .venv/bin/python benchmarks/support_across.py [--embedders multilingual-e5-small]
    .venv/bin/python benchmarks/support_across.py --translate   # (re)make the Spanish claims

The labelled English pairs of `data/eval/support-pairs.jsonl` with their claims in Spanish
(`data/eval/support-pairs-es.jsonl`: machine-translated by the packaged Qwen2.5-Coder-1.5B,
numbers, names and commands kept; `--translate` makes it again) against the same English
passages. For each embedder it prints, per dense-cosine threshold, the precision and recall
of flagging unsupported claims (a claim whose numbers or names are not in the passage is
flagged whatever its score, as in the check), for English claims and Spanish ones, and the
Spanish claims under the one-language rule (dense and lexical overlap averaged, the
configured threshold). The across-languages floor chosen is the one `ragdesk eval support`
would choose: the most recall at precision >= its MIN_PRECISION.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.eval_support import MIN_PRECISION, flag_rates, load_pairs  # noqa: E402
from rag_core.answering.citation_check import DEFAULT_THRESHOLD, SupportChecker  # noqa: E402
from rag_core.embedding.embedder import Embedder  # noqa: E402
from rag_core.settings import Settings  # noqa: E402

PAIRS = REPO / "data/eval/support-pairs.jsonl"
SPANISH = REPO / "data/eval/support-pairs-es.jsonl"
THRESHOLDS = tuple(round(0.70 + 0.01 * i, 2) for i in range(26))  # 0.70 .. 0.95
SYSTEM = "You are a professional translator from English to Spanish."
INSTRUCTION = (
    "Translate this sentence into Spanish. Keep numbers, names, commands, file names and "
    "code exactly as they are. Reply with the Spanish translation only.\n\n"
)


def translate(settings: Settings) -> None:
    """Write SPANISH: each pair's claim translated by the packaged 1.5B (greedy)."""
    from llama_cpp import Llama

    from rag_core.generation.model_files import resolve_model

    gguf = resolve_model("qwen2.5-1.5b", settings.models_dir)
    llm = Llama(str(gguf.path), n_ctx=1024, n_threads=2, verbose=False)
    with SPANISH.open("w", encoding="utf-8") as out:
        for pair in load_pairs(PAIRS):
            messages = [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": INSTRUCTION + pair.claim},
            ]
            reply = llm.create_chat_completion(messages, temperature=0, max_tokens=200)
            spanish = reply["choices"][0]["message"]["content"].strip().strip('"')
            row = {"id": pair.id, "claim_es": spanish}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def rates(flags: list[bool], truth: list[bool]) -> tuple[float, float, int]:
    """(precision, recall, supported claims flagged) of flagging unsupported claims."""
    precision, recall, flagged_supported, _ = flag_rates(flags, truth)
    return precision, recall, flagged_supported


def measure(embedder: Embedder) -> None:
    pairs = load_pairs(PAIRS)
    spanish = {}
    for line in SPANISH.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        spanish[row["id"]] = row["claim_es"]
    pairs = [p for p in pairs if p.id in spanish]
    truth = [not p.supported for p in pairs]
    checker = SupportChecker(embedder, DEFAULT_THRESHOLD)  # the one-language rule
    english = checker.score_many([(p.claim, p.passage) for p in pairs], "en")
    spanish_pairs = [(spanish[p.id], p.passage) for p in pairs]
    one_rule = rates(
        [not s.holds(DEFAULT_THRESHOLD) for s in checker.score_many(spanish_pairs, "es")], truth
    )
    # across languages: the dense cosine, and no capitalised word taken for a name
    across = SupportChecker(embedder, DEFAULT_THRESHOLD, DEFAULT_THRESHOLD).score_many(
        spanish_pairs, "es"
    )
    print(
        f"\n{embedder.name}: {len(pairs)} pairs ({sum(truth)} unsupported). Spanish claims "
        f"under the one-language rule at {DEFAULT_THRESHOLD}: precision {one_rule[0]:.3f}, "
        f"recall {one_rule[1]:.3f}, {one_rule[2]} of {len(pairs) - sum(truth)} supported "
        "claims flagged"
    )
    print("dense floor | English claims: precision recall flagged | Spanish claims: same")
    chosen = None
    for floor in THRESHOLDS:
        row = []
        for scores in (english, across):
            flags = [s.dense < floor or bool(s.missing) for s in scores]
            row.append(rates(flags, truth))
        (pe, re_, fe), (ps, rs, fs) = row
        print(f"{floor:.2f} | {pe:.3f} {re_:.3f} {fe:3d} | {ps:.3f} {rs:.3f} {fs:3d}")
        if ps >= MIN_PRECISION:
            chosen = floor  # thresholds ascend: the last precise one has the most recall
    print(f"chosen across-languages floor (precision >= {MIN_PRECISION}): {chosen}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedders", default="multilingual-e5-small")
    parser.add_argument("--translate", action="store_true", help="remake the Spanish claims")
    args = parser.parse_args()
    settings = Settings(
        data_dir=REPO / "benchmarks/out/support-across", models_path=REPO / "data/models"
    )
    if args.translate:
        translate(settings)
    for name in args.embedders.split(","):
        embedder = Embedder(settings, model=name)
        try:
            measure(embedder)
        finally:
            embedder.close()


if __name__ == "__main__":
    main()
