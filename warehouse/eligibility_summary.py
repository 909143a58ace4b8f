"""What the last build decided, in a few lines for the person who ran it: victims decided,
eligible, due, and the reasons that held the others (counts and shares, never a name)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import psycopg

TOP_REASONS = 8


@dataclass(frozen=True)
class EligibilitySummary:
    decided: int  # victims with a decision (first notices)
    eligible: int
    due: int  # first notices due now (Group A, not yet sent)
    without_contact: int  # victims with no phone or e-mail that could be used
    reasons: list[tuple[str, int]] = field(default_factory=list)  # most frequent first

    def as_dict(self) -> dict:
        return {**asdict(self), "reasons": [{"reason": r, "victims": n} for r, n in self.reasons]}

    def lines(self) -> list[str]:
        if not self.decided:
            return ["eligibility: no victim decided yet (no report has landed, or none passed its checks)"]
        lines = [
            f"eligibility: {self.decided:,} victims decided, {self.eligible:,} eligible "
            f"({_share(self.eligible, self.decided)}), {self.due:,} due now"
        ]
        if self.without_contact == self.decided:
            lines.append(
                "No victim has a phone number or e-mail address the department can use, so nothing can "
                "be sent: the export carries no contact details (NIBRS never does)."
            )
        if self.reasons:
            lines.append("why the others are not messaged (a victim may have several reasons):")
            lines += [f"  {n:>8,}  {_share(n, self.decided):>6}  {reason}" for reason, n in self.reasons]
        return lines


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def eligibility_summary(url: str) -> EligibilitySummary:
    """Read from the marts and restricted views the build just wrote (first notices only)."""
    with psycopg.connect(url) as conn:
        decided, eligible, without_contact = conn.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE is_eligible),
                   count(*) FILTER (WHERE reason_no_valid_channel)
            FROM marts.fct_eligibility_decisions WHERE notice_kind = 'initial'
            """
        ).fetchone()
        reasons = conn.execute(
            """
            SELECT reason, count(*) FROM marts.fct_eligibility_decisions, unnest(reasons) AS reason
            WHERE notice_kind = 'initial' GROUP BY reason ORDER BY count(*) DESC, reason LIMIT %s
            """,
            (TOP_REASONS,),
        ).fetchall()
        due = conn.execute(
            "SELECT count(*) FROM restricted.notifications_due WHERE kind = 'initial'"
        ).fetchone()[0]
    return EligibilitySummary(decided, eligible, due, without_contact, [(r, n) for r, n in reasons])
