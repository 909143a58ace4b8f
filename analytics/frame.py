"""The evaluation's input: one row per randomized victim, checked and typed.

The same columns come from the `marts.fct_evaluation_victims` mart or from a CSV an analyst
hands over (`vnotify evaluate --from-csv`). A file with a problem is rejected whole, with a
message naming the column and the first rows at fault; nothing is silently dropped.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd

FLAG_COLUMNS = (
    "opened",
    "invited",
    "responded",
    "prefers_text",
    "prefers_email",
    "prefers_letter",
    "prefers_phone",
    "likely_to_call",
    "wrote_free_text",
)
RATING_COLUMNS = ("service_rating", "trust_rating")
TEXT_COLUMNS = ("victim_key", "arm", "division", "offense_group")
COLUMNS = (*TEXT_COLUMNS, *FLAG_COLUMNS[:3], "seconds_on_survey", *FLAG_COLUMNS[3:], *RATING_COLUMNS)

_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}
_SHOWN_ROWS = 5


class EvaluationInputError(ValueError):
    """The input cannot be evaluated as it is; the message says which column and rows."""


def _rows(mask: np.ndarray) -> str:
    # Row numbers as in the file: the header is line 1.
    lines = (np.flatnonzero(mask)[:_SHOWN_ROWS] + 2).tolist()
    more = int(mask.sum()) - len(lines)
    return ", ".join(map(str, lines)) + (f" and {more} more" if more > 0 else "")


def _flags(column: pd.Series, name: str) -> np.ndarray:
    """0/1, true/false, yes/no or blank (unknown) as 1.0/0.0/NaN."""
    if column.dtype == bool:
        return column.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float)
        bad = ~np.isnan(values) & ~np.isin(values, (0.0, 1.0))
    else:
        text = column.astype("string").str.strip().str.lower()
        values = np.where(text.isin(_TRUE), 1.0, np.where(text.isin(_FALSE), 0.0, np.nan))
        bad = (text.notna() & (text != "") & ~text.isin(_TRUE | _FALSE)).to_numpy(dtype=bool)
    if bad.any():
        raise EvaluationInputError(f"column {name!r} must be 0 or 1 (or blank); rows {_rows(bad)} are not")
    return values


def _numbers(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    given = column.notna().to_numpy() & (column.astype("string").str.strip() != "").fillna(False).to_numpy()
    bad = given & np.isnan(values)
    if bad.any():
        raise EvaluationInputError(f"column {name!r} must be a number (or blank); rows {_rows(bad)} are not")
    return values


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with checked types: flags and ratings as floats (NaN = not answered)."""
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise EvaluationInputError(f"missing column(s): {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    keys = frame["victim_key"].astype("string").str.strip()
    blank = (keys.isna() | (keys == "")).to_numpy(dtype=bool)
    if blank.any():
        raise EvaluationInputError(f"column 'victim_key' is blank in rows {_rows(blank)}")
    repeated = keys.duplicated(keep="first").to_numpy(dtype=bool)
    if repeated.any():
        raise EvaluationInputError(
            f"column 'victim_key' repeats in rows {_rows(repeated)}: one row per victim"
        )
    out["victim_key"] = keys.to_numpy(dtype=object)
    arm = frame["arm"].astype("string").str.strip().str.upper()
    bad_arm = ~arm.isin(("A", "B")).fillna(False).to_numpy(dtype=bool)
    if bad_arm.any():
        raise EvaluationInputError(
            f"column 'arm' must be A (notified) or B (holdout); rows {_rows(bad_arm)} are not"
        )
    out["arm"] = arm.to_numpy(dtype=object)
    for name in ("division", "offense_group"):
        out[name] = (
            frame[name].astype("string").str.strip().fillna("Unknown").replace("", "Unknown").to_numpy(object)
        )
    for name in FLAG_COLUMNS:
        out[name] = _flags(frame[name], name)
    seconds = _numbers(frame["seconds_on_survey"], "seconds_on_survey")
    if (seconds < 0).any():
        raise EvaluationInputError(f"column 'seconds_on_survey' is negative in rows {_rows(seconds < 0)}")
    out["seconds_on_survey"] = seconds
    for name in RATING_COLUMNS:
        values = _numbers(frame[name], name)
        bad = ~np.isnan(values) & ~np.isin(values, (1.0, 2.0, 3.0, 4.0, 5.0))
        if bad.any():
            raise EvaluationInputError(
                f"column {name!r} must be a whole number 1 to 5; rows {_rows(bad)} are not"
            )
        out[name] = values
    answered = ~np.isnan(out["responded"].to_numpy())
    out["responded"] = np.where(answered, out["responded"], 0.0)
    not_invited_but_answered = (out["responded"] == 1) & (out["invited"] == 0)
    if not_invited_but_answered.any():
        raise EvaluationInputError(
            f"rows {_rows(not_invited_but_answered.to_numpy())} responded without being invited (invited = 0)"
        )
    holdout_opened = (out["arm"] == "B") & (out["opened"] == 1)
    if holdout_opened.any():
        raise EvaluationInputError(
            f"rows {_rows(holdout_opened.to_numpy())} are in the holdout (B) but opened a notice: "
            "the holdout is never sent one"
        )
    return out


def read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    """A CSV of randomized victims, prepared, and the SHA-256 of the file's bytes."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise EvaluationInputError(f"cannot read {path}: {error.strerror}") from None
    try:
        # Text columns as text; the rest as pandas infers them (numbers parse fast; a column
        # holding words such as "yes" stays text and is checked value by value).
        frame = pd.read_csv(
            io.BytesIO(data),
            dtype=dict.fromkeys(TEXT_COLUMNS, str),
            keep_default_na=False,
            na_values=[""],
            encoding="utf-8-sig",
            low_memory=False,
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise EvaluationInputError(f"{Path(path).name} is not a readable CSV file: {error}") from None
    if frame.empty:
        raise EvaluationInputError(f"{Path(path).name} has no rows")
    return prepare(frame), hashlib.sha256(data).hexdigest()


def frame_sha256(frame: pd.DataFrame) -> str:
    """A fingerprint of a prepared frame's content (row order included)."""
    digest = hashlib.sha256()
    digest.update(",".join(frame.columns).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()
