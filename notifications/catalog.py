"""Every word a victim reads, in each language we write to, in one place.

Templates hold layout only and look their words up here, so a translator edits one file and a
test can check that every language has every string. Spanish addresses the reader as usted.
Values may hold `str.format` fields; the data put into them is escaped by the HTML templates.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

_EN: dict[str, str] = {
    # Email: the subject is on lock screens and in inbox lists, so it never names the offense.
    "initial.subject": "Your report {report_number} with {agency}",
    "initial.heading": "Information about your report",
    "initial.intro": (
        "We are following up on the report made to {agency}. Below you will find your report "
        "number, what the report means, steps you can take and who to call."
    ),
    "email.greeting": "Hello {name},",
    "email.greeting_no_name": "Hello,",
    "email.details_heading": "Your report",
    "email.view_online": "View this message online",
    "email.link_note": "For your privacy, this link stops working after {days} days.",
    "email.emergency": "If you are in danger, call 911.",
    "email.footer_reason": (
        "You are receiving this email because your contact information is in a police report "
        "made to {agency}."
    ),
    "email.unsubscribe": "Stop receiving these emails",
    # The eight items of a message, in order; shared with the victim message web page.
    "item.report_number": "Report number",
    "item.offense": "Type of crime",
    "item.officer": "Reporting officer",
    "item.reported_at": "Date and time reported",
    "item.explanation": "What this means",
    "item.next_steps": "What you can do now",
    "item.substation_phone": "Substation phone",
    "item.investigations_phone": "Investigations phone",
    "value.not_recorded": "Not recorded",
    "value.explanation_missing": (
        "If you have questions about what this report means, call the investigations number."
    ),
    "value.next_steps_missing": (
        "If you are in danger, call 911. If you have new information, call the investigations number."
    ),
    # {month} {day}, {year}, {hour12}:{minute} {ampm}: "March 5, 2025, 2:30 PM"
    "value.datetime": "{month} {day}, {year}, {hour12}:{minute} {ampm}",
    # SMS: kept to GSM-7 characters so only a name or an offense label can force UCS-2.
    "sms.greeting": "{agency}: Hi {name}.",
    "sms.greeting_no_name": "{agency}: Hello.",
    "sms.offense": "Your report: {offense}.",
    "sms.link_intro": "Details, next steps and who to call:",
    "sms.link_intro_no_offense": "Details of your report, next steps and who to call:",
    "sms.stop": "Reply STOP to cancel.",
}

_ES: dict[str, str] = {
    "initial.subject": "Su reporte {report_number} ante {agency}",
    "initial.heading": "Información sobre su reporte",
    "initial.intro": (
        "Le escribimos para dar seguimiento al reporte presentado ante {agency}. A continuación "
        "encontrará el número de su reporte, lo que significa, los pasos que puede seguir y a "
        "quién llamar."
    ),
    "email.greeting": "Hola, {name}:",
    "email.greeting_no_name": "Hola:",
    "email.details_heading": "Su reporte",
    "email.view_online": "Ver este mensaje en línea",
    "email.link_note": "Para proteger su privacidad, este enlace dejará de funcionar después de {days} días.",
    "email.emergency": "Si está en peligro, llame al 911.",
    "email.footer_reason": (
        "Recibe este correo porque sus datos de contacto figuran en un reporte policial "
        "presentado ante {agency}."
    ),
    "email.unsubscribe": "Dejar de recibir estos correos",
    "item.report_number": "Número de reporte",
    "item.offense": "Tipo de delito",
    "item.officer": "Agente que tomó el reporte",
    "item.reported_at": "Fecha y hora del reporte",
    "item.explanation": "Qué significa",
    "item.next_steps": "Qué puede hacer ahora",
    "item.substation_phone": "Teléfono de la subestación",
    "item.investigations_phone": "Teléfono de investigaciones",
    "value.not_recorded": "No registrado",
    "value.explanation_missing": (
        "Si tiene preguntas sobre lo que significa este reporte, llame al teléfono de investigaciones."
    ),
    "value.next_steps_missing": (
        "Si está en peligro, llame al 911. Si sabe algo nuevo, llame al teléfono de investigaciones."
    ),
    # "5 de marzo de 2025, 14:30"
    "value.datetime": "{day} de {month} de {year}, {hour24}:{minute}",
    # é, ñ, ¿ and ¡ are GSM-7; á, í, ó and ú are not, so the fixed wording avoids them.
    "sms.greeting": "{agency}: Hola, {name}.",
    "sms.greeting_no_name": "{agency}: Hola.",
    "sms.offense": "Su reporte: {offense}.",
    "sms.link_intro": "Detalles, qué hacer y a quién llamar:",
    "sms.link_intro_no_offense": "Detalles de su reporte, qué hacer y a quién llamar:",
    # Twilio honours STOP by default; ALTO must be added to the Messaging Service's Advanced
    # Opt-Out keywords (and is honoured by our own reply handling: see STOP_KEYWORDS).
    "sms.stop": "Responda STOP o ALTO para cancelar.",
}

STRINGS: Final = MappingProxyType({"en": MappingProxyType(_EN), "es": MappingProxyType(_ES)})

MONTHS: Final = MappingProxyType(
    {
        "en": (
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        "es": (
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ),
    }
)

# Replies that opt a phone out, by message language: every keyword a message tells the reader
# to send must be here (Twilio's default English list, plus the Spanish ones we promise).
STOP_KEYWORDS: Final = MappingProxyType(
    {
        "en": frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}),
        "es": frozenset({"STOP", "ALTO", "PARAR", "CANCELAR", "BAJA"}),
    }
)


class UnsupportedLanguage(LookupError):
    """The agency lists a language we have no message catalog for."""


def catalog_language(language: str) -> str:
    """The catalog that serves a language tag: exact, else its primary subtag ("es-MX" → "es")."""
    if language in STRINGS:
        return language
    primary = language.split("-", 1)[0].lower()
    if primary in STRINGS:
        return primary
    raise UnsupportedLanguage(f"no message catalog for language {language!r}")


def strings(language: str) -> MappingProxyType[str, str]:
    """The strings of one language (read-only, so a template cannot change them for others)."""
    return STRINGS[catalog_language(language)]
