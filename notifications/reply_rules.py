"""The rules the reply classifier (notifications.replies) reads replies with: regexes over the
words of a reply (lower case, no accents, no punctuation), named so that `matched` can say which
fired without quoting the message.

- OPT_OUT_RULES: a request to stop contacting the sender, however it is worded (FCC 2024: consent
  may be revoked "by any reasonable means").
- KEEP_RULES: the sender wants the messages to go on ("I want to keep getting these").
- NEAR_MISS_RULES: a stop-like word about something else ("the bus stop", "he won't stop calling
  me", "cancel my card", "el carro era alto").
- REVOCATION_CUES: words that might mean stop; with nothing else to go on, the reply is held and
  the sender asked to confirm.
- URGENT_RULES: danger or new information, for staff to see first.

Grown on tests/data/replies-corpus/tuning.csv; tests/data/replies-corpus/heldback.csv is not
read while writing them (benchmarks/replies prints both).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final


def word_set(*lines: str) -> frozenset[str]:
    """Space-separated words, so long word lists stay readable."""
    return frozenset(" ".join(lines).split())


@dataclass(frozen=True, slots=True)
class Rules:
    """Named regexes compiled into one alternation; a match tells which rule fired and its language."""

    pattern: re.Pattern[str]
    names: Mapping[str, tuple[str, str | None]]

    @classmethod
    def of(cls, prefix: str, rules: Iterable[tuple[str, str | None, str]]) -> Rules:
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
    r"(?:texting|txting|texing|textin|textng|txtn|txtin|texteing|messaging|msging|msgn|messageing|messagin|"
    r"contacting|emailing|calling|bothering|notifying|writing|sending|reaching out to|reaching out|blowing up|"
    r"hittin|hitting|hitting up|buggin|bugging)"
)
_MESSAGES = (
    r"(?:messages|message|msgs|msg|mssgs|texts|text|txts|txt|notifications|notification|updates|alerts|"
    r"emails|sms|communications|communication|contact|reminders|stuff|things)"
)
_LISTS = r"(?:list|lists|system|database|texts|messages|contacts|notifications|alerts|registry)"
_ES_MESSAGES = (
    r"(?:mensajes|mensaje|msjs|msj|mjs|mensages|textos|texto|notificaciones|correos|llamadas|avisos|sms|"
    r"alertas|cosas|nada|informacion|info|recordatorios|texts|messages)"
)
_ES_LISTS = r"(?:lista|listas|base|sistema|registro|mensajes|notificaciones|contactos)"
_ES_YOU_SEND = (
    r"(?:envien|envie|envies|manden|mande|mandes|escriban|escriba|escribas|contacten|contacte|contactes|"
    r"llamen|llame|llames|molesten|moleste|molestes|texteen|textee|textees|mensajeen|busquen|avisen|avise|"
    r"notifiquen|notifique|embien|enbien|ebien|escrivan|usen|envieis|mandeis|escribais|contacteis|llameis|"
    r"molesteis|texteeis|avaseis)"
)

# Plain-language opt-outs, looked for in each clause. A match preceded (within three words of its
# clause) by someone else or a negation is about that someone: see ABOUT_SOMEONE_ELSE.
OPT_OUT_RULES: Final = Rules.of(
    "optout",
    [
        (
            "stop_contact",
            "en",
            rf"\b(?:stop|stp|stahp|top|sop|sto|stoo|stpo|sotp|quit|cease|discontinue) (?:\w+ ){{0,2}}{_CONTACT_VERBS}(?= (?:me|us|this|my|here|"
            r"now|please|pls|plz|again|and|or|anything|stuff|things|about)\b|$)",
        ),
        ("stop_contact", "en", r"\b(?:stop|stp|quit|cease) (?:sending|send) (?:me|us)\b"),
        (
            "stop_messages",
            "en",
            r"\b(?:stop|quit|end|cancel) (?:receiving |getting |sending )?(?:these|those|them|all this|all of "
            r"this|all these)(?=$| (?:please|pls|plz|now|thanks|thank you|already|asap)\b)",
        ),
        (
            "stop_messages",
            "en",
            r"(?<!\bthe )\b(?:stop|quit|end|cancel|discontinue|cease|halt|terminate)(?! of) (?:receiving |getting |sending )?(?:me |us )?"
            r"(?:the |these |this |those |all |your |ur |any |text |sms |of |further |future |my )*"
            rf"{_MESSAGES}\b",
        ),
        (
            "stop_messages",
            "en",
            rf"\b(?:these|the|your|ur|this|all these) {_MESSAGES} (?:need to|needs to|have to|has to|must|"
            r"should|gotta|got to) (?:stop|end)\b",
        ),
        (
            "said_stop",
            "en",
            r"\b(?:say|said|told you|tell you|typed|texted|wrote|replied|reply) (?:to )?stop\b(?! (?:by|in)\b)",
        ),
        (
            "remove_me",
            "en",
            r"\b(?:remove|remov|remoove|delete|erase|drop|unenroll|unregister|exclude) (?:me|us|him|her)\b",
        ),
        (
            "remove_me",
            "en",
            r"\b(?:remove|remoove|remov|delete|erase|take|drop|lose|forget|scratch) (?:my|this|the|our) (?:phone number|number|phone|cell|"
            r"cell phone|name|info|information|email|contact info|contact|line|#)\b(?!(?: \w+){0,5} (?:report|file|case|record|records|"
            r"website|public|paperwork)\b)",
        ),
        (
            "take_me_off",
            "en",
            r"\btake (?:me|us|my (?:number|phone number|phone|name|email)|this (?:number|phone)) off\b",
        ),
        (
            "take_me_off",
            "en",
            r"\b(?:off|out of) (?:your|ur|the|this) (?:list|system|contacts|database|texts)\b",
        ),
        (
            "no_more_messages",
            "en",
            rf"\bno (?:more|further) {_MESSAGES}\b|\bno more (?:texting|contact|of this)\b",
        ),
        (
            "do_not_contact",
            "en",
            r"\b(?:dont|do not|don t|never|stop trying to|please dont|pls dont) (?:ever )?(?:text|txt|message|msg|contact|call|email|notify|"
            r"bother|write|reach out to|reach|send) (?:me|us|this number|this phone|this cell|here|anymore|again|any more)\b|"
            r"\b(?:dont|do not|never) send (?:me )?(?:anything|nothing|any thing) (?:else |more |at all )?(?:here|to this|to me|"
            r"again|anymore)\b",
        ),
        (
            "do_not_want",
            "en",
            r"\b(?:dont|do not|no longer|didnt|did not|never) (?:want|wish|need|like|ask for|asked for|request|requested) (?:to (?:get|receive|be getting) )?(?:any |"
            r"these |this |those |your |the |more |any more |anymore |text |further |"
            rf"sms )*{_MESSAGES}\b(?! from (?:him|her|them|he|she|my)\b)",
        ),
        (
            "do_not_want",
            "en",
            r"\b(?:dont|do not|no longer) (?:want|wish) to (?:be (?:contacted|texted|messaged|notified|"
            r"bothered|on)|hear (?:about|from)|get (?:these|texts|messages|this))\b",
        ),
        (
            "prefer_not",
            "en",
            rf"\b(?:prefer|rather) not (?:to )?(?:get|receive|be) (?:\w+ ){{0,2}}(?:{_MESSAGES}|texted|contacted)\b",
        ),
        ("leave_me_alone", "en", r"\b(?:leave|let) (?:me|us) alone\b|\bgo away\b|\bget lost\b|\bbuzz off\b"),
        (
            "knock_it_off",
            "en",
            r"\b(?:knock|cut) it out\b|\bknock it off\b|\bcount (?:me|us) out\b|\b(?:quit|stop) "
            r"(?:bugging|pestering|harassing|hounding|spamming|bothering) (?:me|us)\b|\brefrain from (?:\w+ )?"
            r"(?:texting|contacting|messaging|sending|calling|emailing)\b",
        ),
        (
            "remove_me",
            "en",
            r"\b(?:be|get|getting) (?:me |us )?(?:removed|taken off|deleted|unsubscribed|off)\b|\bget (?:me|us) off\b",
        ),
        (
            "done",
            "en",
            rf"\bdone (?:getting|receiving|with) (?:these|this|the|your|all)\b|\b(?:im|i am) good on (?:the )?"
            rf"{_MESSAGES}\b|\b(?:dont|do not) need (?:em|them|these|those|updates|texts|messages|more)\b",
        ),
        (
            "threat_to_report",
            "en",
            r"\bone more (?:text|message|msg)\b|\b(?:dont|do not|stop) (?:use|using) (?:it|this|my|this number|my number)\b|"
            r"\b(?:want|like|need|wish) (?:them|these|it|this|the texts|the messages) to (?:end|stop)\b",
        ),
        (
            "unsubscribe",
            "en",
            r"\b(?:unsubscribe|unsubscribed|unsub|unsubcribe|unsubscibe|unsuscribe|unsubscrib|unsubscribe me|opt out|optout|"
            r"opt me out|opting out|opted out)\b(?! (?:of|from) (?:what|having|being|going|testifying|court|my name|the (?:public|report|news|"
            r"paper|lineup)|all of those|those|spam|the spam|(?:the )?(?!these|your|ur|this|the)\w+ (?:alerts|emails|newsletters|lists))\b)",
        ),
        (
            "unsubscribe",
            "en",
            r"\bcancel (?:my |the |these |this )?(?:subscription|messages|texts|notifications|alerts|"
            r"updates)\b",
        ),
        (
            "wrong_number",
            "en",
            r"\bwrong (?:number|num|no|phone|person|guy|lady|girl|cell|#)\b(?! (?:on|in|for|of) (?:the|my|this) "
            r"(?:report|file|case|form)\b)(?! (?:for|of) (?:my|his|her|the) (?!(?:case|report)\b)\w+)(?! arrested\b)|^(?:wrong|this is wrong)$",
        ),
        (
            "wrong_number",
            "en",
            r"\b(?:not|isnt|is not|aint) (?:my|the right) (?:number|phone|case|report|cell)\b",
        ),
        (
            "wrong_number",
            "en",
            r"\b(?:you|u) (?:have|got|texted|reached|messaged|sent this to) the wrong (?:number|person|phone|#|people|guy|"
            r"lady|one)\b|\bwho is this\b(?=.*\b(?:stop|wrong|dont)\b)",
        ),
        (
            "revoke_consent",
            "en",
            r"\b(?:revoke|revoking|withdraw|withdrawing|rescind|cancel) (?:my |any |all )?(?:consent|permission|authorization)\b",
        ),
        (
            "never_signed_up",
            "en",
            r"\b(?:never|didnt|did not|dont remember) (?:signed|sign|signing) up\b|\bnever (?:asked|agreed|consented|opted in)\b",
        ),
        (
            "not_interested",
            "en",
            r"\bnot interested\b(?! in (?!(?:this|these|the|your|any|getting|receiving) "
            r"(?:texts|messages|msgs|updates|notifications|alerts)\b))",
        ),
        (
            "block_number",
            "en",
            r"\b(?:block|blocking|blocked|report|reporting) (?:this|your|ur|the) (?:number|#|phone)\b|\bblocking (?:you|u)\b",
        ),
        ("enough", "en", rf"\benough (?:with |of )?(?:the |these |your |all )?{_MESSAGES}\b"),
        (
            "enough",
            "en",
            r"\b(?:i|im|i am|we are) (?:so )?(?:done|finished|through) with (?:this|these|your|the) (?:texts|messages|msgs|stuff|thing)?\b",
        ),
        (
            "no_me_envien",
            "es",
            rf"\b(?:no|ni) (?:me |m |nos |mi |a mi |a este numero |aqui |le |lo |la |ya no me )?(?:vuelvan a |vuelva a |sigan |siga |sigas |"
            rf"vuelvas a )?{_ES_YOU_SEND}\b(?! (?:a (?:el|ella|mi (?:hijo|hija|esposo|esposa)))\b)",
        ),
        (
            "no_me_envien",
            "es",
            r"\bno (?:me |nos )?(?:vuelvan|vuelva|vuelvas|volver|volverme) a (?:escribir|mandar|enviar|contactar|llamar|textear|molestar|"
            r"avisar|usar)(?:me|nos|le)?\b",
        ),
        (
            "no_me_envien",
            "es",
            r"\bno (?:me )?(?:sigan|siga) (?:escribiendo|mandando|enviando|molestando|contactando|llamando)\b",
        ),
        (
            "dejen_de",
            "es",
            r"(?<!\bno )\b(?:dejen|deje|deja|dejad|dejar|paren|pare|para|parad|parar) (?:de|d) (?:enviar|mandar|escribir|contactar|llamar|"
            r"molestar|textear|mensajear)(?:me|nos|le)?\b",
        ),
        (
            "darme_de_baja",
            "es",
            r"\b(?:dar|darme|darse|darnos|dame|denme|deme|den|me doy|me di) de baja\b(?! (?:la|mi|el|una|un|su) )",
        ),
        (
            "darme_de_baja",
            "es",
            r"\b(?:desuscribir|desuscribirme|desuscribanme|desuscribame|desinscribirme|desinscribanme|anularme|anular mi suscripcion)\b",
        ),
        (
            "borrenme",
            "es",
            r"\b(?:borren|borre|borra|borrad|borreis|quiten|quite|quita|quitad|kiten|eliminen|elimine|elimina|saquen|saque|saca|"
            r"sacad|retiren|retire|quitenme|sacame|quitame)(?:me|"
            rf"nos)?\b(?: de| del)? (?:la |su |sus |esta |este |las |los |el )?(?:{_ES_LISTS}|lista)\b",
        ),
        (
            "borrenme",
            "es",
            r"\b(?:borrar|quitar|eliminar|borren|borreis|quiten|kiten|eliminen|saquen|borre|quite|elimine|saque|delete|remove|"
            r"erase) (?:mi|mis|este|el) "
            r"(?:numero|telefono|nombre|datos|correo|celular|cel|contacto)\b(?!(?: \w+){0,4} (?:de|del|en) (?:la |el |mi |su )?"
            r"(?:reporte|informe|denuncia|caso)\b)",
        ),
        (
            "no_quiero_mensajes",
            "es",
            r"\bno (?:quiero|kiero|keiro|deseo|necesito|me interesa) (?:seguir )?(?:recibir |recibiendo )?(?:mas |ningun |ninguno |ninguna |ningunos |estos |"
            rf"sus |los |otro |otros |nada |mas de |mas )*{_ES_MESSAGES}\b",
        ),
        (
            "no_quiero_mensajes",
            "es",
            rf"\bno (?:quiero|deseo|kiero) que me (?:sigan |vuelvan a )?(?:{_ES_YOU_SEND}|enviando|mandando|"
            r"escribiendo|contacten|contactando|llamen)\b",
        ),
        (
            "no_quiero_mensajes",
            "es",
            r"\bno (?:quiero|deseo) ser contactad[ao]s?\b|\bya no (?:quiero|deseo|me interesa) (?:recibir|saber)\b",
        ),
        (
            "no_quiero_mensajes",
            "es",
            rf"\b(?:dejar|dejo|deje|dejen) de recibir (?:estos |los |sus |mas |sus )?{_ES_MESSAGES}\b",
        ),
        (
            "no_mas_mensajes",
            "es",
            rf"\b(?:no|nada|basta de|ya no) mas {_ES_MESSAGES}\b|\bbasta (?:de|con) (?:los |sus |tantos |estos )?{_ES_MESSAGES}\b|\bya no mas\b",
        ),
        (
            "no_mas_mensajes",
            "es",
            rf"\b(?:stop|alto|basta|ya|paren|ya paren|paren ya) (?:a|con) (?:los |sus |estos |tantos )?{_ES_MESSAGES}\b|\bya "
            r"estuvo\b|\bya parenle\b|\bparenle\b",
        ),
        (
            "cancelar_suscripcion",
            "es",
            r"\b(?:cancelar|cancelen|cancele|cancela|cancelo|quiero cancelar) (?:la |mi |mis |esta |estas |los |las |el |su |"
            r"sus )?(?:suscripcion|mensajes|notificaciones|alertas|avisos|textos|mensajes de texto)\b",
        ),
        ("dejenme_en_paz", "es", r"\b(?:dejenme|dejeme|dejame|dejennos) (?:en paz|tranquil[ao]s?)\b"),
        (
            "numero_equivocado",
            "es",
            r"\b(?:numero|nummero|num|telefono|celular|persona) equivocad[ao]s?\b(?! (?:en|del|de) (?:el |la |mi )?"
            r"(?:reporte|informe|denuncia|caso)\b)|\bequivocaron de (?:numero|persona)\b|\bse equivocaron\b(?! (?:en|con)\b)",
        ),
        (
            "numero_equivocado",
            "es",
            r"\b(?:este|ese|no es) (?:no es )?(?:mi|el) (?:numero|telefono|celular)\b|\bno es mi (?:numero|telefono|celular|caso)\b",
        ),
        (
            "numero_equivocado",
            "es",
            r"\bno soy (?:esa|la) persona\b|\bno conozco a (?:nadie|esa persona)\b|\bno es de la persona\b",
        ),
        (
            "revoco_consentimiento",
            "es",
            r"\b(?:revoco|retiro|cancelo|anulo) (?:mi )?(?:consentimiento|autorizacion|permiso)\b|\bno (?:autorizo|doy permiso|di permiso|acepto)\b",
        ),
        (
            "nunca_pedi",
            "es",
            r"\b(?:nunca|yo no) (?:pedi|solicite|me inscribi|me registre|autorice|me suscribi|me apunte|di mi numero)\b|"
            r"\b(?:yo )?no (?:hice|puse|levante|presente|tengo) (?:ningun|el|ese|este|un|una|ninguna) (?:reporte|denuncia|caso)\b",
        ),
        ("no_molesten", "es", r"\bno (?:me |nos )?molest(?:en|e|es)\b|\bdejen de molestar\b"),
        (
            "favor_de_no",
            "es",
            r"\bfavor de no (?:enviar|mandar|escribir|contactar|llamar|textear|molestar)(?:me|nos)?\b",
        ),
        (
            "ya_no_quiero",
            "es",
            r"\bya no (?:quiero|kiero|deseo|necesito) (?:esto|eso|nada|los|las|lo|mas)\b|\bya no (?:los|las|lo) "
            r"(?:quiero|kiero)\b|\b(?:para nada|nada) me interesa\b",
        ),
        (
            "slang",
            "es",
            r"\bya chole\b|\bno (?:jodan|chinguen|fastidien)\b|\bdejen de (?:joder|chingar|fastidiar)\b",
        ),
        (
            "salirme",
            "es",
            r"\b(?:salirme|salir|me salgo|sacarme|quitarme|borrarme|darme de baja) (?:de|del) (?:esta|la|su|este|el) "
            r"(?:lista|servicio|sistema|programa|grupo)\b|\bcomo (?:me salgo|salgo|me quito|me doy de baja) de (?:esto|aqui|esta)\b",
        ),
        (
            "cansado",
            "es",
            rf"\b(?:me canse|estoy cansad[ao]|ya me harte|me tienen hart[ao]|estoy hart[ao]) (?:de|con) (?:sus |estos |los |"
            rf"tantos |las )?{_ES_MESSAGES}\b",
        ),
        (
            "desactiven",
            "es",
            rf"\b(?:desactiven|desactive|desactivar|apaguen|apagar|suspendan|suspender|detengan|detener|corten|cortar) "
            rf"(?:los |las |mis |sus |estos |esas )?{_ES_MESSAGES}\b",
        ),
        ("no_mensajes", "es", r"\bno (?:mas )?(?:msjs|msj|mensajes|textos|mensages)\b"),
        (
            "no_me_interesa",
            "es",
            r"\b(?:ya )?no me interesan?\b(?= (?:recibir|nada|saber|esto|eso|estos|sus|los mensajes|gracias|"
            r"por favor|porfa)\b|$)",
        ),
        (
            # Contact only through someone else: an advocate, a lawyer, a relative.
            "through_someone_else",
            "en",
            r"\b(?:through|via|thru) my (?:advocate|lawyer|attorney|caseworker|case worker|social worker|counselor|"
            r"representative|daughter|son|wife|husband|mom|mother|dad|father|sister|brother|family) only\b|\bonly "
            r"(?:through|via|thru|contact|talk to|speak to|speak with|talk with) my (?:advocate|lawyer|attorney|caseworker|"
            r"social worker|representative)\b|\bsend (?:everything|it all|all of it|updates|them|the texts|the updates) to "
            r"(?:her|him|them|my \w+)(?: \w+)? (?:not|instead of) (?:me|this)\b|\b(?:is|will be) my (?:only )?(?:contact|point "
            r"of contact) (?:now|from now on|going forward)\b",
        ),
        (
            "through_someone_else",
            "es",
            r"\b(?:hablen|comuniquense|traten|contacten|escribanle|llamenle) (?:solo|solamente|nomas|unicamente) (?:con|a) mi \w+\b|"
            r"\b(?:hablen|comuniquense|traten|contacten|escribanle|llamenle) (?:solo |solamente |nomas |unicamente )?(?:con|a) mi "
            r"(?:abogad[ao]|licenciad[ao]|trabajadora social|trabajador social|hij[ao]|herman[ao]|espos[ao]|mama|papa|"
            r"madre|padre|defensor[a]?|representante)\b(?=.*\b(?:no|solo|solamente|nomas|unicamente)\b)|\b(?:toda|cualquier) "
            r"comunicacion (?:sea )?(?:con|por medio de|a traves de)\b|\b(?:por medio|a traves) de mi (?:abogad[ao]|"
            r"trabajadora social|trabajador social|defensor[a]?|representante)\b|\bque mi \w+ (?:\w+ )?reciba (?:los|las|"
            r"sus) (?:avisos|mensajes|notificaciones)\b|\ba mi (?:ya )?no(?: por aqui| me (?:escriban|manden))?$",
        ),
        (
            "not_authorised",
            None,
            r"\b(?:i )?(?:do not|dont|no longer) (?:authorize|authorise|consent|agree)\b(?! to (?:the|a|an|any) (?:search|"
            r"interview|lineup|test))|\bno (?:autorizo|consiento|acepto|doy (?:mi )?(?:permiso|consentimiento)|permito)\b",
        ),
        (
            "no_more_surveys",
            None,
            r"\b(?:dont|do not|never|stop|quit|no more) (?:send(?:ing)? (?:me )?|ask(?:ing)? me )?(?:any )?(?:more )?"
            r"(?:surveys|survey questions|questionnaires)\b|\bno (?:me )?(?:manden|envien|mande|envie) (?:mas )?encuestas\b|"
            r"\bno quiero (?:mas encuestas|que me vuelvan a preguntar|contestar (?:mas )?encuestas)\b",
        ),
        (
            "enough_for_me",
            "es",
            r"\bprefiero no (?:seguir )?(?:recibir|recibiendo|saber)\b|\bno hace falta (?:que me )?(?:sigan|seguir) "
            r"(?:informando|avisando|escribiendo|mandando|enviando)\w*|\bno me (?:den|sigan dando) (?:mas )?seguimiento\b|"
            r"\bpaso de (?:recibir|los mensajes|sus mensajes|esto)\b|(?<!\bno se )\bolvid(?:ense|en) de mi\b|\baqui me bajo\b|\bhasta "
            r"aqui (?:nomas|nada mas|llego|llegamos)\b|\bahi muere\b|\bcon eso es suficiente\b(?! para\b)|\bno me la vuelvan a mandar\b",
        ),
        (
            "another_way",
            "en",
            r"\b(?:letters|mail|post) only\b|\b(?:as|by) (?:a )?(?:letter|letters|mail|post) instead\b|\brather not "
            r"(?:have|get|receive|keep) (?:it|this|these|them) on my phone\b|\bnot (?:to )?this (?:mobile|cell|cellphone|"
            r"phone|number|line)\b(?! (?:is|was|has)\b)",
        ),
    ],
)
# Someone else or a negation just before a request to stop: "he won't stop texting me", "make him
# stop calling me", "I told her don't text me", "please don't stop texting me".
ABOUT_SOMEONE_ELSE: Final = word_set(
    "he she they him her them hes shes theyre his wont doesnt didnt cant cannot never not dont ex boyfriend "
    "girlfriend husband wife el ella ellos ellas dijo dije dijeron novia novio tipo vecino vecina suspect sospechoso reporter "
    "periodista",
)
CONTEXT_WORDS: Final = 3
# Words that start the sender's own request after talk of someone else ("…so stop texting me").
REQUEST_STARTS: Final = word_set("so and but please pls plz just now then anyway y pero entonces asi porfa")


# The sender wants the messages to go on: "keep me updated", "I still want updates", "sí quiero
# seguir recibiendo", "didn't mean to say stop". Then a stop-like word is not a revocation.
KEEP_RULES: Final = Rules.of(
    "keep",
    [
        (
            "what_if",
            None,
            r"\b(?:if|does|do|will|would|what if|si|y si|que pasa si) (?:i |yo |me )?(?:text|reply|replying|send|"
            r"sending|say|type|texting|mando|contesto|respondo|envio|escribo|pongo|mandar|contestar) (?:\w+ )?"
            r"(?:stop|alto|baja|parar|cancel|quit|end|unsubscribe)\b",
        ),
        (
            "keep",
            "en",
            r"(?<!no need to )(?<!dont need to )(?<!dont have to )\bkeep me (?:updated|posted|informed|in the loop)\b|\b(?:texting|texts|text|txt) (?:is|are) (?:fine|ok|okay|good)\b|"
            r"\b(?:im|i am) (?:fine|ok|okay|good) with (?:your|the|these) (?:texts|messages|updates)\b|\b(?:sign|put|add) me back\b|\bresubscribe\b|\baccidentally\b|"
            r"\b(?:opt out|optout|unsubscribe|cancel) (?:of |from )?what\b|\b(?:stop|unsubscribe|cancel|opt out) (?:no way|heck no|"
            r"hell no|nope)\b|\bkeep (?:em|them|these|those|the texts|the messages|the updates) coming\b(?! not\b)|(?<!\bdont )(?<!\bdo not )(?<!\bdidnt )\b(?:please|pls|plz|you can|u can|can you|"
            r"go ahead and|i want you to|want to|wanna) keep (?:texting|sending|getting|messaging|me)\b",
        ),
        (
            "keep",
            "en",
            r"(?<!\bif )\b(?:i|we) (?:still |do |really )?(?:want|need|like) (?:to keep |to continue |to get |to receive )?(?:getting |receiving )?(?:the |these |your |my )?(?:updates|texts|messages|notifications|info|these|them)\b(?! (?:to (?:stop|end)|gone|off|removed|deleted)\b)",
        ),
        (
            "keep",
            "en",
            r"\b(?:didnt|did not|dont|do not) (?:mean|want) to (?:say|text|send|reply) stop\b|\b(?:sent|texted|typed|replied|hit|pressed|said|wrote|send|reply|replied with) (?:\w+ )?(?:stop|end|cancel|quit|unsubscribe|that|it|this) (?:\w+ )?by (?:accident|mistake)\b|\b(?:stop|end|cancel|quit|unsubscribe) (?:was )?(?:by|a) (?:accident|mistake)\b|\b(?:what happens|will i|would i) .*\bif (?:i )?(?:reply|text|send|say) stop\b",
        ),
        (
            "keep",
            "en",
            r"\bcan keep (?:texting|messaging|sending)\b|\b(?:dont|do not) stop (?:texting|sending|the (?:texts|messages|updates))\b",
        ),
        (
            "keep",
            "es",
            r"\b(?:si|tambien) (?:quiero|deseo) (?:seguir )?(?:recibiendo|recibir|los mensajes|mensajes)\b|(?<!\bno )\bquiero seguir recibiendo\b|\bno quiero dejar de recibir\b|\bquiero volver a recibir\b",
        ),
        (
            "keep",
            "es",
            r"\bque pasa si (?:contesto|respondo|mando|envio|escribo)\b|\bsin querer\b|\bpor (?:mensaje|texto) (?:esta|estan) bien\b|"
            r"\b(?:sus|los|estos) mensajes si (?:me )?(?:sirven|ayudan|los quiero)\b|(?<!\bno )\b(?:quiero|queremos) seguir recibiendo\b|\b(?:volver a|vuelvan a|de nuevo) "
            r"(?:inscribir|registrar|suscribir|agregar|anotar)\w*|\bsi quiero que me (?:avisen|informen|manden|escriban|sigan)\b|(?<!\bno me )(?<!\bno )(?<!\bno quiero que me )(?<!\bno deseo que me )(?<!\bautorizo que me )(?<!\bautorizo a que me )(?<!\bpermito que me )(?<!\bacepto que me )(?<!\bfalta que me )(?<!\bsentido que me )\bsigan (?:mandando|enviando|escribiendo)(?:me)?\b|\bsi quiero los mensajes\b|\b(?:mande|puse|envie|escribi|respondi|conteste|mando|puso|mandaron|pusieron) (?:\w+ )?(?:alto|baja|stop|eso|cancelar) (?:\w+ )?(?:x|por) error\b|\b(?:alto|baja|stop) (?:fue )?(?:x|por) error\b",
        ),
        (
            "asks_what_it_does",
            None,
            r"\b(?:if|si|will|would) (?:i |yo |me |we )?(?:unsubscribe|opt out|optout|cancel|doy de baja|"
            r"salgo|mando (?:alto|baja|stop)|pongo (?:alto|baja|stop))\b|\b(?:not doing it(?! again)|not sending (?:it|that|either|"
            r"stop)|no lo voy a (?:mandar|enviar|hacer)|no voy a (?:mandar|poner|enviar) (?:alto|baja|stop|nada))\b",
        ),
        (
            "keep",
            "en",
            r"\bkeep (?:me )?(?:subscribed|signed up|on (?:the|your) list)\b|\b(?:i|we) (?:still )?want (?:the |my |your |"
            r"every |all the |all )?(?:msgs|txts|update|updates|texts|messages)\b|\bkeep (?:the )?(?:case )?(?:txts|texts|msgs|"
            r"updates|messages) coming\b|\b(?:nvm|never mind|nevermind|ignore) (?:abt |about )?(?:the |my )?(?:stop|unsubscribe|"
            r"cancel)\b|\b(?:sent|texted|typed|replied) (?:stop|end|cancel) (?:by|x) (?:mistake|accident)\b",
        ),
        (
            "keep",
            "es",
            r"\bno me (?:borren|quiten|saquen|eliminen|den de baja|dejen de (?:mandar|enviar|avisar|escribir))\b|\bno "
            r"borren mi (?:numero|telefono|cel|celular)\b|\bno me voy a dar de baja\b|\bno quiero (?:q|que) (?:paren|dejen|"
            r"se detengan)\b|\b(?:todavia|aun|si) quiero (?:los |sus )?(?:mensajes|msjs|msj|textos|avisos|info)\b|"
            r"\bsigan (?:avisandome|informandome|mandandome|escribiendome)\b",
        ),
        (
            "only_asking",
            None,
            r"\b(?:im|i am) not (?:opting out|unsubscribing|stopping|cancelling|canceling)\b|\bnot (?:opting out|"
            r"unsubscribing)\b|\b(?:just|only) (?:asking|curious|wondering)\b|\b(?:nomas|solo|solamente) (?:pregunto|"
            r"preguntaba|es pregunta)\b|\bno (?:lo )?quiero (?:hacer|cancelar|mandar)\b|\b(?:dont|do not) want to "
            r"(?:stop|opt out|unsubscribe|be removed)\b|\bno quiero (?:darme de baja|salirme|cancelar)\b",
        ),
        (
            "keep_going",
            None,
            r"\b(?:dont|do not|never) stop (?:updating|looking|working|investigating|searching|trying|letting me know|"
            r"keeping me)\b|\bno (?:dejen|deje) de (?:mandarme|enviarme|avisarme|informarme|buscar|investigar)\b|"
            r"\bno (?:quiero|deseo) que me (?:quiten|saquen|borren|den de baja|eliminen)\b|\bno de los (?:mensajes|textos)\b|"
            r"\bnot (?:from )?(?:the|these|your) (?:texts|messages|updates|case updates)\b",
        ),
        (
            # Thanks for the message and nothing else: "Thanks for following up with me", "gracias
            # por el aviso". Nothing may follow the thanks ("thanks for the updates, I'm good now"
            # may be a refusal, and is the model's to read).
            "thanks_only",
            None,
            r"^(?:(?:ok|okay|oh|hi|hello|hola) )?(?:thanks|thank you|thx|ty|gracias|muchas gracias)(?: so much| very much|"
            r" a lot| again| mucho| de nuevo)?(?: (?:for|por) (?:the |your |this |la |el |su |sus |los |las |me )?(?:update|"
            r"updates|info|information|informacion|help|ayuda|aviso|avisar|avisarme|following up(?: with me)?|follow up|"
            r"seguimiento|letting me know|reaching out|checking in|checking on me|calling|llamarme|message|mensaje|text|"
            r"call|llamada))?(?: (?:officer|oficial))?$",
        ),
        (
            "said_to_someone",
            None,
            r"\b(?:leave me alone|dejame en paz|dejeme en paz|stop)[\s]*(?:is|was|es|fue) (?:what|lo que) (?:i|le|les)\b|"
            r"\b(?:leave me alone|dejame en paz|dejeme en paz) eso le (?:digo|dije)\b",
        ),
        (
            "still_want",
            None,
            r"\bstill want (?:the |my |case |your )*(?:updates|texts|messages|msgs|txts)\b|"
            r"\bno me quiero dar de baja\b|(?<!\bnumero )(?<!\btelefono )(?<!\bque )\b(?:deje|dejamos) de recibir\b|\b(?:i|we) (?:stopped|quit) (?:getting|receiving)\b",
        ),
        (
            "someone_else_asked",
            None,
            r"(?<!\byou )(?<!\bu )(?<!\byall )\bmeant (?:to (?:text|send|message)|for) (?:my|mi)\b|\b(?:era|iba) para mi (?:\w+)\b|\bwrong "
            r"(?:chat|convo|conversation|thread)\b|\btell (?:the|that|this) \w+(?: \w+){0,4} to stop\b|\b(?:contacted|called|calls|bothered|harassed|texted) (?:by|from) "
            r"(?:the )?(?:media|press|news|reporters|reporter)\b|\bdel banco\b|\bblock (?:the|that|his|her|their) "
            r"(?:number|phone) (?:that|of|from)\b",
        ),
        (
            "keep_texting",
            None,
            r"(?<!\bdont )(?<!\bdo not )(?<!\bnot )(?<!\byou )(?<!\bu )(?<!\bya )(?<!\bto )(?<!\bthey )(?<!\bwhy )"
            r"(?<!\bhe )(?<!\bshe )\bkeep (?:texting|messaging|sending|updating) (?:me|us)\b|\bcontact me only$|"
            r"\b(?:stop|alto) (?:means|significa)\b|\b(?:done|finished|completed) with the "
            r"survey\b|\b(?:termine|ya conteste) (?:la )?encuesta\b|\bno (?:es|era) (?:el |un )?numero equivocado\b|\bnot "
            r"(?:a |the )?wrong (?:number|person)\b|\b(?:leave me alone|dejame en paz) (?:he|she|they|el|ella) (?:said|says|"
            r"told|yelled|dijo|grito)\b|\bunsubscribed? from (?:his|her|their|living)\b",
        ),
        (
            "feelings",
            None,
            r"\b(?:cant|can t|cannot|couldnt) stop (?:thinking|crying|shaking|worrying|looking)\b|\bno puedo dejar de "
            r"(?:pensar|llorar|temblar)\b|\b(?:im|i am|i m) not (?:scared|afraid|worried|angry|upset|mad) (?:anymore|any more)\b|"
            r"\bya no (?:tengo miedo|estoy (?:asustad[ao]|preocupad[ao]|enojad[ao]))\b",
        ),
        (
            # Texts preferred to calls or post, which we never send: the sender keeps these messages.
            # A refusal of e-mail is not covered, so it still opts out (the opt-out takes every
            # channel, the safe reading).
            "texts_preferred",
            None,
            r"^(?!.*\b(?:email|emails|emailing|e mail|correo|correos|electronico)\b).*(?:\b(?:texting|texts|text|txt|txts)"
            r" (?:is|are|s) (?:actually |still )?(?:better|best|perfect|great|good|enough|fine)\b|\b(?:texts|text|txt) only\b|"
            r"\bjust text\b|\btext me (?:here )?instead\b|\btext me (?:on|at) this (?:number|phone)\b|\bprefer (?:a )?(?:text|texts|texting)\b|\btexting me is\b|"
            r"\b(?:solo|nomas|mejor) (?:por )?(?:mensajes|mensaje|textos|texto|msjs)\b(?! no\b)|\bmejor (?:mandenme|mandame|envienme|"
            r"escribanme) (?:un )?(?:mensaje|mensajes|texto|textos|msj)\b|\bprefiero (?:los )?(?:mensajes|textos|msjs)\b|\b(?:mejor|solo) por aqui\b|\bpor aqui (?:esta|estan) bien\b|\bmandenme (?:un )?(?:mensaje|texto|msj)\b)",
        ),
    ],
)

# A stop-like word about something else: a place, a card, a restraining order, someone else.
NEAR_MISS_RULES: Final = Rules.of(
    "near_miss",
    [
        (
            "keyword_question",
            None,
            r"\b(?:what|how|why|does|do|que|como|por que|porque|significa|cual)\b.*\b(?:reply|respond|text|type|send|"
            r"responda|responder|conteste|contestar|contesto|respondo|dice|says)\b (?:\w+ )?(?:stop|alto)\b|"
            r"\b(?:reply|respond|responda|responder|conteste|contestar|dice|says) (?:\w+ )?(?:stop|alto)\b.*\b(?:mean|"
            r"means|do|does|significa|hace|work|works|cobrar|cobran|charge|cost|costs)\b|\bdoes (?:stop|alto) "
            r"(?:work|apply|cover|mean|do)\b|\b(?:stop|alto) (?:means|significa)\b",
        ),
        (
            "place",
            "en",
            r"\b(?:bus|truck|rest|pit|quik|quick|one|last|first|next) stop\b|\bstop (?:sign|light|signs)\b|\bstop (?:by|in|at|over)\b",
        ),
        (
            "the_report",
            None,
            r"\b(?:wrong|equivocad\w*|mal|error)\b.*\b(?:on|in|en|del|de|for) (?:the |el |mi |la |this |my )?"
            r"(?:report|reporte|informe|denuncia|file|form)\b",
        ),
        (
            "someone",
            "en",
            r"\b(?:he|she|they|him|her|them|wont|doesnt|didnt|cant|couldnt|wouldnt|never|wouldn t|man|guy|woman|lady|"
            r"neighbor|neighbors|kid|kids|people|dog|noise|person|ex) (?:(?!so |and |but |please |pls |just |then |now )\w+ ){0,2}"
            r"(?:stop|stopped|quit|end)\b|\bstop (?:him|her|them|the car|the tow|it|this guy|that guy)\b",
        ),
        (
            "someone",
            "en",
            r"\b(?:told|asked|begged|tell|ask) (?:him|her|them) to stop\b|\bmake (?:him|her|them) stop\b|"
            r"\b(?:keeps|kept|wont stop)\b.*\bmake it stop\b|\b(?:saying|says|said|yelling|yelled|"
            r"yells|screaming) stop \w+ing\b",
        ),
        (
            "other_thing",
            "en",
            r"\b(?:cancel|cancelled|canceled|canceling|remove|removed|end|ended) (?:my |the |a |our )?(?:card|cards|credit|debit|account|insurance|policy|order|restraining|protective|lease|plates|glass|tags|registration|check|checks|subscription to|phone plan|plan|service|contract|appointment|claim|report|charges)\b",
        ),
        (
            "other_thing",
            "en",
            r"\bstop (?:payment|payments|the payment|the check)\b|\bstop (?:\w+ ){0,3}from (?:being|getting|happening|coming)\b|"
            r"\bhow (?:do|can|could|would|should) (?:i|we|you) stop (?:my|the|him|her|them|people|someone|packages|thieves)\b|"
            r"\bnon stop\b|\bnonstop\b|\b(?:should|can|do) i (?:delete|erase|block|keep)\b|\b(?:delete|erase) (?:the |his |her |"
            r"their )?(?:messages|texts|photos|pics|screenshots|voicemails) (?:he|she|they|from)\b|\b(?:dont|do not) (?:want|need) "
            r"(?:him|her|them|he|she|the suspect|the guy) (?:to )?\w+|\b(?:dont|do not) (?:understand|get|know what) (?:this|the|your) "
            r"(?:message|text)\b|\b(?:get|make|tell|ask|force) (?!(?:you|u|yall|y all|ya|it|this|these|those|that|them|the texts|the "
            r"messages|your|ur)\b)(?:\w+ ){1,4}(?:to )?stop\b|\b(?:nightmares|flashbacks|pain|noise|barking|harassment|break ins|thefts) "
            r"to stop\b|\bunsub\w* (?:from|of) (?:all of those|those|spam|the spam|(?:the )?(?!these|your|ur|this|the)\w+ (?:alerts|"
            r"emails|newsletters|lists))\b|"
            r"\b(?:sorry to bother|pena molestar\w*|perdon (?:por )?(?:la )?molest\w*|disculpe? (?:la )?molestia|siento molestar\w*)\b|\bcancel (?:that|my|the) (?:last|previous) "
            r"(?:text|message|msg)\b|\b(?:dont|do not|never) stop (?:the|your|this|looking|investigating|searching)\b|"
            r"\bno (?:more|mas) (?:break\w*|issues|problems|trouble|incidents|robos|problemas)\b|"
            r"\bwhen (?:will|does|did|is|do) (?:\w+ ){1,4}(?:end|over|stop|expire|ends)$|\brevoke (?:his|her|their|the) "
            r"(?:bail|license|parole|probation|bond|visa|permit)\b|"
            r"\b(?:reporte|informe|denuncia|fecha|hora|direccion|nombre|report|date|address|time)\b.*\b(?:equivocad\w*|wrong|mal)\b|"
            r"\bwhen (?:will|does|did|is) (?:this|it|the case|the investigation) (?:end|over|stop)\b|\bwrong (?:address|name|date|time|car|plate|info|information|spelling|report number)\b|\bremove (?:my|the) (?:address|name|info)\b",
        ),
        (
            "place",
            "es",
            r"\b(?:letrero|senal|senalamiento|luz|parada|señal) de (?:alto|parar)\b|\bparada del?\b|\bplanta baja\b|\bparte baja\b",
        ),
        (
            "other_thing",
            "es",
            r"\b(?:era|es|esta|estaba|estan|muy|mas|tan|bien|un poco|medio|bastante) (?:alt[oa]s?|baj[oa]s?)\b|\b(?:alto|alta) (?:y|de|como|volumen)\b|\b(?:baje|bajo|bajamos|bajaron|bajar|bajando|bajita|bajito)\b",
        ),
        (
            "other_thing",
            "es",
            r"\b(?:dieron|dio|dan|daran|dieran) de baja\b|\bde baja (?:la|mi|el|una|un|su|las|los) (?!lista|mensajes|suscripcion|numero|"
            r"telefono|cel|celular)|"
            r"\bla baja de (?:la|el|mi|su|las|los) (?:placa|placas|linea|tarjeta|cuenta|carro|auto|seguro|moto)\b|"
            r"\b(?:hombre|tipo|senor|muchacho|chavo|mujer|persona|chico|chica|muchacha|senora|sujeto|vato|cuate) alt[oa]\b|\bbasta con que\b|\balto ahi\b|"
            rf"\bbasta (?:ya )?de (?!(?:los |sus |estos |tantos |tanto )?(?:{_ES_MESSAGES}|molestar|mensajear|textear)\b)|"
            r"\bdar de baja (?:la|mi|el|una|un|su|las|los)\b|\bcancelar (?:la|mi|el|las|mis|los) (?:tarjeta|tarjetas|cuenta|seguro|poliza|placas|orden|cita)\b|\bno (?:paran|para|deja|dejan) de\b|\ble dije que (?:ya )?parara\b",
        ),
        (
            "other_thing",
            "es",
            r"\b(?:termina|terminara|acaba|acabara) (?:la|el) (?:investigacion|caso|proceso)\b|\bhagan que (?:pare|paren|deje)\b|"
            r"\bpara que (?:esto|eso|el|ella|ya|se) (?:\w+ )?(?:pare|termine|deje|acabe)\b|\b(?:el|ella|ellos|tipo|ese|esa) (?:\w+ )?"
            r"(?:sigue|siguen) (?:pasando|viniendo|rondando|llamando|mandando|enviando|escribiendo)\b|\bdejar de ir\b|\b(?:pusieron|escribieron) mal\b",
        ),
    ],
)

# Words that might mean stop. With no clearer rule, a reply holding one is held and its sender
# asked to confirm with STOP. Broad on purpose: a hold costs one question, a miss a victim's trust.
_MESSAGE_OBJECTS = (
    r"(?:it|this|that|these|those|them|now|please|pls|plz|all|everything|already|asap|me|us|my number|"
    r"this number|my phone|this phone|the texts|the messages|texts|messages|msgs|msg|texting|messaging|"
    r"sending|contacting|esto|eso|todo|ya|ahora|porfa|por favor|los mensajes|mensajes|msjs)"
)
# Being reached: the things we send and the ways we send them, in either language.
_REACHING = (
    r"(?:text\w*|txt\w*|msg\w*|mssg\w*|messag\w*|contact\w*|email\w*|e mail\w*|sms|communicat\w*|notif\w*|"
    r"updat\w*|alert\w*|reminder\w*|posted|in the loop|(?:get|gettin|receive) (?:these|them|em|this|those|any)|hit(?:tin|ting)? (?:me|my|this|up)|hear from|reach\w*|"
    r"mensaj\w*|msj\w*|escrib\w*|escriv\w*|mand\w*|envi\w*|embi\w*|textear\w*|texteen|inform\w*|avis\w*|"
    r"comunic\w*|correo\w*|noticias|recibir\w*|receiv\w*|getting|actualizacion\w*|llegue|lleguen|hear about)"
)
# Ways of saying "not" or "no longer" that refuse something.
_REFUSING = (
    r"(?:dont|do not|dont wanna|never|no need|rather not|no longer|not wanting|not want|not to be|no thanks|no send|"
    r"prefiero no|no quiere|dont want|doesnt want|no quieren|ninguno|ninguna|"
    r"no thank you|nah|no more|any more|anymore|from now on|ya no|no quiero|no queremos|no deseo|no necesito|"
    r"no me|no nos|no les|nunca|jamas|ningun\w*|ni|no hace falta|no es necesario|sin)"
)
# Run-together replies ("dontmessagemeagain", "yanomemanden"): these inside one long word.
_RUN_TOGETHER = (
    r"(?=\w{10})\w*(?:stop|unsub|optout|dont(?:text|message|msg|contact|send)|nomas(?:mensaj|text)|yanome|nome(?:manden|envien|"
    r"escriban|contacten)|dejende|paren(?:de|le)|removeme|takemeoff|wrongnumber|numeroequivocado)\w*"
)
REVOCATION_CUES: Final = Rules.of(
    "maybe",
    [
        # Stop and its misspellings mean stop wherever they stand, unless a near miss explains them.
        (
            "stop_word",
            None,
            r"\b(?:stop|stp|stopp+|sotp|stpo|stahp|unsub\w*|unsus\w*|revoke|alto|altp|basta|baja|"
            r"bajaa|desuscrib\w*|cease|ceased|cesen|cese|discontinu\w*|desactiv\w*|apag(?:uen|ue|ar|ad)(?:me|los|las)?|"
            r"anula\w*|suscrip\w*|subscri\w*|retir\w*me|retirenme|saqu\w*me|sacame|sacad|borr\w*me|borrad|"
            r"elimin\w*me|quit(?:en|e|a|ad|eis)(?:me|lo|la|nos)|quiteis|unenroll\w*|unregister\w*|suficiente|enough|halt|"
            r"withdraw(?= (?:me|from (?:the|these|this|your|victim)|my (?:consent|number|permission)))|suspend(?:an|a|er|e|eis)?|suspenderlos|suspendanlos|salirme|sacarme|olvid\w+ de mi|borr(?:en|e|a|ad)l[oa]s?|"
            r"saqu(?:en|e)l[oa]s?|quit(?:en|e|a)l[oa]s?|me quita|me quite|me quiten|den de baja|de de baja|turn off|shut off)\b",
        ),
        # Other verbs of ending only when nothing follows them, or what follows is us or our texts.
        (
            "stop_word",
            None,
            r"\b(?:quit|quitt|cancel|cancle|end|remove|delete|erase|block|parar|paren|parenle|pare|parad|dejad|"
            rf"cancelar|cancelen|fin|terminen|detener|detengan|borren|quiten|eliminen|saquen|dejen)\b(?= "
            rf"{_MESSAGE_OBJECTS}\b|$)",
        ),
        ("stop_word", None, r"\b(?:equivocad\w*|molest\w*|autorizo|dejenme)\b"),
        (
            "no_consent",
            None,
            r"\b(?:dont|do not|no longer|never|no|not) (?:give |gave |giving )?(?:my )?(?:consent|consentimiento)\b|"
            r"\bno (?:doy|di|tienen) (?:mi )?(?:consentimiento|permiso)\b|\bconsent (?:withdrawn|revoked|cancelled|canceled)\b|"
            r"\b(?:withdraw|withdrawing|withdrew) (?:my |all )?consent\b|\bmake (?:it|this|these|them|that|the texts|the messages|"
            r"these texts|these msgs|these messages) stop\b",
        ),
        (
            "enough_with",
            None,
            r"\b(?:chill|off|enough|done|over it|paren|ya) with (?:the |these |your |all )?(?:texts?|messages?|msgs?|alerts?|"
            r"updates?|notifications?)\b|\b(?:paren|parar|pare|basta con|ya con) (?:los |las |sus |estos |tantos )?"
            r"(?:mensajitos|mensajes|textos|msjs|notificaciones)\b|\b(?:stock|stoo|stpo|sop|stip) (?:sending|texting|messaging)\b",
        ),
        # A refusal with being reached somewhere after it in the same reply.
        ("no_more", None, rf"\b{_REFUSING}\b(?: \w+){{0,8}} {_REACHING}\b"),
        (
            "no_more",
            None,
            r"\b(?:no more|no mas|ya no mas|nunca mas)\b(?=$| (?:please|pls|plz|of (?:this|these|that|them|it)|por "
            r"favor|porfa|gracias|thanks|thank you|ok|okay|por aqui|de esto|de estos|i mean it|en serio)\b)",
        ),
        (
            "still_contacting",
            None,
            r"\bstill (?:texting|txting|messaging|sending|contacting|writing|getting|receiving)\b|\bsigue[ns]? "
            r"(?:mandando|enviando|escribiendo|llegando)\b|\b(?:i|i already|ya) (?:said|dije) (?:no|que no)\b|"
            r"(?<!\bno )\b(?:dejen|dejad|paren|parad) de\b|\bya no$|\bpor favor ya no\b",
        ),
        ("run_together", None, rf"\b{_RUN_TOGETHER}\b"),
        (
            "wrong",
            None,
            r"\bwrong (?:number|num|no|phone|person|guy|lady|girl|cell|#)\b|\b(?:equivocad[ao]|who is this|"
            r"quien es|quien habla|no se quien|no conozco)\b",
        ),
        (
            "out",
            None,
            r"\b(?:im|i am|we are|count me) out\b|\bchanged my mind\b|\bcambie de opinion\b|\b(?:who|whoever) "
            r"signed me up\b|\bme (?:inscribieron|apuntaron|registraron)\b|\bonly (?:contact|reach|call|email)\b|"
            r"\bsolo (?:por|me) (?:correo|llamada|llamen|contacten)\b|\bthrough my (?:attorney|lawyer)\b|"
            r"\bpor medio de mi abogad[oa]\b|\b(?:only|just) (?:want |by |through |via |use )?(?:email|e mail|mail|calls?|phone calls?|letters?|the portal|a call)\b|\b(?:only|just) (?:email|mail|call) me\b|"
            r"\bnot (?:by |through |via )?(?:texts?|sms|txts?|messages?)$|\bno por (?:mensajes?|textos?|sms|celular)\b|"
            r"\bprefiero que me (?:contacten|llamen|escriban|avisen) por\b|\b(?:salirme|me salgo|quiero salir|sacarme|sacame|saquenme) de\b",
        ),
        (
            "goodbye",
            None,
            r"^(?:bye|goodbye|bye bye|adios|chao|chau|ciao|no|nope|no thanks|no thank you|no gracias|nel|nah|"
            r"done|im done|ya|enough|ya basta|ya no)$|\b(?:no thanks|no thank you|no gracias)$|"
            r"\b(?:dont|do not) (?:want|need) (?:these|them|this|it|em|those)$",
        ),
    ],
)

_THEY = r"(?:he|she|they|hes|shes|theyre)"
_BENIGN_HELP = (
    r"(?:understand|understanding|with|get|getting|find|figure|out|know|access|read|open|fill|file|reset|"
    r"track|locate|request|obtain|see|check|by|on)"
)
_WEAPONS = r"(?:gun|guns|knife|weapon|pistol|firearm|rifle|shotgun|machete)"

# Danger or new information, looked for in the whole reply (words only).
URGENT_RULES: Final = Rules.of(
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
