"""Per-language word lists of the citation check (words that carry no claim, number words,
and capitalised words that are not names), and the stem it compares words by.

Curated rather than taken from a stop-word package: the check asks whether a passage says
what an answer sentence claims, so a list must drop only grammar. The Spanish list of the
`stop-words` package, for one, drops "trabajo", "valor", "nuevo" and "cinco" — exactly the
words a claim is made of.
"""

from __future__ import annotations

import unicodedata

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        """a an the and or but nor of to in on at by for with from into onto over under about
        as is are was were be been being am do does did done have has had having it its this
        that these those there here their they them he she his her we our you your i me my
        not no can could will would shall should may might must also than then so such very
        more most any all each both some which what when where who whom whose how why if else
        while because only just own same other out up down off again further once one per via
        eg ie etc use used using uses""".split()
    ),
    "es": frozenset(
        """a al ante bajo con contra de del desde durante en entre hacia hasta mediante para
        por según sin so sobre tras el la lo los las un una unos unas y e o u ni pero sino que
        como cuando donde cuanto cual cuales quien quienes cuyo cuya cuyos cuyas qué cómo
        cuándo dónde cuánto cuál quién si sí no ya muy más menos también tampoco solo sólo
        aun aún así tan tanto este esta esto estos estas ese esa eso esos esas aquel aquella
        aquello aquellos aquellas yo tú usted ustedes él ella ello ellos ellas nosotros
        nosotras vosotros me te se nos os le les mi mis tu tus su sus nuestro nuestra
        nuestros nuestras es son era eran fue fueron ser sido siendo sea sean está están
        estaba estar estado ha han había haber habido hay he hemos puede pueden debe deben
        cada todo toda todos todas otro otra otros otras mismo misma mismos mismas algún
        alguna algunos algunas ningún ninguna cualquier uso usar usa usan""".split()
    ),
}

NUMBER_WORDS: dict[str, dict[str, str]] = {
    "en": {
        w: str(i)
        for i, w in enumerate(
            "zero one two three four five six seven eight nine ten eleven twelve".split()
        )
    }
    | {"twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "hundred": "100"},
    "es": {
        w: str(i)
        for i, w in enumerate(
            "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce".split()
        )
    }
    | {"una": "1", "un": "1", "veinte": "20", "treinta": "30", "cuarenta": "40"}
    | {"cincuenta": "50", "cien": "100", "ciento": "100"},
}

# capitalised words (a sentence's opening one aside) that are not names of anything
NOT_NAMES: dict[str, frozenset[str]] = {
    "en": frozenset(
        "The A An In On At If It Its This That These Those There For To Of And Or But With By "
        "As When Where What Which Who How Why Yes No Note Also However See You Your We Our I "
        "Each Every All Any Some Both Then Thus Use Using".split()
    ),
    "es": frozenset(
        "El La Los Las Un Una Unos Unas En Con Por Para De Del Al A Y O Pero Si Sí No Nota "
        "Este Esta Estos Estas Ese Esa Eso Esto Cuando Donde Como Qué Cómo Cuándo Dónde Cuál "
        "Quién Según Sin Sobre También Además Cada Todo Todos Toda Todas Usted Ustedes Se Su "
        "Sus Hay Es Son Así Entonces Luego Ver Véase".split()
    ),
}


def stop_words(language: str) -> frozenset[str]:
    return STOP_WORDS.get(language, STOP_WORDS["en"])


def number_words(language: str) -> dict[str, str]:
    return NUMBER_WORDS.get(language, NUMBER_WORDS["en"])


def not_names(language: str) -> frozenset[str]:
    return NOT_NAMES.get(language, NOT_NAMES["en"])


ALL_NUMBER_WORDS: dict[str, str] = {
    word: value for table in NUMBER_WORDS.values() for word, value in table.items()
}


def _unaccented(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def stem(word: str) -> str:
    """Five letters: reimbursed ~ reimbursement, política ~ politicas; a short word's
    plural -s off, which five letters keep apart (flags ~ flag, keys ~ key, datos ~ dato)."""
    word = _unaccented(word.lower().strip("'’.-"))
    if len(word) > 5:
        return word[:5]
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
