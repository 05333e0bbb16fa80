"""Messages in the reader's language: one gettext catalog per language (Babel), shared by
the core's answer-path messages, the chat and the command lines.

The catalogs are `rag_core/locales/<lang>/LC_MESSAGES/ragdesk.po`, English being the source
language (its msgids). They are compiled by Babel in memory the first time a language is
asked for (a few milliseconds, once per process), so no compiled `.mo` file is committed
or can go stale. `scripts/i18n.sh` extracts new strings and updates the catalogs.

Code marks a string with `_()` where it is shown, or `N_()` where it is defined (a
constant) and translated later; `tests/rag_core/test_i18n.py` fails for any marked string
without a Spanish translation.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from io import BytesIO
from pathlib import Path

DOMAIN = "ragdesk"
LOCALES_DIR = Path(__file__).parent / "locales"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "es")  # every one has a catalog; the first is the fallback
# each language's name in itself, for the language switch
NATIVE_NAMES = {"en": "English", "es": "Español"}

Translate = Callable[[str], str]


def N_(message: str) -> str:
    """Marks a constant for extraction; it is translated where it is shown."""
    return message


def catalog_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language` (unknown: the source language's). Fuzzy and
    untranslated entries are left out, so they show in English rather than wrongly."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po
    from babel.support import Translations

    if language not in LANGUAGES:
        language = SOURCE_LANGUAGE
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def translator(language: str) -> Translate:
    """`_` for one language: `_ = translator("es"); _("Sign in")`."""
    return translations(language).gettext


def ntranslator(language: str) -> Callable[[str, str, int], str]:
    return translations(language).ngettext


def supported(language: str | None) -> str | None:
    """'es-ES', 'ES', 'es_MX' -> 'es'; None when ragdesk has no catalog for it."""
    if not language:
        return None
    base = re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0]
    return base if base in LANGUAGES else None


def accept_language(header: str | None) -> list[str]:
    """The languages of an Accept-Language header, most wanted first ("*" and q=0 left
    out): 'es-ES,es;q=0.9,en;q=0.8' -> ['es-ES', 'es', 'en']."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        match = re.search(r"q\s*=\s*([^\s;,]+)", params)
        if match:
            try:
                quality = float(match.group(1))
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(preferred: Iterable[str], default: str = SOURCE_LANGUAGE) -> str:
    """The first of the reader's languages that ragdesk speaks, else `default`."""
    for tag in preferred:
        found = supported(tag)
        if found:
            return found
    return default


def interface_language(setting: str, accept_language_header: str | None = None) -> str:
    """RAGDESK_LANGUAGE (auto | es | en) applied: auto follows the browser's
    Accept-Language, then English."""
    return supported(setting) or negotiate(accept_language(accept_language_header))
