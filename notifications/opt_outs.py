"""Opt-outs and holds, for a person rather than one address.

Whoever asks to stop (a text STOP, an e-mail unsubscribe, the page, staff) hears from us on no
channel any more unless they chose otherwise on the page: every phone and e-mail address we have
messaged the same victim at (ops.outbox) or know for them (the warehouse's people with that
phone or e-mail) is opted out together. A reply that might be a revocation puts the same
addresses on hold (`pending_review`) until the person confirms with STOP, opts back in with
START, or a reviewer decides.
"""

from __future__ import annotations

import psycopg

Contact = tuple[str, str]  # (channel, address)


def linked_contacts(conn: psycopg.Connection, channel: str, address: str) -> set[Contact]:
    """The address and every other address of the people it belongs to."""
    contacts = {(channel, address)}
    contacts |= set(
        conn.execute(
            """
            SELECT DISTINCT channel, address FROM ops.outbox
            WHERE address IS NOT NULL AND victim_key IN (
              SELECT victim_key FROM ops.outbox WHERE channel = %s AND address = %s
            )
            """,
            (channel, address),
        ).fetchall()
    )
    if conn.execute("SELECT to_regclass('staging.stg_rms__persons')").fetchone()[0] is not None:
        column, other, other_channel = (
            ("phone_e164", "email", "email") if channel == "sms" else ("email", "phone_e164", "sms")
        )
        contacts |= {
            (other_channel, value)
            for (value,) in conn.execute(
                f"SELECT DISTINCT {other} FROM staging.stg_rms__persons WHERE {column} = %s AND {other} IS NOT NULL",  # noqa: S608 (fixed column names)
                (address,),
            )
        }
    return contacts


def opt_out_everywhere(
    conn: psycopg.Connection, channel: str, address: str, source: str, *, this_channel_only: bool = False
) -> set[Contact]:
    """Opt the person out on every channel (or only this address); a hold becomes an opt-out."""
    targets = {(channel, address)} if this_channel_only else linked_contacts(conn, channel, address)
    for target_channel, target_address in sorted(targets):  # one order: no lock cycle
        conn.execute(
            """
            INSERT INTO ops.opt_outs (channel, address, source) VALUES (%s, %s, %s)
            ON CONFLICT (channel, address) DO UPDATE
              SET source = excluded.source, pending_review = false, opted_out_at = now()
              WHERE ops.opt_outs.pending_review
            """,
            (target_channel, target_address, source),
        )
    return targets


def hold(conn: psycopg.Connection, channel: str, address: str, inbound_id: int) -> set[Contact]:
    """Hold every message to the person until they or a reviewer decide (an opt-out stays one)."""
    targets = linked_contacts(conn, channel, address)
    for target_channel, target_address in sorted(targets):  # one order: no lock cycle
        conn.execute(
            """
            INSERT INTO ops.opt_outs (channel, address, source, pending_review, inbound_id)
            VALUES (%s, %s, 'possible_opt_out', true, %s)
            ON CONFLICT (channel, address) DO NOTHING
            """,
            (target_channel, target_address, inbound_id),
        )
    return targets


def release(
    conn: psycopg.Connection,
    *,
    inbound_id: int | None = None,
    channel: str | None = None,
    address: str | None = None,
) -> int:
    """Lift holds: those a reply caused, or those on an address; confirmed opt-outs stay."""
    return conn.execute(
        """
        DELETE FROM ops.opt_outs
        WHERE pending_review
          AND ((%(inbound)s::bigint IS NOT NULL AND inbound_id = %(inbound)s)
               OR (%(channel)s::text IS NOT NULL AND channel = %(channel)s AND address = %(address)s))
        """,
        {"inbound": inbound_id, "channel": channel, "address": address},
    ).rowcount


def confirm(conn: psycopg.Connection, inbound_id: int, source: str) -> int:
    """Turn a reply's holds into opt-outs."""
    return conn.execute(
        "UPDATE ops.opt_outs SET pending_review = false, source = %s, opted_out_at = now()"
        " WHERE inbound_id = %s AND pending_review",
        (source, inbound_id),
    ).rowcount


def opt_back_in(conn: psycopg.Connection, channel: str, address: str) -> int:
    """START: this address hears from us again, and the holds its replies caused are lifted."""
    removed = conn.execute(
        "DELETE FROM ops.opt_outs WHERE channel = %s AND address = %s", (channel, address)
    ).rowcount
    return (
        removed
        + conn.execute(
            """
        DELETE FROM ops.opt_outs WHERE pending_review AND inbound_id IN (
          SELECT inbound_id FROM ops.inbound_messages WHERE from_address = %s
        )
        """,
            (address,),
        ).rowcount
    )
