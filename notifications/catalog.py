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
    "item.case_status": "Case status",
    "item.detective": "Assigned detective",
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
    # Reporting-party notice: to a person who reported and is not a victim. It says the report was
    # filed and whom to call; never the offense, its explanation or anything about a victim.
    "reporting_party.subject": "Report {report_number} filed with {agency}",
    "reporting_party.heading": "Your report was filed",
    "reporting_party.intro": (
        "Thank you for reporting to {agency}. The report has been filed. Below you will find the "
        "report number, the officer who took it and who to call if you have more information."
    ),
    # Case-status follow-up to a notified victim. The subject never says the outcome (lock screens).
    "status_update.subject": "An update about your report {report_number} with {agency}",
    "status_update.heading": "An update about your report",
    "status_update.intro": "{agency} has an update about your report.",
    "status_update.call": "If you have questions or new information, call the investigations number below.",
    "status.change.cleared_arrest": "An arrest has been made in this case.",
    "status.change.cleared_exceptional": (
        "This case has been cleared. A suspect was identified, but an arrest could not be made "
        "for reasons outside the department's control."
    ),
    "status.change.suspended": (
        "Active investigation of this case is on hold because there are no further leads for now. "
        "If new information comes in, the case can be reopened."
    ),
    "status.change.closed": "This case has been closed.",
    "status.change.other": "The status of this case has changed.",
    "status.change.detective": "A detective was assigned to your case: {detective}.",
    "status.change.detective_no_name": "A detective was assigned to your case.",
    "status.label.open": "Open",
    "status.label.cleared_arrest": "Cleared by arrest",
    "status.label.cleared_exceptional": "Cleared by exceptional means",
    "status.label.suspended": "Suspended (no active leads)",
    "status.label.closed": "Closed",
    # Texts of the new notices. `sms.status.update` is all a discreet text says about a status
    # update: nothing about the offense or the outcome.
    "sms.reporting_party.filed": "Thank you for your report. It has been filed.",
    "sms.reporting_party.link_intro": "Report number and who to call with more information:",
    "sms.status.update": "There is an update about your report.",
    "sms.status.cleared_arrest": "Update on your report: an arrest was made.",
    "sms.status.cleared_exceptional": "Update on your report: the case was cleared.",
    "sms.status.suspended": "Update on your report: the investigation is on hold for now.",
    "sms.status.closed": "Update on your report: the case was closed.",
    "sms.status.detective": "Update on your report: a detective was assigned, {detective}.",
    "sms.status.detective_no_name": "Update on your report: a detective was assigned.",
    "sms.status.link_intro": "Details and who to call:",
    "sms.stop_text": "Text STOP to cancel.",
    # Survey invitation and reminder (both arms). Group B's invitation is the first message they
    # get from us, so only the `*.notified` sentences (Group A only) may mention an earlier one.
    "survey_invite.subject": "A 1-minute survey from {agency}",
    "survey_invite.heading": "Tell us about your experience",
    "survey_invite.notified": "We recently sent you information about your report.",
    "survey_invite.ask": (
        "{agency} would like to hear about your experience after your recent report. Would you take "
        "a 1-minute survey? Every question is optional, and your answers are kept confidential."
    ),
    "survey_invite.button": "Take the 1-minute survey",
    "survey_reminder.subject": "Reminder: a 1-minute survey from {agency}",
    "survey_reminder.heading": "There is still time to answer",
    "survey_reminder.intro": (
        "We recently invited you to a 1-minute survey about your experience after your recent report "
        "to {agency}. There is still time to answer. Every question is optional, and your answers "
        "are kept confidential."
    ),
    # Survey texts: GSM-7 only, like every SMS string ({department} is folded to GSM-7).
    "survey_sms.notified": "We recently sent you details of your report.",
    "survey_sms.ask": (
        "{department} would like to hear about your recent report. Would you take a 1-minute survey?"
    ),
    "survey_sms.reminder": "Our 1-minute survey about your recent report is still open:",
    "survey_sms.stop": "Text STOP to cancel.",
    # The victim pages (web/templates): message page, invalid link, unsubscribe, survey.
    "page.language_name": "English",  # this language's name, written in it (language switch)
    "page.language_nav": "Language",
    "page.emergency": "If you are in danger, call 911.",
    "page.privacy_note": "For your privacy, this page works only through the link we sent you, for a limited time.",
    "page.call_note": "Questions about your report? Call the phone numbers above.",
    "invalid.title": "This link is not valid or has expired",
    "invalid.body": (
        "For your privacy, the links in our messages work only for a limited time. "
        "If you need information about a report, call {agency}."
    ),
    "invalid.phone": "Phone: {phone}",
    "unsubscribe.title": "Stop receiving messages",
    "unsubscribe.body": (
        "Press the button below to stop receiving messages from {agency} about police reports: "
        "emails at the address this message was sent to, and texts to your phone."
    ),
    "unsubscribe.emails_only": "Stop emails only, keep texts",
    "unsubscribe.button": "Unsubscribe",
    "unsubscribe.done_title": "You are unsubscribed",
    "unsubscribe.done_body": "{agency} will not send you more emails or texts.",
    "unsubscribe.done_body_email": "{agency} will not send more emails to this address.",
    "unsubscribe.questions": "If you need information about your report, call {phone}.",
    "survey.title": "How did we do?",
    "survey.intro": (
        "{agency} would like to know how to serve you better. The survey takes about a minute. "
        "Every question is optional, and your answers are kept confidential."
    ),
    "survey.preferred_legend": (
        "In the future, how would you like to hear from the police department? Choose all that apply."
    ),
    "survey.preferred_text": "Text message",
    "survey.preferred_email": "Email",
    "survey.preferred_letter": "Mailed letter",
    "survey.preferred_phone": "Phone call",
    "survey.likely_legend": (
        "Are you likely to call the police department for more information about your report?"
    ),
    "survey.yes": "Yes",
    "survey.no": "No",
    "survey.service_legend": "How would you rate the customer service you received from the police department?",
    "survey.service_1": "1 – Very poor",
    "survey.service_2": "2 – Poor",
    "survey.service_3": "3 – Fair",
    "survey.service_4": "4 – Good",
    "survey.service_5": "5 – Very good",
    "survey.trust_legend": "How much do you agree with this statement: “I trust the police department.”",
    "survey.trust_1": "Strongly disagree",
    "survey.trust_2": "Disagree",
    "survey.trust_3": "Neither agree nor disagree",
    "survey.trust_4": "Agree",
    "survey.trust_5": "Strongly agree",
    "survey.free_text_label": "Is there anything else you would like to tell us?",
    "survey.free_text_hint": "Please do not use this form for emergencies. If you are in danger, call 911.",
    "survey.save": "Save and finish later",
    "survey.submit": "Submit",
    "survey.saved": "Your answers are saved. Use the same link to finish the survey.",
    "survey.thanks_title": "Thank you",
    "survey.thanks_body": (
        "Your answers have been recorded. You can use the same link to change them until it expires."
    ),
    "survey.change": "Change my answers",
    # Answers to text replies (sent back through Twilio). GSM-7 only, one segment where possible.
    "reply_opted_out": (
        "{agency}: You will get no more texts or e-mails from us. Reply START to receive texts again."
    ),
    "reply_confirm_stop": (
        "{agency}: Do you want no more messages from us? Reply STOP to confirm. "
        "We have paused them until you answer."
    ),
    "reply_opted_in": "{agency}: You will receive texts from us again. Reply STOP to cancel.",
    "reply_help": (
        "{agency}: Questions about your report: investigations {investigations}, "
        "substation {substation}. Emergency: 911. Reply STOP to cancel."
    ),
    "reply_unmonitored": (
        "{agency}: This number is not monitored. In an emergency call 911. "
        "About your report call {investigations}."
    ),
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
    "item.case_status": "Estado del caso",
    "item.detective": "Detective a cargo",
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
    "reporting_party.subject": "Reporte {report_number} presentado ante {agency}",
    "reporting_party.heading": "Su reporte quedó registrado",
    "reporting_party.intro": (
        "Gracias por presentar su reporte ante {agency}. El reporte quedó registrado. A continuación encontrará "
        "el número de reporte, el agente que lo tomó y a quién llamar si tiene más información."
    ),
    "status_update.subject": "Novedades sobre su reporte {report_number} ante {agency}",
    "status_update.heading": "Novedades sobre su reporte",
    "status_update.intro": "{agency} tiene novedades sobre su reporte.",
    "status_update.call": (
        "Si tiene preguntas o información nueva, llame al teléfono de investigaciones que aparece abajo."
    ),
    "status.change.cleared_arrest": "Se realizó un arresto en este caso.",
    "status.change.cleared_exceptional": (
        "Este caso se dio por resuelto. Se identificó a un sospechoso, pero no fue posible "
        "arrestarlo por razones ajenas al departamento."
    ),
    "status.change.suspended": (
        "La investigación activa de este caso está en pausa porque por ahora no hay más pistas. "
        "Si surge información nueva, el caso se puede reabrir."
    ),
    "status.change.closed": "Este caso se cerró.",
    "status.change.other": "El estado de este caso cambió.",
    "status.change.detective": "Se asignó un detective a su caso: {detective}.",
    "status.change.detective_no_name": "Se asignó un detective a su caso.",
    "status.label.open": "Abierto",
    "status.label.cleared_arrest": "Resuelto con arresto",
    "status.label.cleared_exceptional": "Resuelto por medios excepcionales",
    "status.label.suspended": "Suspendido (sin pistas activas)",
    "status.label.closed": "Cerrado",
    # á, í, ó and ú are not GSM-7 (see sms.greeting): the wording avoids them.
    "sms.reporting_party.filed": "Gracias por su reporte. Ya fue registrado.",
    "sms.reporting_party.link_intro": "Detalles del reporte y a quién llamar si sabe algo nuevo:",
    "sms.status.update": "Hay novedades sobre su reporte.",
    "sms.status.cleared_arrest": "Novedades sobre su reporte: se hizo un arresto.",
    "sms.status.cleared_exceptional": "Novedades sobre su reporte: el caso se dio por resuelto.",
    "sms.status.suspended": "Novedades sobre su reporte: el caso queda en pausa por ahora.",
    "sms.status.closed": "Novedades sobre su reporte: el caso fue cerrado.",
    "sms.status.detective": "Novedades sobre su reporte: el detective a cargo es {detective}.",
    "sms.status.detective_no_name": "Novedades sobre su reporte: ya tiene un detective a cargo.",
    "sms.status.link_intro": "Detalles y a quién llamar:",
    "sms.stop_text": "Escriba STOP o ALTO para cancelar.",
    "survey_invite.subject": "Una encuesta de 1 minuto de {agency}",
    "survey_invite.heading": "Cuéntenos su experiencia",
    "survey_invite.notified": "Hace poco le enviamos información sobre su reporte.",
    "survey_invite.ask": (
        "{agency} quiere saber cómo fue su experiencia después de su reporte reciente. ¿Nos ayuda "
        "con una encuesta de 1 minuto? Todas las preguntas son opcionales y sus respuestas son "
        "confidenciales."
    ),
    "survey_invite.button": "Contestar la encuesta de 1 minuto",
    "survey_reminder.subject": "Recordatorio: una encuesta de 1 minuto de {agency}",
    "survey_reminder.heading": "Todavía puede contestar",
    "survey_reminder.intro": (
        "Hace poco le invitamos a una encuesta de 1 minuto sobre su experiencia después de su "
        "reporte reciente ante {agency}. Todavía puede contestarla. Todas las preguntas son "
        "opcionales y sus respuestas son confidenciales."
    ),
    # á, í, ó and ú are not GSM-7 (see sms.greeting): the wording avoids them.
    "survey_sms.notified": "Hace poco le enviamos los detalles de su reporte.",
    "survey_sms.ask": (
        "{department} quiere saber de su experiencia con su reporte reciente. "
        "¿Nos ayuda con una encuesta de 1 minuto?"
    ),
    "survey_sms.reminder": "Nuestra encuesta de 1 minuto sobre su reporte reciente sigue abierta:",
    "survey_sms.stop": "Escriba STOP o ALTO para cancelar.",
    "page.language_name": "Español",
    "page.language_nav": "Idioma",
    "page.emergency": "Si está en peligro, llame al 911.",
    "page.privacy_note": (
        "Para proteger su privacidad, esta página solo se abre con el enlace que le enviamos, "
        "durante un tiempo limitado."
    ),
    "page.call_note": "¿Tiene preguntas sobre su reporte? Llame a los teléfonos de arriba.",
    "invalid.title": "Este enlace no es válido o ya venció",
    "invalid.body": (
        "Para proteger su privacidad, los enlaces de nuestros mensajes funcionan solo por un tiempo "
        "limitado. Si necesita información sobre un reporte, llame a {agency}."
    ),
    "invalid.phone": "Teléfono: {phone}",
    "unsubscribe.title": "Dejar de recibir mensajes",
    "unsubscribe.body": (
        "Pulse el botón de abajo para dejar de recibir mensajes de {agency} sobre reportes policiales: "
        "correos en la dirección a la que se envió este mensaje, y textos a su teléfono."
    ),
    "unsubscribe.emails_only": "Dejar solo los correos, seguir recibiendo textos",
    "unsubscribe.button": "Cancelar la suscripción",
    "unsubscribe.done_title": "Su suscripción está cancelada",
    "unsubscribe.done_body": "{agency} no le enviará más correos ni textos.",
    "unsubscribe.done_body_email": "{agency} no enviará más correos a esta dirección.",
    "unsubscribe.questions": "Si necesita información sobre su reporte, llame al {phone}.",
    "survey.title": "¿Cómo lo hicimos?",
    "survey.intro": (
        "{agency} quiere saber cómo atenderle mejor. La encuesta toma más o menos un minuto. "
        "Todas las preguntas son opcionales y sus respuestas son confidenciales."
    ),
    "survey.preferred_legend": (
        "En el futuro, ¿cómo prefiere que el departamento de policía se comunique con usted? "
        "Elija todas las que correspondan."
    ),
    "survey.preferred_text": "Mensaje de texto",
    "survey.preferred_email": "Correo electrónico",
    "survey.preferred_letter": "Carta por correo postal",
    "survey.preferred_phone": "Llamada telefónica",
    "survey.likely_legend": (
        "¿Es probable que usted llame al departamento de policía para pedir más información sobre su reporte?"
    ),
    "survey.yes": "Sí",
    "survey.no": "No",
    "survey.service_legend": "¿Cómo calificaría la atención que recibió del departamento de policía?",
    "survey.service_1": "1 – Muy mala",
    "survey.service_2": "2 – Mala",
    "survey.service_3": "3 – Regular",
    "survey.service_4": "4 – Buena",
    "survey.service_5": "5 – Muy buena",
    "survey.trust_legend": (
        "¿Qué tan de acuerdo está con esta afirmación? «Confío en el departamento de policía»."
    ),
    "survey.trust_1": "Totalmente en desacuerdo",
    "survey.trust_2": "En desacuerdo",
    "survey.trust_3": "Ni de acuerdo ni en desacuerdo",
    "survey.trust_4": "De acuerdo",
    "survey.trust_5": "Totalmente de acuerdo",
    "survey.free_text_label": "¿Hay algo más que quiera decirnos?",
    "survey.free_text_hint": "No use este formulario para emergencias. Si está en peligro, llame al 911.",
    "survey.save": "Guardar y terminar después",
    "survey.submit": "Enviar",
    "survey.saved": "Sus respuestas están guardadas. Use el mismo enlace para terminar la encuesta.",
    "survey.thanks_title": "Gracias",
    "survey.thanks_body": (
        "Sus respuestas quedaron registradas. Puede usar el mismo enlace para cambiarlas mientras siga vigente."
    ),
    "survey.change": "Cambiar mis respuestas",
    "reply_opted_out": (
        "{agency}: Ya no recibira mensajes de texto ni correos nuestros. Responda START para volver a recibir textos."
    ),
    "reply_confirm_stop": (
        "{agency}: Quiere dejar de recibir nuestros mensajes? Responda STOP o ALTO para confirmar. "
        "Los pausamos hasta su respuesta."
    ),
    "reply_opted_in": "{agency}: Volvera a recibir nuestros mensajes. Responda STOP o ALTO para cancelar.",
    "reply_help": (
        "{agency}: Preguntas sobre su reporte: investigaciones {investigations}, "
        "subestacion {substation}. Emergencias: 911. Responda STOP o ALTO para cancelar."
    ),
    "reply_unmonitored": (
        "{agency}: Este numero no es atendido. En una emergencia llame al 911. "
        "Sobre su reporte llame al {investigations}."
    ),
}

STRINGS: Final = MappingProxyType({"en": MappingProxyType(_EN), "es": MappingProxyType(_ES)})

# Sentences only Group A's survey messages may carry: they mention the first notice, which the
# holdout (Group B) never received. A test renders Group B's messages and looks for each.
ARM_A_ONLY_KEYS: Final = ("survey_invite.notified", "survey_sms.notified")

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
