"""Names a question asks about that the documents never mention: refused as not found.

A question about Gitea over documents that never name it still finds passages close
enough to pass the relevance floor (about GitLab), and a small model then answers around
them: on the corpus set the 1.5B answered 7 of 21 unanswerable questions, 4 of them about
a product no document names (Gitea, Ansible, YubiKey, the GDPR). The words that carry such
a question are its names: a capitalised word after the first, an identifier (CamelCase,
digits, dots, underscores). A name none of the documents the asker may see contains is
something the documents cannot answer about.

Only identifiers count for questions not in English: a capitalised word is often a name
translated ("Proyecto Debian"), which an English manual never contains. A versioned
identifier also counts as mentioned by its name part ("GPLv3" by "GPL"). Whether a name is
mentioned is the caller's to tell: the retriever asks the collection's BM25 index.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag_core.answering.citation_check import names_in
from rag_core.i18n import SOURCE_LANGUAGE

_PRONOUN = re.compile(r"^I(['’]\w+)?$")  # "I", "I'm", "I've": capitalised, never a name
# units written with capitals, which documents often spell out ("1 KiB blocks" over a
# quota manual's "1 kilobyte")
_UNITS = frozenset(
    "KiB MiB GiB TiB KB MB GB TB PB Kb Mb Gb Hz KHz MHz GHz kHz Mbps Gbps Kbps".split()
)
_NAME_PART = re.compile(r"^([A-Za-z]{3,}?)(?:[-_ ]?v?\d[\w.]*)$")  # GPLv3, NFSv4, Python3


def question_names(question: str, language: str) -> list[str]:
    """The names a question asks about (identifiers only when it is not in English)."""
    names = names_in(question, language, capitalised=language == SOURCE_LANGUAGE)
    return sorted(n for n in names if not _PRONOUN.match(n) and n not in _UNITS)


def name_forms(name: str) -> list[str]:
    """How the documents may write a name: itself, and a versioned one's name part."""
    versioned = _NAME_PART.match(name)
    return [name, versioned.group(1)] if versioned else [name]


def unknown_names(question: str, language: str, mentioned: Callable[[str], bool]) -> list[str]:
    """The question's names that `mentioned` finds in no document, in any of their forms."""
    return [
        name
        for name in question_names(question, language)
        if not any(mentioned(form) for form in name_forms(name))
    ]
