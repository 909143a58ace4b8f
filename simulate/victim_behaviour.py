"""What simulated victims do with the messages they receive, through the real pages and webhooks.

A victim's phone or inbox is the provider emulator's store: each delivered message's body holds
its link, as the real one would. Victims open links (`GET /m/...`, `/s/...`), answer the survey
(`POST /s/...`), reply to texts (a Twilio-signed inbound webhook), and their email client reports
opens (a SendGrid-signed `open` event). Rates follow the case study; survey answers carry the
planted effects of `simulate.randomized_victims.Planted`, so the evaluation has a truth to find.
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import numpy as np

from notifications.tokens import hash_token
from simulate.emulators.signing import sign_sendgrid_event, test_private_key_pem, twilio_signature
from simulate.randomized_victims import Planted, ratings_with_mean

EMAIL_OPEN = 0.909  # case study: 90.9% of emails opened
EMAIL_PAGE_VISIT = 0.35  # of openers, who also follow the link to the message page
SMS_LINK_OPEN = 0.55
THANKS_REPLY = 0.02
STOP_REPLY = 0.0003  # case study: under 0.03% unsubscribed
SURVEY_RESPONSE = 0.136  # case study: 13.6% completion
SURVEY_ABANDON = 0.05  # open the survey, answer part of it, never submit
# The victims' HTTP client would log every link it follows, token and all: tokens are capabilities.
logging.getLogger("httpx").setLevel(logging.WARNING)
LINK = re.compile(r"https?://[^\s\"'<>]+/(?P<kind>[ms])/(?P<token>[A-Za-z0-9_-]{20,})(?:\?c=[se])?")
THANKS = ("Thank you", "Thanks for letting me know", "Gracias", "ok thanks", "Thank you officer")


@dataclass(frozen=True)
class Received:
    """One message as it reached a victim: channel, address, body, provider id and our id."""

    channel: str
    address: str
    body: str
    provider_id: str
    notification_id: str | None = None


def links_in(body: str) -> list[tuple[str, str]]:
    return [(match.group("kind"), match.group("token")) for match in LINK.finditer(body)]


class Victims:
    """Simulated victims acting on a running web app (`base_url`)."""

    def __init__(self, base_url: str, auth_token: str, seed: int, planted: Planted = Planted()) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.planted = planted
        self.client = httpx.Client(
            base_url=self.base_url, timeout=30.0, headers={"Sec-Fetch-Site": "same-origin"}
        )
        self.key = test_private_key_pem()
        self.tally: Counter[str] = Counter()

    def close(self) -> None:
        self.client.close()

    # -- the message page and the survey -----------------------------------------------------------

    def _open(self, path: str) -> bool:
        response = self.client.get(path)
        self.tally[f"GET {path[:2]} {response.status_code}"] += 1
        return response.status_code == 200

    def visit_message(self, token: str, channel: str) -> None:
        self._open(f"/m/{token}?c={'s' if channel == 'sms' else 'e'}")

    def answers(self, arm: str) -> dict[str, str | list[str]]:
        """Form fields a respondent in `arm` submits, drawn with the planted effects."""
        p, rng, notified = self.planted, self.rng, arm == "A"

        def chance(base: float, lift: float) -> bool:
            return rng.random() < base * (1 + lift if notified else 1)

        preferred = [
            way
            for way, yes in (
                ("text", chance(p.prefers_text_b, p.prefers_text_lift)),
                ("email", chance(p.prefers_email_b, 0.0)),
                ("letter", chance(p.prefers_letter_b, 0.0)),
                ("phone", chance(p.prefers_phone_b, 0.0)),
            )
            if yes
        ]
        service_mean = p.service_mean_b * (1 + p.service_lift if notified else 1)
        trust_top = p.trust_top_b * (1 + p.trust_lift if notified else 1)
        fields: dict[str, str | list[str]] = {
            "preferred_shown": "1",
            "preferred": preferred,
            "likely_to_call": "yes" if chance(p.likely_to_call_b, p.likely_to_call_lift) else "no",
            "service_rating": str(int(ratings_with_mean(self.np_rng, 1, service_mean)[0])),
            "trust_rating": str(rng.choice((4, 5)) if rng.random() < trust_top else rng.choice((1, 2, 3))),
            "action": "submit",
        }
        if rng.random() < 0.2:
            fields["free_text"] = rng.choice(
                ("Thank you for the follow-up.", "I still have questions.", "Gracias.")
            )
        return fields

    def take_survey(self, token: str, arm: str) -> str:
        """Open the survey; most leave, some answer part and leave, some submit."""
        if not self._open(f"/s/{token}"):
            return "invalid"
        draw = self.rng.random()
        if draw < SURVEY_RESPONSE:
            fields = self.answers(arm)
        elif draw < SURVEY_RESPONSE + SURVEY_ABANDON:
            fields = {"service_rating": str(self.rng.randint(1, 5)), "action": "save"}
        else:
            return "opened"
        response = self.client.post(
            f"/s/{token}",
            content=urlencode(fields, doseq=True),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        self.tally[f"POST /s {response.status_code}"] += 1
        return "completed" if fields["action"] == "submit" else "partial"

    # -- provider webhooks -----------------------------------------------------------------------

    def reply(self, from_number: str, to_number: str, body: str) -> None:
        url = f"{self.base_url}/webhooks/twilio/inbound"
        params = {
            "MessageSid": f"SM{secrets.token_hex(16)}",
            "From": from_number,
            "To": to_number,
            "Body": body,
        }
        response = self.client.post(
            url,
            content=urlencode(params),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": twilio_signature(self.auth_token, url, params),
            },
        )
        self.tally[f"inbound {response.status_code}"] += 1

    def email_opened(self, message: Received) -> None:
        stamp = str(int(time.time()))
        event = {
            "email": message.address,
            "timestamp": int(stamp),
            "event": "open",
            "sg_event_id": secrets.token_urlsafe(16),
            "sg_message_id": f"{message.provider_id}.filter0001.0",
        }
        if message.notification_id is not None:
            event["notification_id"] = message.notification_id
        body = json.dumps([event]).encode()
        response = self.client.post(
            "/webhooks/sendgrid/events",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                "X-Twilio-Email-Event-Webhook-Signature": sign_sendgrid_event(self.key, stamp, body),
            },
        )
        self.tally[f"sendgrid event {response.status_code}"] += 1

    # -- one delivered message -------------------------------------------------------------------------

    def act_on(self, message: Received, arm_of_invitation: dict[str, str], sender: str) -> None:
        """What one victim does with one message."""
        links = links_in(message.body)
        survey_tokens = [token for kind, token in links if kind == "s"]
        if message.channel == "email":
            if self.rng.random() >= EMAIL_OPEN:
                return
            self.email_opened(message)
            if survey_tokens:
                self._survey(survey_tokens[0], arm_of_invitation)
            elif links and self.rng.random() < EMAIL_PAGE_VISIT:
                self.visit_message(links[0][1], "email")
            return
        if survey_tokens:
            self._survey(survey_tokens[0], arm_of_invitation)
        elif links and self.rng.random() < SMS_LINK_OPEN:
            self.visit_message(links[0][1], "sms")
        draw = self.rng.random()
        if draw < STOP_REPLY:
            self.reply(message.address, sender, "STOP")
            self.tally["stop"] += 1
        elif draw < STOP_REPLY + THANKS_REPLY:
            self.reply(message.address, sender, self.rng.choice(THANKS))

    def _survey(self, token: str, arm_of_invitation: dict[str, str]) -> None:
        arm = arm_of_invitation.get(hash_token(token))
        if arm is not None:
            self.tally[f"survey {self.take_survey(token, arm)}"] += 1
