"""What a victim's text reply asks for, in English or Spanish: a pure function, no I/O.

Carriers treat a lone keyword (STOP, ALTO, …) as an opt-out whatever its case or punctuation, so
we do too. Longer messages opt out only when they clearly ask us to stop contacting them ("stop
texting me", "no me envíen más"), not when they merely contain a keyword ("the bus stop", "when
will this end?"). Independently of that, a reply that suggests danger or new information is
flagged urgent for staff. `matched` names the rule that decided, never the message text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class ReplyKind(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"


@dataclass(frozen=True)
class ReplyClass:
    kind: ReplyKind
    urgent: bool
    language: str | None
    matched: str | None


KEYWORDS: dict[str, tuple[ReplyKind, str]] = {
    **{w: (ReplyKind.OPT_OUT, "en") for w in ("stop", "stopall", "unsubscribe", "cancel", "end", "quit",
                                              "revoke", "optout", "opt out", "stop all", "remove", "stop please",
                                              "please stop", "stop pls", "pls stop")},
    **{w: (ReplyKind.OPT_OUT, "es") for w in ("alto", "parar", "cancelar", "baja", "darse de baja",
                                              "dar de baja", "darme de baja")},
    **{w: (ReplyKind.OPT_IN, "en") for w in ("start", "unstop", "yes")},
    **{w: (ReplyKind.OPT_IN, "es") for w in ("si", "comenzar", "iniciar")},
    **{w: (ReplyKind.HELP, "en") for w in ("help", "info")},
    **{w: (ReplyKind.HELP, "es") for w in ("ayuda",)},
}  # fmt: skip

_CONTACT = r"(text(s|ing)?|messag(e|es|ing)|contact(ing)?|writ(e|ing)|call(ing)?|send(ing)?)"
OPT_OUT_PHRASES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (name, language, re.compile(pattern))
    for name, language, pattern in (
        ("stop_contact", "en", rf"\b(stop|quit|cease)\s+{_CONTACT}(\s+(me|this|us))?\b"),
        ("dont_contact", "en", rf"\b(do not|dont|don't|never)\s+{_CONTACT}\s+me\b"),
        ("remove_me", "en", r"\b(remove|delete|take)\s+(me|my (number|phone|name))\b"),
        ("no_more", "en", r"\bno more\s+(texts?|messages?|contact|msgs?)\b"),
        ("unsubscribe_me", "en", r"\b(unsubscribe|opt(\s|-)?out)\b"),
        ("leave_alone", "en", r"\bleave me alone\b"),
        ("not_interested", "en", r"\b(not interested|dont want (these|this|your) (texts?|messages?))\b"),
        ("no_envien", "es", r"\bno (me )?(envien|manden|escriban|contacten|llamen)\b"),
        ("dejen_de", "es", r"\bdejen? de (enviar|mandar|escribir|contactar)(me|nos)?\b"),
        ("ya_no", "es", r"\bya no (me )?(envien|manden|escriban|quiero (recibir|mensajes))\b"),
        ("no_quiero", "es", r"\bno quiero (recibir )?(mas )?(mensajes|textos)\b"),
        ("borrenme", "es", r"\b(borren(me)?|quiten(me)?|eliminen(me)?)\b"),
        ("darse_baja", "es", r"\b(dar(me|se)? de baja|darme de baja)\b"),
    )
)

SPANISH_RULES = frozenset(
    {"regreso", "amenaza", "no_segura", "miedo", "afuera", "siguiendo", "arma", "pego", "ayudenme", "emergencia",
     "mas_info"}
)  # fmt: skip
URGENT: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (name, "es" if name in SPANISH_RULES else "en", re.compile(pattern))
    for name, pattern in (
        ("came_back", r"\b(he|she|they)( has| have)? (came|come|is|s|are|re) back\b|\b(he|she|they)s back\b"),
        ("threat", r"\bthreat(en(ed|ing|s)?)?\b"),
        ("not_safe", r"\b(not|dont feel|don't feel) safe\b|\bunsafe\b"),
        ("scared", r"\b(i am|im|i'm) (scared|afraid|terrified)\b"),
        ("nearby", r"\b(he|she|they)( is|s|'s| are| re)? (outside|here|at my (house|door|work))\b"),
        ("weapon", r"\b(gun|knife|weapon)\b"),
        ("hurt_again", r"\b(hit|hurt|attacked|beat) me (again|today|tonight)\b"),
        ("following", r"\bfollow(ing|ed) me\b"),
        ("help_me", r"\b(help me|please help|need help)\b"),
        ("emergency", r"\b(911|emergency)\b"),
        ("break_in", r"\bbroke (in|into)\b"),
        ("saw_him", r"\b(i )?(saw|seen) (him|her|them|the (guy|man|person|suspect))\b"),
        ("contacted_me", r"\b(he|she|they) (called|texted|messaged|contacted) me\b"),
        ("new_info", r"\b(new|more) information\b|\bremembered something\b|\bi found\b"),
        ("regreso", r"\b(regreso|volvio|esta de vuelta)\b"),
        ("amenaza", r"\bamenaz(o|a|ando|ado)\b"),
        ("no_segura", r"\bno (estoy|me siento) (segura|seguro)\b"),
        ("miedo", r"\btengo miedo\b"),
        ("afuera", r"\besta (afuera|aqui|en mi casa)\b"),
        ("siguiendo", r"\bme (esta )?sigu(e|iendo)\b"),
        ("arma", r"\b(arma|pistola|cuchillo)\b"),
        ("pego", r"\bme (pego|golpeo)\b"),
        ("ayudenme", r"\bayud(enme|eme|a por favor)\b"),
        ("emergencia", r"\bemergencia\b"),
        ("mas_info", r"\b(mas|nueva) informacion\b|\blo vi\b|\bla vi\b"),
    )
)

SPANISH_WORDS = re.compile(
    r"\b(gracias|hola|quien|que|por favor|el|la|los|las|mi|su|usted|es|esta|numero|reporte|policia|"
    r"si|muchas|bueno|de|para|como|donde|cuando|tengo|quiero|mensaje|mensajes|otra|vez|anoche|hoy|"
    r"tiene|un|una|casa|ya|equivocado|entiendo)\b"
)
ENGLISH_WORDS = re.compile(
    r"\b(the|is|you|thank|thanks|who|what|my|this|please|number|report|police|i|it|ok|okay|when|he|she|"
    r"they|his|her|back|last|night|in|again|not|safe|here|now|has|have|call|a|an|got|im|hes|shes)\b"
)


def normalize(text: str) -> str:
    """NFKC, casefolded, accents stripped, apostrophes dropped, punctuation and emoji as spaces."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    plain = plain.replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^\w\s]|_", " ", plain).split())


def _language(normalized: str) -> str | None:
    spanish = len(SPANISH_WORDS.findall(normalized))
    english = len(ENGLISH_WORDS.findall(normalized))
    if spanish == english:
        return None
    return "es" if spanish > english else "en"


def _keyword(normalized: str) -> tuple[ReplyKind, str, str] | None:
    """A lone keyword, possibly repeated ("STOP STOP") — what carriers honour."""
    if normalized in KEYWORDS:
        kind, language = KEYWORDS[normalized]
        return kind, language, normalized
    words = normalized.split()
    if words and len(set(words)) == 1 and words[0] in KEYWORDS:
        kind, language = KEYWORDS[words[0]]
        return kind, language, words[0]
    return None


def classify_reply(text: str) -> ReplyClass:
    normalized = normalize(text or "")
    urgent_rule, urgent_language = next(
        ((name, language) for name, language, pattern in URGENT if pattern.search(normalized)), (None, None)
    )
    urgent = urgent_rule is not None
    keyword = _keyword(normalized)
    if keyword:
        kind, language, matched = keyword
        # A bare "HELP" is the HELP command; it is urgent only with more words around it.
        return ReplyClass(kind, urgent and kind is not ReplyKind.HELP, language, f"keyword:{matched}")
    for name, language, pattern in OPT_OUT_PHRASES:
        if pattern.search(normalized):
            return ReplyClass(ReplyKind.OPT_OUT, urgent, language, f"phrase:{name}")
    return ReplyClass(
        ReplyKind.OTHER,
        urgent,
        _language(normalized) or urgent_language,
        f"urgent:{urgent_rule}" if urgent_rule else None,
    )
