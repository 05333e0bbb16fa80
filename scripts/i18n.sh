#!/usr/bin/env bash
# Message catalogs (Babel): extract every string marked _() / N_() / ngettext() from app/,
# rag_core/ and ingest/ into rag_core/locales/ragdesk.pot, then merge it into each
# language's ragdesk.po. New strings arrive empty and changed ones marked fuzzy: translate
# them (and drop the fuzzy flag), then run tests/rag_core/test_i18n.py. Nothing is
# compiled here: rag_core/i18n.py compiles a catalog in memory when it is first used.
set -euo pipefail
cd "$(dirname "$0")/.."
pybabel="${PYBABEL:-.venv/bin/pybabel}"
locales="rag_core/locales"
"$pybabel" extract -F pyproject.toml -k N_ --sort-by-file --add-location=file \
  --project ragdesk --copyright-holder "ragdesk" --no-wrap \
  -o "$locales/ragdesk.pot" app rag_core ingest
for language in es en; do
  if [ -f "$locales/$language/LC_MESSAGES/ragdesk.po" ]; then
    # English is the source: its catalog stays empty (no guessed "fuzzy" look-alikes)
    fuzzy=""
    [ "$language" = en ] && fuzzy="--no-fuzzy-matching"
    "$pybabel" update -i "$locales/ragdesk.pot" -d "$locales" -D ragdesk -l "$language" \
      --no-wrap --ignore-obsolete $fuzzy
  else
    "$pybabel" init -i "$locales/ragdesk.pot" -d "$locales" -D ragdesk -l "$language" --no-wrap
  fi
done
