"""SMS segment counting: how many billed parts a text message becomes, and in which encoding.

Carriers send a message in GSM-7 when every character is in the GSM 03.38 basic set or its
extension table, and in UCS-2 (UTF-16) otherwise: one emoji or one "á" switches the whole
message. Both the cost and the two-segment ceiling on our messages depend on this, so the
renderer asks here before it settles on a body.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

# GSM 03.38 basic character set (the escape code 0x1B itself is not a character one can send).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC + character, so it costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
GSM7_ALL = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE = 160
GSM7_PART = 153  # a multipart message spends 7 septets of each part on the UDH
UCS2_SINGLE = 70
UCS2_PART = 67

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True, slots=True)
class SegmentCount:
    """The encoding a carrier will use, the size in its units, and the billed segments.

    `units` are septets for GSM-7 (extension characters count 2) and UTF-16 code units for
    UCS-2 (a character outside the Basic Multilingual Plane, such as an emoji, counts 2).
    """

    encoding: Encoding
    units: int
    segments: int


def gsm7_fold(text: str) -> str:
    """Replace letters GSM-7 lacks by their unaccented form where that form is GSM-7 ("María" →
    "Maria"), as Twilio's Smart Encoding does; anything else (emoji, other scripts) is kept.

    One "á" would otherwise switch a text to UCS-2, where two segments hold only 134 characters:
    too few for a name, the offense and the link, so the name would be dropped altogether.
    """
    if is_gsm7(text):
        return text
    folded = []
    for char in text:
        if char in GSM7_ALL:
            folded.append(char)
            continue
        base = "".join(
            part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)
        )
        folded.append(base if base and is_gsm7(base) else char)
    return "".join(folded)


def is_gsm7(text: str) -> bool:
    """Whether every character can be sent in GSM-7 (basic set or extension table)."""
    return GSM7_ALL.issuperset(text)


def _packed_segments(costs: Iterable[int], capacity: int) -> int:
    """Parts needed when no character may be split across two parts.

    Senders never split an escape sequence or a surrogate pair, so a part can end one unit
    short; counting this way never promises fewer segments than the carrier bills.
    """
    segments, used = 1, 0
    for cost in costs:
        if used + cost > capacity:
            segments += 1
            used = 0
        used += cost
    return segments


def count_segments(text: str) -> SegmentCount:
    """Encoding, units and billed segments of an SMS body (an empty body still bills one)."""
    if is_gsm7(text):
        extended = sum(map(text.count, GSM7_EXTENSION))
        units = len(text) + extended
        if units <= GSM7_SINGLE:
            return SegmentCount("GSM-7", units, 1)
        if not extended:
            return SegmentCount("GSM-7", units, -(-units // GSM7_PART))
        costs = (2 if char in GSM7_EXTENSION else 1 for char in text)
        return SegmentCount("GSM-7", units, _packed_segments(costs, GSM7_PART))
    units = len(text.encode("utf-16-le", "surrogatepass")) // 2
    astral = units - len(text)
    if units <= UCS2_SINGLE:
        return SegmentCount("UCS-2", units, 1)
    if not astral:
        return SegmentCount("UCS-2", units, -(-units // UCS2_PART))
    costs = (2 if ord(char) > 0xFFFF else 1 for char in text)
    return SegmentCount("UCS-2", units, _packed_segments(costs, UCS2_PART))
