"""Row checks, as SQL over a batch's freshly landed raw rows.

The contract spec (ingest/contract.py) says what each column must hold; this module turns it
into one set-based statement per table that moves every failing row from `raw` to
`ops.quarantine` with the failing columns and reasons, inside the batch's transaction. Set-based
checks keep ingest close to the speed of a bare COPY; `tests/test_validation.py` holds them to
the same verdicts as the pure-Python `ingest.contract.validate_row`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contract import (
    DATETIME_SHAPES,
    FALSE_VALUES,
    PATTERNS,
    RANGE_CHECKED,
    TRUE_VALUES,
    Column,
    known_offense_codes,
    shape_reason,
    table_spec,
)

# Natural keys within one batch; a second row with the same key is quarantined as a duplicate.
# Incidents include updated_at: a report re-exported with a newer updated_at is a new version.
BATCH_KEYS = {
    "incidents": ("report_number", "updated_at"),
    "offenses": ("report_number", "offense_seq"),
    "persons": ("report_number", "person_seq"),
    "cad_calls": ("call_number",),
}


@dataclass(frozen=True)
class Check:
    column: str
    bad_sql: str  # true when the row fails this check
    reason: str  # never includes a value


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")"


WS = "[ \\t\\n\\r\\f\\v]*"  # the blanks a value may carry around it (as ingest.contract.BLANK)


def _present(column: str) -> str:
    return f"coalesce({column} ~ '[^ \\t\\n\\r\\f\\v]', false)"


def _blank_or(body: str) -> str:
    """A regex for: nothing but blanks, or BODY with blanks around it (BODY unanchored)."""
    return _literal(f"^{WS}({body})?{WS}$")


def _body(kind: str) -> str:
    return PATTERNS[kind][1:-1]  # drop ^ and $


BLANKS = "E' \\t\\n\\r\\f\\v'"


def trimmed(column: str) -> str:
    """SQL for a value without the blanks around it (ingest.contract.BLANK)."""
    return f"btrim({column}, {BLANKS})"


def _digits_as_nine(value: str) -> str:
    return f"translate({value}, '0123456789', '9999999999')"


def _fast_ok(column: Column) -> str | None:
    """A cheap test on the raw value that implies the full check passes (never the reverse).

    Clean exports take this path for almost every cell; only cells it does not vouch for pay
    for the full, trimmed check."""
    name = column.name
    match column.kind:
        case "datetime":
            # The common shape, e.g. 2025-03-04T14:22:00, digits where digits belong.
            return (
                f"({name} LIKE '____-__-__T__:__:__' AND translate({name}, '0123456789', '') = '--T::'"
                f" AND substr({name}, 12, 2) <> '24' AND substr({name}, 18, 2) <> '60'"
                f" AND ops.is_timestamp({name}))"
            )
        case "date":
            return (
                f"({name} LIKE '____-__-__' AND translate({name}, '0123456789', '') = '--'"
                f" AND ops.is_date({name}))"
            )
        case "seq":
            return f"({name} <> '' AND left({name}, 1) <> '0' AND length({name}) <= 9 AND translate({name}, '0123456789', '') = '')"
        case "age":
            return f"({name} <> '' AND length({name}) <= 3 AND translate({name}, '0123456789', '') = '')"
        case "boolean":
            return f"{name} IN {_in_list(_cased(TRUE_VALUES + FALSE_VALUES))}"
        case "choice":
            return f"{name} IN {_in_list(_cased(column.choices))}"
        case "nibrs_code":
            return f"{name} IN {_in_list(_cased(known_offense_codes()))}"
        case "language":  # two ASCII letters
            return f"(length({name}) = 2 AND translate(lower({name}), 'abcdefghijklmnopqrstuvwxyz', '') = '')"
        case "seq_list":  # one offense number
            return f"({name} <> '' AND length({name}) <= 9 AND translate({name}, '0123456789', '') = '')"
    return None


def _required_missing(column: str) -> str:
    """True when the cell holds nothing but blanks; a printable first character settles it fast."""
    return f"(CASE WHEN ascii({column}) > 32 THEN false ELSE NOT {_present(column)} END)"


def _cased(values: tuple[str, ...]) -> tuple[str, ...]:
    """Each value as exports usually write it: lower, upper and capitalised."""
    return tuple(sorted({v for value in values for v in (value.lower(), value.upper(), value.capitalize())}))


def _shape_bad(column: Column) -> str | None:
    """SQL that is true when a present value lacks the column's shape; None for free text.

    Written for speed over a million rows: a fast test on the raw value first, and the full
    check on the trimmed value only where the fast test does not vouch for the cell
    (tests/test_validation.py holds the result to the Python verdicts)."""
    full = _full_shape_bad(column)
    fast = _fast_ok(column)
    if full is None or fast is None:
        return full
    return f"(CASE WHEN {column.name} IS NULL OR {fast} THEN false ELSE {full} END)"


def _full_shape_bad(column: Column) -> str | None:
    name, value = column.name, trimmed(column.name)
    match column.kind:
        case "text":
            return None
        case "datetime":
            return (
                f"({_present(name)} AND NOT ({_digits_as_nine(value)} = ANY({_array(DATETIME_SHAPES)})"
                f" AND ops.is_timestamp({value}) AND {_clock_in_range(value)} AND {_offset_in_range(value)}))"
            )
        case "date":
            return f"({_present(name)} AND NOT ({_digits_as_nine(value)} = '9999-99-99' AND ops.is_date({value})))"
        case "seq":
            digits = f"ltrim({value}, '0')"
            return (
                f"({_present(name)} AND NOT (translate({value}, '0123456789', '') = ''"
                f" AND {digits} <> '' AND length({digits}) <= 9))"
            )
        case "age":
            return f"({_present(name)} AND NOT (translate({value}, '0123456789', '') = '' AND length({value}) <= 3))"
        case "boolean":
            return f"({_present(name)} AND lower({value}) NOT IN {_in_list(TRUE_VALUES + FALSE_VALUES)})"
        case "choice":
            return f"({_present(name)} AND lower({value}) NOT IN {_in_list(column.choices)})"
        case "nibrs_code":
            return f"({_present(name)} AND upper({value}) NOT IN {_in_list(known_offense_codes())})"
        case _:
            return f"{name} !~ {_blank_or(_body(column.kind))}"


def _array(values) -> str:
    return "ARRAY[" + ", ".join(_literal(v) for v in sorted(values)) + "]"


def _clock_in_range(value: str) -> str:
    """PostgreSQL reads 24:00 and second 60 as the next minute or day; Python refuses both."""
    seconds = f"(substr({value}, 17, 1) <> ':' OR substr({value}, 18, 2) < '60')"
    return f"(substr({value}, 12, 2) < '24' AND {seconds})"


def _offset_in_range(value: str) -> str:
    """PostgreSQL and Python agree on offsets up to 15:59 from UTC; refuse larger ones alike."""
    hours = f"substring({value} from '[+-]([0-9]{{2}}):?[0-9]{{0,2}}$')::int < 16"
    minutes = f"coalesce(substring({value} from '[+-][0-9]{{2}}:?([0-9]{{2}})$')::int < 60, true)"
    return f"coalesce({hours} AND {minutes}, true)"


def _shape_ok(column: Column) -> str | None:
    """The opposite of _shape_bad, for a present value (used by tests)."""
    bad = _shape_bad(column)
    return None if bad is None else f"NOT coalesce({bad}, false)"


def checks(table: str, unavailable: frozenset[str] = frozenset()) -> list[Check]:
    """Every check for one contract table, in contract column order."""
    found: list[Check] = []
    # A NIBRS delete carries only the report number and when it was deleted.
    only_for_live = " AND record_action IS NULL" if table == "incidents" else ""
    always = {"report_number", "updated_at"}
    for column in table_spec(table).columns:
        name = column.name
        if column.required and name not in unavailable:
            guard = "" if name in always else only_for_live
            found.append(Check(name, f"({_required_missing(name)}{guard})", f"{name} is required"))
        shape_bad = _shape_bad(column)
        if shape_bad:
            found.append(Check(name, f"coalesce({shape_bad}, false)", shape_reason(column)))
    if table == "persons":
        found.append(
            Check(
                "victim_type",
                f"(role ~* {_blank_or('victim')} AND {_present('role')} AND NOT {_present('victim_type')})",
                "victim_type is required when role is victim",
            )
        )
    return found


def quarantine_invalid_sql(table: str, unavailable: frozenset[str] = frozenset()) -> str:
    """Move the batch's failing rows (parameter: batch_id) to ops.quarantine; returns the count."""
    return _move_to_quarantine_sql(table, checks(table, unavailable))


def _move_to_quarantine_sql(table: str, table_checks: list[Check]) -> str:
    """One statement: the batch's rows failing any check leave raw for ops.quarantine, with the
    first failing column and every reason."""
    any_bad = " OR ".join(check.bad_sql for check in table_checks)
    first_column = ", ".join(f"CASE WHEN {c.bad_sql} THEN {_literal(c.column)} END" for c in table_checks)
    reasons = ", ".join(f"CASE WHEN {c.bad_sql} THEN {_literal(c.reason)} END" for c in table_checks)
    return f"""
        WITH bad AS (
          DELETE FROM raw.{table} AS r
          WHERE r.batch_id = %(batch_id)s AND ({any_bad})
          RETURNING r.*
        )
        INSERT INTO ops.quarantine (batch_id, table_name, row_number, column_name, reason, raw_row)
        SELECT batch_id, {_literal(table)}, row_number,
               coalesce({first_column}),
               concat_ws('; ', {reasons}),
               to_jsonb(bad) - 'batch_id' - 'row_number'
        FROM bad
    """


def quarantine_duplicates_sql(table: str) -> str:
    """Move the second and later rows with the same natural key in one batch to quarantine.

    Duplicate keys are found by a hash aggregate first (cheap), then only their rows are ranked."""
    columns = BATCH_KEYS[table]
    keys = ", ".join(trimmed(c) for c in columns)
    key_match = " AND ".join(f"{trimmed('r.' + c)} = d.k{i}" for i, c in enumerate(columns))
    key_names = ", ".join(f"k{i}" for i in range(len(columns)))
    # ctid tells rows apart even when they share a row number (JSON Lines children do).
    return f"""
        WITH duplicated AS (
          SELECT {keys} FROM raw.{table} WHERE batch_id = %(batch_id)s
          GROUP BY {keys} HAVING count(*) > 1
        ),
        ranked AS (
          SELECT r.ctid AS row_id,
                 first_value(r.row_number) OVER same_key AS first_row,
                 rank() OVER same_key AS position
          FROM raw.{table} r JOIN duplicated AS d({key_names}) ON {key_match}
          WHERE r.batch_id = %(batch_id)s
          WINDOW same_key AS (PARTITION BY {", ".join(f"d.k{i}" for i in range(len(columns)))}
                              ORDER BY r.row_number, r.ctid)
        ),
        bad AS (
          DELETE FROM raw.{table} AS r USING ranked
          WHERE r.ctid = ranked.row_id AND ranked.position > 1
          RETURNING r.*, ranked.first_row
        )
        INSERT INTO ops.quarantine (batch_id, table_name, row_number, column_name, reason, raw_row)
        SELECT batch_id, {_literal(table)}, row_number, {_literal(columns[0])},
               'duplicate of row ' || first_row || ' ({" + ".join(columns)})',
               to_jsonb(bad) - 'batch_id' - 'row_number' - 'first_row'
        FROM bad
    """


def quarantine_out_of_range_sql(table: str) -> str:
    """Move the batch's rows whose checked date-times (RANGE_CHECKED) lie before %(earliest)s or
    after %(latest)s to quarantine: one impossible date is one bad row, never a failed batch.
    Runs after the shape checks, so every present value parses. "" for a table with none."""
    range_checks = [
        Check(
            column,
            f"({_present(column)} AND NOT {trimmed(column)}::timestamptz"
            f" BETWEEN %(earliest)s::timestamptz AND %(latest)s::timestamptz)",
            f"{column} is before 1990 or more than a day in the future",
        )
        for column in RANGE_CHECKED.get(table, ())
    ]
    return _move_to_quarantine_sql(table, range_checks) if range_checks else ""
