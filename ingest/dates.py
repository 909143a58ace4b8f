"""Whether a column's dates prove its date format, or could be day and month the other way.

`03/04/2025` reads as 4 March or as 3 April. A file whose dates all have a day of 12 or less
cannot show which; a file where some dates fit only with day and month swapped shows the format
is wrong, and every date it did read is suspect. Nothing here reads a file: the mapping reader
feeds each value in (`DateTally.add`), then asks for the problems (`date_problems`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

_MARK = "\0"


def swapped_format(fmt: str) -> str | None:
    """The format with day and month the other way round; None when the format does not have
    both, or puts the year first (`%Y-%m-%d` is read year, month, day by every convention)."""
    if "%d" not in fmt or "%m" not in fmt:
        return None
    year = min((fmt.index(y) for y in ("%Y", "%y") if y in fmt), default=len(fmt))
    if year < fmt.index("%d") and year < fmt.index("%m"):
        return None
    return fmt.replace("%d", _MARK).replace("%m", "%d").replace(_MARK, "%m")


def day_month_order(fmt: str) -> str:
    """`month-first` or `day-first`: what a date that cannot be swapped proves for every format
    of the file written the same way round."""
    return "month-first" if fmt.index("%m") < fmt.index("%d") else "day-first"


def _parse(value: str, fmt: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, fmt)
    except ValueError:
        return None


@dataclass
class DateTally:
    """What one column's values say about its formats."""

    formats: tuple[str, ...]
    values: int = 0
    fits: Counter[str] = field(default_factory=Counter)  # format -> values it read (first fit)
    unread: int = 0  # values no format reads
    decisive: Counter[str] = field(default_factory=Counter)  # day-month order -> values that prove it
    ambiguous: Counter[str] = field(default_factory=Counter)  # read, and as well the other way
    first_ambiguous_row: int | None = None
    swapped_only: Counter[str] = field(default_factory=Counter)  # format whose swap alone reads it
    first_swapped_row: int | None = None

    def add(self, value: str, row_number: int) -> None:
        self.values += 1
        for fmt in self.formats:
            read = _parse(value, fmt)
            if read is None:
                continue
            self.fits[fmt] += 1
            other = swapped_format(fmt)
            swapped = _parse(value, other) if other else None
            if other and swapped is not None and swapped != read:
                self.ambiguous[fmt] += 1
                self.first_ambiguous_row = self.first_ambiguous_row or row_number
            elif other and swapped is None:
                self.decisive[day_month_order(fmt)] += 1
            return
        self.unread += 1
        for fmt in self.formats:
            other = swapped_format(fmt)
            if other and _parse(value, other) is not None:
                self.swapped_only[fmt] += 1
                self.first_swapped_row = self.first_swapped_row or row_number
                return

    def share(self, fmt: str) -> float:
        return self.fits[fmt] / self.values if self.values else 0.0


def date_problems(
    column: str, tally: DateTally, proven: Counter[str], checked: bool, fix_at: str
) -> list[str]:
    """Why the file must not load with this column's formats (empty when it may). `proven`
    counts, over the whole file, the values that prove each day-month order (another column
    written the same way round may prove this one's format);
    `checked` is the mapping's date_format_checked; `fix_at` names the place in the mapping."""
    problems = []
    for fmt, rows in tally.swapped_only.items():
        problems.append(
            f"{column}: {rows:,} value(s) (first at data row {tally.first_swapped_row}) fit date_format "
            f"{fmt!r} only with day and month swapped, so the dates it did read may be swapped too. "
            f"Fix {fix_at}: date_format {swapped_format(fmt)!r}"
        )
    unproven = [fmt for fmt in tally.ambiguous if not proven[day_month_order(fmt)]]
    if unproven and not problems and not checked:
        fmt = unproven[0]
        problems.append(
            f"{column}: every date (first at data row {tally.first_ambiguous_row}) reads as well with day "
            f"and month swapped (no day above 12), so this file cannot show that date_format {fmt!r} is "
            f"right. Check one date against the RMS; if {fmt!r} is right, add `date_format_checked: true` "
            f"to {fix_at}, else use {swapped_format(fmt)!r}"
        )
    return problems
