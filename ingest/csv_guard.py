"""CSV rows that cannot swallow a file.

One unbalanced quote (`"Smith, J.` on line 3) makes every later line part of one quoted field:
the reader sees three rows where the export has a thousand, and the rest of the file vanishes
into a cell. A real multi-line value (an address, a narrative) spans lines too, but its lines do
not look like rows. `guarded_rows` rejects the file whole when a value runs over lines that carry
as many delimiters as a row of the file (the header) has, naming the line the quote opened on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from ingest.records import FileRejected


def guarded_rows(
    lines: Iterable[str], name: str, delimiter: str = ",", **reader_options
) -> Iterator[list[str]]:
    """The rows of a CSV text, the header first, as csv.reader gives them. FileRejected when a
    quoted value swallows lines that look like rows, or the CSV cannot be read."""
    reader = csv.reader(lines, delimiter=delimiter, **reader_options)
    width: int | None = None
    start = 1
    try:
        for row in reader:
            if width is None and row:
                width = len(row)
            if reader.line_num > start and width and width > 1:
                _refuse_swallowed(row, start, reader.line_num, width, delimiter, name)
            yield row
            start = reader.line_num + 1
    except csv.Error as error:
        raise FileRejected(f"{name}: unreadable CSV near line {reader.line_num}: {error}") from None


def _refuse_swallowed(row: list[str], start: int, end: int, width: int, delimiter: str, name: str) -> None:
    for cell in row:
        continued = cell.splitlines()[1:]
        if any(line.count(delimiter) >= width - 1 for line in continued):
            raise FileRejected(
                f"{name}: a quoted value that opens on line {start} runs on to line {end} over lines "
                f"that look like rows of their own: check the quotes on line {start} (a quote that "
                "is never closed hides every row after it)"
            )


def copied_rows_match_lines(newlines: int, rows: int, ends_with_newline: bool) -> bool:
    """Whether a COPY that read `rows` data rows saw one per line of the file (header aside).
    When it did not, a value spans lines, or COPY read a stray quote differently from the csv
    module: the file is read again row by row, through `guarded_rows`."""
    lines = newlines + (0 if ends_with_newline else 1)
    return rows == lines - 1
