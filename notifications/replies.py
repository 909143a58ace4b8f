"""What a victim's text reply asks of us, in English or Spanish: a pure function, no I/O.

Carriers treat a lone keyword (STOP, ALTO, …) as an opt-out whatever its case or punctuation, so we
do too, with "please"/"por favor" around it. A longer message opts out only when it clearly asks us
to stop contacting the sender ("please stop texting me", "no me envíen más"), not when it merely
contains a keyword ("the bus stop", "when will this end?") or is about someone else ("he won't stop
texting me", "él no deja de llamarme" are urgent, not opt-outs).

Independently of the kind, a reply that suggests danger or new information is `urgent`, for staff
to see first. The rules lean towards flagging (a wasted look costs less than a missed threat) but
skip common benign idioms ("help me understand", "I'm afraid I missed", "no estoy seguro de…").

The text is PII: this module never logs it, and `ReplyClass.matched` holds only names from
`RULE_NAMES` (ours, never copied from the message).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from notifications.catalog import STOP_KEYWORDS


class ReplyKind(StrEnum):
    """What the reply asks for; values are stable (stored with the reply)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ReplyClass:
    """The verdict on one reply.

    `language` is "en", "es" or None when the reply does not tell (a bare "STOP", "ok", an emoji):
    the caller then answers in the victim's language on file. `matched` names the rules that
    decided (kind first, then urgency, joined by "+"), for staff; never the message text.
    """

    kind: ReplyKind
    urgent: bool
    language: str | None
    matched: str | None


# --- Normalizing ------------------------------------------------------------------------------

# Apostrophes are dropped, not spaced, so "don't" and "dont" (and "he's"/"hes") read the same.
_APOSTROPHES: Final = str.maketrans("", "", "'’‘ʼ`´＇")
_CLAUSE_BREAK: Final = re.compile(r"[.!?;:,¿¡\n\r\u2028\u2029。]+")
_WORD: Final = re.compile(r"[^\W_]+")
_SPANISH_MARKS: Final = frozenset("ñ¿¡áéíóúü")


def _fold(text: str) -> str:
    """NFKC, casefolded, accents and other combining marks and format characters removed.

    Stripping accents makes "envíen"/"envien" and "bórrenme"/"borrenme" one word, as victims type
    both; it also merges a few Spanish pairs ("regresó"/"regreso"), which the rules allow for.
    """
    text = unicodedata.normalize("NFKC", text.translate(_APOSTROPHES)).translate(_APOSTROPHES).casefold()
    kept = (c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c)[0] != "M")
    return unicodedata.normalize("NFC", "".join(c for c in kept if unicodedata.category(c) != "Cf"))


@dataclass(frozen=True, slots=True)
class _Text:
    """A reply as the rules see it: words only (no punctuation, emoji or case), by clause and whole."""

    words: tuple[str, ...]
    clauses: tuple[tuple[str, ...], ...]
    flat: str
    spanish_marks: int


def _prepare(text: str) -> _Text:
    """Split once; every rule then works on plain lowercase words joined by single spaces.

    Clauses (split at . , ! ? ; : ¿ ¡ and line breaks) keep "Thanks for helping her, please stop
    texting me" from reading "her … stop texting me" as being about someone else.
    """
    marks = min(2, sum(1 for c in text.casefold() if c in _SPANISH_MARKS))
    clauses = tuple(
        words for part in _CLAUSE_BREAK.split(_fold(text)) if (words := tuple(_WORD.findall(part)))
    )
    words = tuple(word for clause in clauses for word in clause)
    return _Text(words, clauses, " ".join(words), marks)


# --- Whole-message commands (what carriers honour) --------------------------------------------

_Commands = Mapping[tuple[str, ...], tuple[str, str | None]]


def _word_set(*lines: str) -> frozenset[str]:
    """Space-separated words, so long word lists stay readable."""
    return frozenset(" ".join(lines).split())


def _commands(by_language: Mapping[str, Iterable[str]]) -> dict[tuple[str, ...], tuple[str, str | None]]:
    """Words of each command → (rule name, language); a word in both languages says neither."""
    languages: dict[tuple[str, ...], set[str]] = {}
    for language, commands in by_language.items():
        for command in commands:
            languages.setdefault(tuple(_WORD.findall(_fold(command))), set()).add(language)
    return {
        words: ("keyword:" + "_".join(words), next(iter(found)) if len(found) == 1 else None)
        for words, found in languages.items()
    }


# Every keyword our SMS tells the reader to send (catalog.STOP_KEYWORDS), plus common variants.
_STOP_COMMANDS: Final = _commands(
    {
        "en": [
            *STOP_KEYWORDS["en"], "opt out", "stop all", "stop it", "stop this", "stopp", "stp", "no more",
            "not interested", "cease and desist",
        ],
        "es": [
            *STOP_KEYWORDS["es"], "dar de baja", "darse de baja", "darme de baja", "dame de baja", "paren",
            "basta", "no mas", "detener", "no me interesa",
        ],
    }
)  # fmt: skip
# Keywords that opt out even as one clause of a longer message ("Who is this? STOP"). The others
# ("end", "quit", "cancel", "alto" = tall, "baja" = low) are ordinary words too, so only alone.
_STRONG: Final = {
    ("stop",),
    ("stopall",),
    ("unsubscribe",),
    ("optout",),
    ("opt", "out"),
    ("stop", "all"),
    ("parar",),
}
_STRONG_STOP: Final = {
    words: rule for words, rule in _STOP_COMMANDS.items() if words in _STRONG or words[-2:] == ("de", "baja")
}
_OPT_IN_COMMANDS: Final = _commands({"en": ["start", "unstop", "yes"], "es": ["sí", "comenzar", "iniciar"]})
_HELP_COMMANDS: Final = _commands({"en": ["help", "info"], "es": ["ayuda", "info"]})
# Courtesy around a stop keyword ("Stop pls", "ALTO POR FAVOR", "No. Stop.") does not change it.
_STOP_FILLERS: Final = _word_set(
    "please pls plz plez pleas pleaseee thanks thank you thx ty now asap already sir maam ok okay yes no all "
    "right immediately por favor porfa porfavor xfa gracias ya ahora si mismo senor senora todo todos",
)
_MAX_COMMAND_WORDS: Final = 3


def _command(
    words: tuple[str, ...], commands: _Commands, fillers: frozenset[str]
) -> tuple[str, str | None] | None:
    """The command when `words` hold only commands (repeats allowed) and fillers, at least one command."""
    found: tuple[str, str | None] | None = None
    at = 0
    while at < len(words):
        for size in range(_MAX_COMMAND_WORDS, 0, -1):
            if (rule := commands.get(words[at : at + size])) is not None:
                found = found or rule
                at += size
                break
        else:
            if words[at] not in fillers:
                return None
            at += 1
    return found


# --- Rules on the words -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rules:
    """Named regexes compiled into one alternation; a match tells which rule fired and its language."""

    pattern: re.Pattern[str]
    names: Mapping[str, tuple[str, str | None]]

    @classmethod
    def of(cls, prefix: str, rules: Iterable[tuple[str, str | None, str]]) -> _Rules:
        names: dict[str, tuple[str, str | None]] = {}
        parts: list[str] = []
        for index, (name, language, regex) in enumerate(rules):
            names[f"r{index}"] = (f"{prefix}:{name}", language)
            parts.append(f"(?P<r{index}>{regex})")
        # Every rule starts at a word boundary; saying so up front skips the other positions fast.
        return cls(re.compile(r"\b(?:" + "|".join(parts) + ")"), names)

    def first(self, text: str) -> tuple[str, str | None] | None:
        """The first rule (leftmost match) that fires anywhere in `text`."""
        match = self.pattern.search(text)
        return self.names[match.lastgroup] if match and match.lastgroup else None


_CONTACT_VERBS = (
    r"(?:texting|txting|texing|textin|messaging|msging|messageing|contacting|emailing|calling|bothering|"
    r"notifying|writing)"
)
_MESSAGES = r"(?:messages|message|msgs|msg|texts|text|txts|txt|notifications|updates|alerts|emails|sms)"
_LISTS = r"(?:list|lists|system|database|texts|messages|contacts|notifications|alerts|registry)"
_ES_MESSAGES = r"(?:mensajes|mensaje|textos|texto|notificaciones|correos|llamadas|avisos|sms|alertas)"
_ES_LISTS = r"(?:lista|listas|base|sistema|registro|mensajes|notificaciones|contactos)"
_ES_YOU_SEND = (
    r"(?:envien|envie|envies|manden|mande|mandes|escriban|escriba|escribas|contacten|contacte|contactes|"
    r"llamen|llame|llames|molesten|moleste|molestes|texteen|textee|textees)"
)

# Plain-language opt-outs, looked for in each clause. A match preceded (within three words of its
# clause) by someone else or a negation is about that someone: see _ABOUT_SOMEONE_ELSE.
_OPT_OUT_RULES: Final = _Rules.of(
    "optout",
    [
        (
            "stop_contact",
            "en",
            rf"\b(?:stop|stp|quit|cease) {_CONTACT_VERBS}(?= (?:me|us|this|my|here|now|please|pls|plz|again|"
            r"and|or)\b|$)",
        ),
        ("stop_contact", "en", r"\b(?:stop|stp|quit|cease) (?:sending|send) (?:me|us)\b"),
        (
            "stop_messages",
            "en",
            r"\b(?:stop|quit|end|cancel) (?:receiving |getting |sending )?(?:me |us )?(?:the |these |this |"
            rf"those |all |your |ur |any |text |sms )*{_MESSAGES}\b",
        ),
        (
            "stop_messages",
            "en",
            rf"\b(?:these|the|your|ur|this|all these) {_MESSAGES} (?:need to|needs to|have to|has to|must|"
            r"should|gotta|got to) stop\b",
        ),
        ("remove_me", "en", r"\b(?:remove|delete|erase|drop|unenroll|unregister) (?:me|us)\b"),
        (
            "remove_me",
            "en",
            r"\b(?:remove|delete|erase|take) my (?:phone number|number|phone|name|info|information|email|"
            rf"contact info|contact)(?= (?:from|off) (?:the |this |your |ur |these |all |my )?{_LISTS}\b|$)",
        ),
        ("take_me_off", "en", r"\btake (?:me|us|my (?:number|phone number|phone|name|email)) off\b"),
        ("no_more_messages", "en", rf"\bno more {_MESSAGES}\b|\bno more (?:texting|contact)\b"),
        (
            "do_not_contact",
            "en",
            r"\b(?:dont|do not|don t|never|stop trying to) (?:text|txt|message|msg|contact|call|email|notify|"
            r"bother|write|reach out to|reach) (?:me|us|this number)\b",
        ),
        (
            "do_not_want",
            "en",
            r"\b(?:dont|do not|no longer) (?:want|wish|need|like) (?:to (?:get|receive|be getting) )?(?:any |"
            r"these |this |those |your |the |more |any more |anymore |text |"
            rf"sms )*{_MESSAGES}\b(?! from (?:him|her|them|he|she|my)\b)",
        ),
        (
            "do_not_want",
            "en",
            r"\b(?:dont|do not|no longer) (?:want|wish) to be (?:contacted|texted|messaged|notified|"
            r"bothered)\b",
        ),
        ("leave_me_alone", "en", r"\b(?:leave|let) (?:me|us) alone\b"),
        (
            "unsubscribe",
            "en",
            r"\b(?:unsubscribe|unsubscribed|unsub|unsubcribe|unsubscibe|unsuscribe|unsubscrib|opt out|optout|"
            r"opt me out)\b",
        ),
        (
            "unsubscribe",
            "en",
            r"\bcancel (?:my |the |these |this )?(?:subscription|messages|texts|notifications|alerts|"
            r"updates)\b",
        ),
        ("no_me_envien", "es", rf"\bno (?:me |nos )(?:vuelvan a |vuelva a |sigan |siga )?{_ES_YOU_SEND}\b"),
        (
            "dejen_de",
            "es",
            r"(?<!\bno )\b(?:dejen|deje|deja|paren|pare|para) de (?:enviar|mandar|escribir|contactar|llamar|"
            r"molestar|textear)(?:me|nos)?\b",
        ),
        ("darme_de_baja", "es", r"\b(?:dar|darme|darse|darnos|dame|denme|deme|den) de baja\b"),
        (
            "borrenme",
            "es",
            r"\b(?:borren|borre|borra|quiten|quite|quita|eliminen|elimine|elimina|saquen|saque|saca)(?:me|"
            rf"nos)\b(?= (?:de|del) (?:la |su |sus |esta |este |las |los |el )?{_ES_LISTS}\b|$)",
        ),
        (
            "borrenme",
            "es",
            r"\b(?:borrar|quitar|eliminar|borren|quiten|eliminen|saquen) (?:mi|mis) "
            r"(?:numero|telefono|nombre|datos|correo)"
            rf"(?= (?:de|del) (?:la |su |sus |esta |este |las |los |el )?{_ES_LISTS}\b|$)",
        ),
        (
            "no_quiero_mensajes",
            "es",
            r"\bno (?:quiero|deseo|necesito) (?:recibir )?(?:mas |ningun |ninguno |ninguna |ningunos |estos |"
            rf"sus |los |otro |otros )*{_ES_MESSAGES}\b",
        ),
        (
            "no_quiero_mensajes",
            "es",
            rf"\bno (?:quiero|deseo) que me (?:sigan |vuelvan a )?(?:{_ES_YOU_SEND}|enviando|mandando|"
            r"escribiendo)\b",
        ),
        ("no_quiero_mensajes", "es", r"\bno (?:quiero|deseo) ser contactad[ao]s?\b"),
        (
            "no_quiero_mensajes",
            "es",
            rf"\b(?:dejar|dejo|deje|dejen) de recibir (?:estos |los |sus |mas |sus )?{_ES_MESSAGES}\b",
        ),
        (
            "no_mas_mensajes",
            "es",
            rf"\b(?:no|nada|basta de) mas {_ES_MESSAGES}\b|\bbasta de {_ES_MESSAGES}\b",
        ),
        (
            "cancelar_suscripcion",
            "es",
            r"\b(?:cancelar|cancelen|cancele|cancela) (?:la |mi |esta |estas |los |las |el |su |"
            r"sus )?(?:suscripcion|mensajes|notificaciones|alertas|avisos)\b",
        ),
        ("dejenme_en_paz", "es", r"\b(?:dejenme|dejeme|dejame|dejennos) (?:en paz|tranquil[ao]s?)\b"),
    ],
)
# Someone else or a negation just before a request to stop: "he won't stop texting me", "make him
# stop calling me", "I told her don't text me", "please don't stop texting me".
_ABOUT_SOMEONE_ELSE: Final = _word_set(
    "he she they him her them hes shes theyre his wont doesnt didnt cant cannot never not dont ex boyfriend "
    "girlfriend husband wife el ella ellos ellas le les dijo dije",
)
_CONTEXT_WORDS: Final = 3


def _opt_out_phrase(clauses: tuple[tuple[str, ...], ...]) -> tuple[str, str | None] | None:
    """The first plain-language opt-out that the sender asks for themselves."""
    for clause in clauses:
        text = " ".join(clause)
        for match in _OPT_OUT_RULES.pattern.finditer(text):
            before = text[: match.start()].split()[-_CONTEXT_WORDS:]
            if match.lastgroup and _ABOUT_SOMEONE_ELSE.isdisjoint(before):
                return _OPT_OUT_RULES.names[match.lastgroup]
    return None


_THEY = r"(?:he|she|they|hes|shes|theyre)"
_BENIGN_HELP = (
    r"(?:understand|understanding|with|get|getting|find|figure|out|know|access|read|open|fill|file|reset|"
    r"track|locate|request|obtain|see|check|by|on)"
)
_WEAPONS = r"(?:gun|guns|knife|weapon|pistol|firearm|rifle|shotgun|machete)"

# Danger or new information, looked for in the whole reply (words only).
_URGENT_RULES: Final = _Rules.of(
    "urgent",
    [
        (
            "came_back",
            "en",
            rf"\b{_THEY}(?: (?:is|s|are|re|was|were|has|have|had|just|already|finally|keeps|kept|"
            r"again))* (?:came |come |comes |coming |been )?back\b(?! (?:in|to) (?:jail|prison|custody)\b)",
        ),
        (
            "came_back",
            "en",
            rf"\b{_THEY}(?: (?:just|again|has|have|keeps|kept))* (?:showed|shows|showing) up\b",
        ),
        ("threatened", "en", r"\bthreat(?:s|en|ens|ened|ening)?\b"),
        (
            "not_safe",
            "en",
            r"\b(?:not|dont feel|do not feel) (?:feel(?:ing)? )?safe\b|\bunsafe\b|\bin danger\b",
        ),
        (
            "scared",
            "en",
            r"\b(?:im|i am|i m|i feel|feeling|i was|we are|were|so|really|very)(?: (?:so|really|very|still|"
            r"too|kinda|super|just|getting|always))* (?:scared|afraid|terrified|frightened)\b(?! (?:i|that|"
            r"not|we|it|so|you|this|there)\b)",
        ),
        (
            "scared",
            "en",
            r"\b(?:scared|afraid|fear(?:ing)?) (?:for|of) (?:my|our) (?:life|lives|safety|kids|children|"
            r"family)\b|\bterrified\b",
        ),
        (
            "nearby",
            "en",
            r"\b(?:he|she|they|hes|shes|theyre|someone|somebody)(?: (?:is|s|are|re|was|just|still|right|"
            r"standing|waiting|parked|sitting|hiding|again))* (?:outside|here|at my (?:house|home|door|work|"
            r"job|place|apartment|window|school)|in my (?:house|home|yard|driveway|apartment|building)|"
            r"at the door|watching (?:me|us|my house|the house))\b",
        ),
        (
            "weapon",
            "en",
            r"\b(?:has|had|have|got|with|pulled|pulling|showed|showing|carrying|carries|brought|holding|"
            rf"waving|pointed|pointing) (?:out )?(?:a |an |his |her |the |my |their )?{_WEAPONS}\b",
        ),
        (
            "hurt_again",
            "en",
            r"\b(?:hit|hurt|beat|beaten|attacked|assaulted|punched|pushed|choked|strangled|grabbed|raped|"
            r"stabbed|shot|kicked|slapped|abused)(?: (?:me|us|my \w+|him|her))? (?:again|today|tonight|"
            r"just now|last night)\b",
        ),
        (
            "hurt_again",
            "en",
            r"\bjust (?:hit|hurt|beat|attacked|assaulted|punched|choked|grabbed|stabbed|shot|kicked|"
            r"slapped) (?:me|us)\b",
        ),
        (
            "threat_to_life",
            "en",
            r"\b(?:kill|killing|shoot|stab|murder) (?:me|us|my (?:kids|children|family|son|daughter|mom|wife|"
            r"husband))\b|\b(?:going to|gonna|will|ll|wants to|threatened to|would) (?:hurt|kill|shoot|stab|"
            r"beat) (?:me|us)\b",
        ),
        (
            "following",
            "en",
            r"\b(?:following|followed|follows|stalking|stalked|stalks|watching|chasing|chased) (?:me|us|"
            r"my (?:car|kids|children|house))\b",
        ),
        (
            "help_me",
            "en",
            rf"\bhelp (?:me|us)\b(?! {_BENIGN_HELP}\b)|\b(?:please|pls|plz|somebody|someone|need|"
            rf"send) help\b(?! (?:me |us )?{_BENIGN_HELP}\b)",
        ),
        (
            "help_me",
            "en",
            r"\bhelp (?:please|pls|plz|asap|now|immediately|quick|quickly)\b|\b(?:sos|mayday)\b",
        ),
        ("emergency", None, r"\b911\b"),
        ("emergency", "en", r"(?<!\bnon )\bemergency\b"),
        (
            "broke_in",
            "en",
            r"\b(?:he|she|they|hes|shes|theyre|someone|somebody)(?: (?:just|has|have|had|is|are|was|again|"
            r"tried to|trying to))* (?:broke|break|breaking|broken) (?:in|into)\b|"
            r"\bbroke in(?:to \w+(?: \w+)?)? again\b",
        ),
        (
            "saw_them",
            "en",
            r"\b(?:i|we|ive|weve)(?: (?:just|have|had|also|think|thought|i|swear|might|may|could|"
            r"probably))* (?:saw|seen|see|spotted|spot) (?:him|her|the (?:guy|man|woman|person|suspect|guys|"
            r"men|car|truck|van|offender|attacker|thief|robber))\b",
        ),
        (
            "contacted_me",
            "en",
            rf"\b(?:{_THEY}|my ex|the (?:suspect|offender|guy|man))"
            r"(?: (?:just|has|have|had|keeps|kept|is|was|still|again|wont stop|will not stop|doesnt stop|"
            r"keeps on|started|been|now))* (?:called|calling|calls|texted|texting|texts|messaged|messaging|"
            r"emailed|emailing|contacted|contacting|wrote|writing|posted|came to|comes to|coming to|came by|"
            r"comes by|coming by) (?:me|us|my)\b",
        ),
        (
            "contacted_me",
            "en",
            r"\b(?:him|her|them) (?:to )?stop (?:calling|texting|contacting|messaging|bothering|"
            r"following) (?:me|us)\b",
        ),
        (
            "monitored",
            "en",
            r"\b(?:he|she|they)(?: (?:always|might|will|could|can|would|sometimes|still|also))* "
            r"(?:reads|read|checks|check|looks at|look at|goes through|go through|monitors|tracks|sees|see|"
            r"took|takes|has) my (?:phone|messages|texts|cell)\b",
        ),
        ("scared", "en", r"^(?:so |very |really )?(?:scared|afraid|frightened)$"),
        (
            "released",
            "en",
            rf"\b{_THEY}(?: (?:is|s|are|re|was|were|has|have|been|got|just|already|being))* (?:released|"
            r"out of (?:jail|prison|custody)|let out|bailed out|out on bail|made bail|escaped)\b",
        ),
        ("new_info", "en", r"(?<!\bany )(?<!\bthere )\bnew (?:information|info|evidence|details?|leads?)\b"),
        (
            "new_info",
            "en",
            r"\b(?:i|we|ive|weve)(?: (?:have|got|just|also|now|might|may|do|found))* (?:more|new|some|"
            r"additional|other|important|extra|useful) (?:information|info|details|evidence|pictures|photos|"
            r"videos?)\b",
        ),
        (
            "new_info",
            "en",
            r"\b(?:i|we) (?:just |also |finally )?(?:remembered|recalled|remember something|remember more)\b|"
            r"\b(?:i|we) (?:just |also |finally )?found\b",
        ),
        ("leave_me_alone", "en", r"\b(?:leave|let) (?:me|us) alone\b"),
        (
            "came_back",
            "es",
            r"(?<!\byo )(?<!\bmi )(?<!\bsu )(?<!\bal )(?<!\bcuando )\b(?:volvio|volvieron|regreso|regresaron|"
            r"ha vuelto|han vuelto|ha regresado|esta de vuelta|anda de vuelta|vino otra vez|"
            r"vino de nuevo)\b(?! manana\b)",
        ),
        ("threatened", "es", r"\bamenaz(?:o|aron|a|an|ando|ado|as)\b"),
        (
            "not_safe",
            "es",
            r"\bno (?:me siento|nos sentimos|estoy|estamos) (?:a salvo|segur[ao]s?)\b(?! (?:de|si|que|cuando|"
            r"como|donde|quien|cual|por|con|del|sobre)\b)|\bme siento (?:insegur[ao]|en peligro)\b|"
            r"\ben peligro\b",
        ),
        (
            "scared",
            "es",
            r"(?<!\bno )\b(?:tengo|tenemos|tiene|siento|me da|nos da) (?:mucho |muchisimo |tanto )?miedo\b|"
            r"\b(?:estoy|estamos) (?:muy |bien |tan )?(?:asustad[ao]s?|aterrad[ao]s?|aterrorizad[ao]s?)\b",
        ),
        (
            "nearby",
            "es",
            r"\b(?:esta|estan|anda|andan|sigue|siguen)(?: (?:aqui|alli|ahi|ya|otra vez))? (?:afuera|"
            r"fuera de (?:mi|la|nuestra) (?:casa|puerta|trabajo|escuela)|en (?:mi|nuestra) (?:casa|puerta|"
            r"trabajo|ventana|cuadra|calle)|en la puerta|frente a (?:mi|la) casa|enfrente)\b|\b(?:el|ella|"
            r"ellos|ya) (?:esta|estan) aqui\b",
        ),
        (
            "weapon",
            "es",
            r"\b(?:tiene|tenia|trae|traia|saco|lleva|llevaba|con) (?:un |una )?(?:arma|pistola|cuchillo|"
            r"navaja|rifle|escopeta|machete)\b",
        ),
        (
            "hurt_again",
            "es",
            r"\bme (?:pego|golpeo|pegaron|golpearon|ataco|atacaron|lastimo|lastimaron|hirio|agredio|"
            r"empujo)(?: \w+)? (?:otra vez|de nuevo|nuevamente|hoy|anoche)\b|\botra vez me (?:pego|golpeo|"
            r"ataco|lastimo|agredio)\b",
        ),
        (
            "threat_to_life",
            "es",
            r"\b(?:matarme|matarnos)\b|\bme (?:va|van|iba|iban|quiere|quieren) a matar\b|\bme (?:quiere|"
            r"quieren) matar\b",
        ),
        (
            "following",
            "es",
            r"\bme (?:esta|estan|anda|andan|ha estado|han estado|sigue|siguen) (?:siguiendo|persiguiendo|"
            r"vigilando|acosando|buscando|llamando|escribiendo|molestando)\b|\bme (?:siguio|siguieron|"
            r"persiguio|persiguieron)\b",
        ),
        (
            "help_me",
            "es",
            r"\b(?:sacame|saquenme|sacanme) de aqui\b|\b(?:ayudenme|ayudame|ayudeme|ayudennos|auxilio|"
            r"socorro)\b(?! (?:a|con|para)\b)|\b(?:por favor|porfavor|porfa|necesito) ayuda\b(?! (?:con|"
            r"para)\b)|\bayuda (?:por favor|porfavor|porfa|urgente|ya)\b",
        ),
        ("emergency", "es", r"\bemergencia\b"),
        (
            "new_info",
            "es",
            r"\b(?:tengo|tenemos|traigo) (?:mas|nueva|otra|nuevas|otras|alguna) "
            r"(?:informacion|info|evidencia|datos|pruebas|fotos|videos?)\b"
            r"|\b(?:informacion|evidencia|pruebas) nuevas?\b",
        ),
        (
            "new_info",
            "es",
            r"\bme (?:acorde|acuerdo) de (?:algo|otra|mas)\b|\brecorde (?:algo|que|otra)\b|\bencontre\b",
        ),
        (
            "saw_them",
            "es",
            r"(?<!\bya )(?<!\bno )\b(?:lo|la|los) (?:vi|volvi a ver|acabo de ver|he visto|"
            r"vimos)\b(?! en (?:el|la|su|mi) (?:correo|mensaje|email|pagina|portal|reporte|sitio|enlace|link|"
            r"informe|web)\b)",
        ),
        (
            "contacted_me",
            "es",
            r"\bno (?:me )?(?:deja|dejan) de (?:llamar|escribir|buscar|molestar|mandar mensajes|seguir)(?:me|"
            r"nos)?\b|\bme (?:escribio|escribieron|texteo|busco|buscaron|ha llamado|han llamado|ha escrito|"
            r"ha buscado|estuvo llamando)\b",
        ),
        (
            "contacted_me",
            "es",
            r"\bme (?:llamo|llamaron|escribio|escribieron|busco|buscaron) (?:otra vez|de nuevo|nuevamente)\b",
        ),
        (
            "monitored",
            "es",
            r"\b(?:revisa|revisan|lee|leen|checa|checan|mira|ve|tiene|agarra|esculca) (?:mi|mis) (?:telefono|"
            r"celular|cel|mensajes)\b",
        ),
        (
            "released",
            "es",
            r"\bsalio (?:de la carcel|de prision|libre|bajo fianza)\b|\b(?:lo|la|los) (?:soltaron|liberaron|"
            r"dejaron salir)\b|\besta libre\b|\bse escapo\b",
        ),
        (
            "leave_me_alone",
            "es",
            r"\b(?:dejenme|dejeme|dejame|dejennos) en paz\b|\bno me (?:deja|dejan) en paz\b",
        ),
    ],
)

# The rule names `matched` can hold (joined by "+"), so callers and tests can check it quotes nothing.
RULE_NAMES: Final = frozenset(
    [rule for commands in (_STOP_COMMANDS, _OPT_IN_COMMANDS, _HELP_COMMANDS) for rule, _ in commands.values()]
    + [rule for rule, _ in _OPT_OUT_RULES.names.values()]
    + [rule for rule, _ in _URGENT_RULES.names.values()]
)
# Every whole-message opt-out keyword, as words separated by one space ("stop", "darse de baja").
OPT_OUT_KEYWORDS: Final = frozenset(" ".join(words) for words in _STOP_COMMANDS)


# --- Language ---------------------------------------------------------------------------------

# Common words of one language and not the other ("me", "no", "a", "ok", "info" say nothing).
_SPANISH: Final = _word_set(
    "de la que el en los se del las por un para con una su al es lo como mas pero sus le les ya este esta "
    "porque cuando muy sin sobre tambien hasta hay donde quien quienes desde todo nos ni eso esto mi mis yo "
    "te tu otro otra ella ellos algo nada estoy tengo usted ustedes numero mensaje mensajes favor buenos "
    "buenas dias tardes noches hola gracias muchas muchos soy fue puedo puede pueden quiero necesito sabe "
    "saber bien vale claro caso informe reporte copia senor senora si aqui ahora cual cuanto tiempo "
    "entiendo policia oficial equivocado bueno perdon oiga disculpe hablo cosas",
)
_ENGLISH: Final = _word_set(
    "the is are was were i im you your he she it they we my this that what who whos when where how why to "
    "of in on for with and but not do dont can will please pls thanks thank thx hi hello hey yes yeah get "
    "got have has about from just number wrong copy report case officer know need want did does would "
    "could should there be been an at or if so sure call called stolen car sorry good great appreciate "
    "received lol isnt happens next",
)


def _language(text: _Text, hint: str | None) -> str | None:
    """Which language the words lean to; the deciding rule's language counts as one more word.

    Crude on purpose: it only picks the language of an automatic answer or of the staff queue,
    and falls back to None (the victim's language on file) rather than guess.
    """
    spanish = text.spanish_marks + sum(word in _SPANISH for word in text.words) + (hint == "es")
    english = sum(word in _ENGLISH for word in text.words) + (hint == "en")
    if spanish == english:
        return hint if spanish else None
    return "es" if spanish > english else "en"


# --- The classifier ---------------------------------------------------------------------------


def _kind(text: _Text) -> tuple[ReplyKind, str, str | None] | None:
    """The command or opt-out request in the reply, in order of precedence; None for OTHER."""
    if rule := _command(text.words, _STOP_COMMANDS, _STOP_FILLERS):
        return ReplyKind.OPT_OUT, *rule
    if rule := _command(text.words, _OPT_IN_COMMANDS, frozenset()):
        return ReplyKind.OPT_IN, *rule
    if rule := _command(text.words, _HELP_COMMANDS, frozenset()):
        return ReplyKind.HELP, *rule
    if rule := _opt_out_phrase(text.clauses):
        return ReplyKind.OPT_OUT, *rule
    for clause in text.clauses:
        if rule := _command(clause, _STRONG_STOP, _STOP_FILLERS):
            return ReplyKind.OPT_OUT, *rule
    return None


def classify_reply(text: str) -> ReplyClass:
    """Classify one inbound SMS: what it asks for, whether staff should see it first, its language.

    Never raises on any string. A bare HELP/AYUDA is the HELP command and not urgent; "help me",
    "please help" are urgent. An opt-out can be urgent too ("Leave me alone", "stop texting me,
    he's outside"): the opt-out is honoured and staff still see it.
    """
    prepared = _prepare(text)
    kind = _kind(prepared)
    urgent = _URGENT_RULES.first(prepared.flat)
    reply_kind, kind_rule, hint = kind or (ReplyKind.OTHER, None, None)
    if hint is None and urgent:
        hint = urgent[1]
    matched = "+".join(rule for rule in (kind_rule, urgent[0] if urgent else None) if rule)
    return ReplyClass(reply_kind, urgent is not None, _language(prepared, hint), matched or None)
