"""An agency's own CSV read into the export contract through a declarative mapping file.

The mapping (YAML, documented in docs/mapping.md) says, for each contract table, where every
output column takes its value from: a source column, a constant or a template, then optional
steps (split, value map, division lookup, date parsing, case). Exports with one row per
offense per victim (city open-data "crime incidents" layouts) are split into incidents,
offenses and persons by per-table keys: each entity is emitted once, at the row where it
first appears, with offense/person sequence numbers counted per report in order of first
appearance, and each victim linked to the offenses of the rows it appears on.

Rows stream: de-duplication keeps the keys it has seen, never the rows. Linking victims to
offenses needs the whole file, so when a mapping asks for it the file is read twice: a first
pass collects person key -> offense sequence numbers, the second emits the records.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
import string
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ingest.contract import table_spec
from ingest.csv_guard import guarded_rows
from ingest.dates import DateTally, date_problems
from ingest.records import CONTRACT_TABLES, ContractTable, FileRejected, Record
from vnotify.config import AgencyConfig, _dotted, _field_lines, _line_for, load_config

# strptime directives that carry a time of day: a contract date-time needs one, because a bare
# date would silently become midnight.
TIME_DIRECTIVES = ("%H", "%I", "%X", "%c")
# Delimiters recognised when a header parses to a single column.
SUSPECT_DELIMITERS = {";": "';'", "\t": "tab", "|": "'|'", ",": "','"}
# The column that says which report (or call) a record belongs to: sequence numbers count
# within it, and a record without it is never merged with another.
IDENTITY_COLUMN: dict[str, str] = {
    "incidents": "report_number",
    "offenses": "report_number",
    "persons": "report_number",
    "cad_calls": "call_number",
}


class MappingError(ValueError):
    """A mapping file that cannot be used; the message names file, line and field."""


# ---------------------------------------------------------------------------------------------
# The mapping file


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: Any) -> Any:
    """Let a single item stand for a one-item list (`key: Case Number`)."""
    return [value] if isinstance(value, str | int) else value


class CsvOptions(_Strict):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    encoding: str = "utf-8"
    # Cell texts that mean "empty" (compared trimmed, ignoring case), e.g. NULL, N/A, UNKNOWN.
    null_values: list[str] = Field(default_factory=list)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, cp1252, latin-1)") from None
        return value

    @property
    def python_encoding(self) -> str:
        # utf-8-sig reads plain UTF-8 too, and drops the BOM some exporters write.
        return "utf-8-sig" if codecs.lookup(self.encoding).name == "utf-8" else self.encoding

    @property
    def null_set(self) -> frozenset[str]:
        return frozenset(value.strip().casefold() for value in self.null_values)


class Split(_Strict):
    on: str = Field(min_length=1)
    take: list[int] = Field(min_length=1)
    join: str = " "

    _take_list = field_validator("take", mode="before")(_as_list)


class DateTimeSpec(_Strict):
    """A date-time held in two source columns: the cells joined by one space, read with the
    first of `formats` that fits (each a format for the joined text, with a time)."""

    date: str = Field(min_length=1)
    time: str = Field(min_length=1)
    formats: list[str] = Field(min_length=1)

    @field_validator("formats", mode="before")
    @classmethod
    def _format_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("formats")
    @classmethod
    def _usable(cls, formats: list[str]) -> list[str]:
        return _usable_strptime_formats(formats)


def _usable_strptime_formats(formats: list[str]) -> list[str]:
    for fmt in formats:
        sample = dt.datetime(2001, 2, 3, 4, 5, 6)
        try:
            dt.datetime.strptime(sample.strftime(fmt), fmt)
        except ValueError:
            raise ValueError(f"{fmt!r} is not a strptime format such as '%m/%d/%Y %I:%M:%S %p'") from None
    return formats


class ValueSpec(_Strict):
    # Where the value comes from: exactly one of these.
    column: str | None = Field(default=None, min_length=1)
    constant: str | None = None
    template: str | None = None
    coalesce: list[str] | None = Field(default=None, min_length=1)
    datetime: DateTimeSpec | None = None
    sequence: bool = False
    linked_offenses: bool = False
    # Steps, applied in this order to a non-empty value.
    trim: bool = True
    split: Split | None = None
    value_map: dict[str, str | None] | None = None
    default: str | None = None
    division_from_config: bool = False
    date_format: list[str] | None = None
    # Set after checking a date against the RMS: accepts a date_format the file's own dates
    # cannot prove (every day and month 12 or less).
    date_format_checked: bool = False
    upper: bool = False
    lower: bool = False

    @model_validator(mode="before")
    @classmethod
    def _column_shorthand(cls, value: Any) -> Any:
        # `officer_id: Badge` is short for `officer_id: {column: Badge}`.
        return {"column": value} if isinstance(value, str) else value

    @field_validator("date_format", mode="before")
    @classmethod
    def _date_format_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("date_format")
    @classmethod
    def _usable_formats(cls, formats: list[str] | None) -> list[str] | None:
        return _usable_strptime_formats(formats) if formats else formats

    @field_validator("coalesce", mode="before")
    @classmethod
    def _coalesce_list(cls, value: Any) -> Any:
        return _as_list(value)

    @field_validator("template")
    @classmethod
    def _usable_template(cls, template: str | None) -> str | None:
        if template is not None:
            template_columns(template)
        return template

    @field_validator("value_map")
    @classmethod
    def _distinct_keys(cls, value_map: dict[str, str | None] | None) -> dict[str, str | None] | None:
        folded: dict[str, str] = {}
        for key in value_map or {}:
            fold = key.strip().casefold()
            if fold in folded:
                raise ValueError(f"keys {folded[fold]!r} and {key!r} are the same ignoring case")
            folded[fold] = key
        return value_map

    @model_validator(mode="after")
    def _consistent(self) -> ValueSpec:
        sources = [
            name
            for name, given in (
                ("column", self.column is not None),
                ("constant", self.constant is not None),
                ("template", self.template is not None),
                ("coalesce", self.coalesce is not None),
                ("datetime", self.datetime is not None),
                ("sequence", self.sequence),
                ("linked_offenses", self.linked_offenses),
            )
            if given
        ]
        if len(sources) != 1:
            found = ", ".join(sources) or "none"
            raise ValueError(
                "give exactly one of column, constant, template, coalesce, datetime, sequence, "
                f"linked_offenses (found: {found})"
            )
        if self.datetime is not None and self.date_format:
            raise ValueError("datetime has its own formats; remove date_format")
        if self.date_format_checked and not self.formats:
            raise ValueError("date_format_checked goes with date_format (or datetime)")
        generated = self.sequence or self.linked_offenses
        steps = (
            self.split,
            self.value_map,
            self.date_format,
            self.division_from_config,
            self.upper,
            self.lower,
        )
        if generated and any(steps):
            raise ValueError(f"{sources[0]} takes no other options")
        if self.default is not None and self.value_map is None:
            raise ValueError("default applies to a value_map miss; add value_map or remove default")
        if self.value_map is not None and self.division_from_config:
            raise ValueError("use value_map or division_from_config, not both")
        if self.upper and self.lower:
            raise ValueError("use upper or lower, not both")
        return self

    def source_columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        if self.template is not None:
            return template_columns(self.template)
        if self.coalesce is not None:
            return list(self.coalesce)
        if self.datetime is not None:
            return [self.datetime.date, self.datetime.time]
        return []

    @property
    def formats(self) -> list[str]:
        """The strptime formats the value is read with (date_format, or datetime's)."""
        return self.datetime.formats if self.datetime else self.date_format or []


class TableMapping(_Strict):
    # Source columns whose values identify one entity of this table (de-duplication).
    key: list[str] = Field(default_factory=list)
    # Source columns: a row where all are empty has no entity of this table.
    skip_when_empty: list[str] = Field(default_factory=list)
    columns: dict[str, ValueSpec] = Field(min_length=1)

    _key_list = field_validator("key", "skip_when_empty", mode="before")(_as_list)

    def source_columns(self) -> list[str]:
        named = [*self.key, *self.skip_when_empty]
        for spec in self.columns.values():
            named.extend(spec.source_columns())
        return named


class Mapping(_Strict):
    version: int = 1
    description: str | None = None
    csv: CsvOptions = CsvOptions()
    # Source columns no output column uses are kept in `extra` of the first table's record.
    keep_unmapped: bool = False
    # Contract columns the export cannot carry (passed on as the Source's unavailable_columns).
    unavailable_columns: list[str] = Field(default_factory=list)
    tables: dict[ContractTable, TableMapping] = Field(min_length=1)

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value != 1:
            raise ValueError("only mapping version 1 exists")
        return value

    @property
    def path(self) -> Path | None:
        """The file the mapping was loaded from, when it was loaded from one."""
        return self._path

    def source_columns(self) -> list[str]:
        """Every source column the mapping reads, in the order first named, once each."""
        named = [name for table in self.tables.values() for name in table.source_columns()]
        return list(dict.fromkeys(named))

    def needs_division_config(self) -> bool:
        return any(
            spec.division_from_config for table in self.tables.values() for spec in table.columns.values()
        )


def template_columns(template: str) -> list[str]:
    """The source columns a template names; ValueError when it is not a plain `{Column}` template."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ValueError(f"template is malformed ({error}); write literal braces as {{{{ and }}}}") from None
    columns = []
    for _literal, name, format_spec, conversion in parsed:
        if name is None:
            continue
        if not name.strip():
            raise ValueError("template has an empty {}; name a source column inside the braces")
        if format_spec or conversion:
            raise ValueError("template fields take no format spec or conversion (no ':' or '!')")
        columns.append(name)
    return columns


def _semantic_problems(mapping: Mapping) -> list[tuple[tuple, str]]:
    """Rules that need the contract: which columns exist, which are required, where seqs go."""
    problems: list[tuple[tuple, str]] = []
    mapped_anywhere: set[str] = set()
    for table_name, table in mapping.tables.items():
        contract = table_spec(table_name)
        kinds = {column.name: column.kind for column in contract.columns}
        base = ("tables", table_name, "columns")
        for column_name, spec in table.columns.items():
            mapped_anywhere.add(column_name)
            loc = (*base, column_name)
            if column_name not in kinds:
                problems.append((loc, f"not a column of {table_name}; expected one of {', '.join(kinds)}"))
                continue
            problems.extend(_column_problems(mapping, table_name, column_name, kinds[column_name], spec, loc))
        for required in contract.required_columns:
            if required not in table.columns and required not in mapping.unavailable_columns:
                problems.append(
                    (
                        base,
                        f"{required} is required in {table_name}; map it, or list it under "
                        "unavailable_columns when the export cannot carry it",
                    )
                )
    known = {column.name for name in CONTRACT_TABLES for column in table_spec(name).columns}
    for index, name in enumerate(mapping.unavailable_columns):
        if name not in known:
            problems.append((("unavailable_columns", index), f"{name!r} is not a contract column"))
        elif name in mapped_anywhere:
            problems.append((("unavailable_columns", index), f"{name} is mapped, so it is not unavailable"))
    return problems


def _column_problems(
    mapping: Mapping, table_name: str, column_name: str, kind: str, spec: ValueSpec, loc: tuple
) -> list[tuple[tuple, str]]:
    problems: list[tuple[tuple, str]] = []
    if spec.sequence and kind != "seq":
        problems.append(((*loc, "sequence"), "sequence: true is only for offense_seq and person_seq"))
    if spec.linked_offenses:
        if (table_name, column_name) != ("persons", "offense_seqs"):
            problems.append(
                ((*loc, "linked_offenses"), "linked_offenses: true is only for persons.offense_seqs")
            )
        offenses = mapping.tables.get("offenses")
        persons = mapping.tables.get("persons")
        offense_seq = offenses.columns.get("offense_seq") if offenses else None
        if not (offenses and offenses.key and persons and persons.key):
            problems.append(
                (
                    (*loc, "linked_offenses"),
                    "linked_offenses needs an offenses table and a key on offenses and persons",
                )
            )
        elif not (offense_seq and offense_seq.sequence):
            problems.append(
                ((*loc, "linked_offenses"), "linked_offenses needs offenses.offense_seq: {sequence: true}")
            )
    if spec.datetime is not None and kind != "datetime":
        problems.append(((*loc, "datetime"), f"{column_name} is not a date-time column"))
    if spec.formats:
        where = ("datetime", "formats") if spec.datetime else ("date_format",)
        if kind not in ("datetime", "date"):
            problems.append(((*loc, *where), f"{column_name} is not a date or date-time column"))
        elif kind == "datetime":
            for index, fmt in enumerate(spec.formats):
                if not any(directive in fmt for directive in TIME_DIRECTIVES):
                    problems.append(
                        (
                            (*loc, *where, index),
                            f"{column_name} is a date-time; the format needs a time (%H or %I), "
                            "a bare date would be read as midnight",
                        )
                    )
    if spec.division_from_config and column_name != "division":
        problems.append(((*loc, "division_from_config"), "division_from_config is only for division columns"))
    return problems


class _StringLoader(yaml.SafeLoader):
    """YAML where every plain scalar is text, except `null`, `~` and an empty value.

    Mapping files are full of codes: `01`, `yes`, `1.0`, `on` and `NULL` must stay as written
    (YAML 1.1 would make them 1, True, 1.0, True and None). The model turns `true`/`2` into
    bool/int where a field wants one.
    """


_StringLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag.endswith(":merge")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StringLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|)$"), ["~", "n", ""])


def _clean_loc(loc: tuple, lines: dict[tuple, int]) -> tuple:
    """Drop pydantic's internal loc parts (`[key]`, validator names); keep a missing field's name."""
    kept: tuple = ()
    for index, part in enumerate(loc):
        candidate = (*kept, part)
        last = index == len(loc) - 1
        if candidate in lines or (last and isinstance(part, str) and part != "[key]"):
            kept = candidate
    return kept


def _duplicate_keys(node: yaml.Node | None, path: tuple = ()) -> Iterator[tuple[int, tuple]]:
    """(line, key path) of keys repeated in one YAML mapping: YAML would silently keep the
    last, which in a value_map quietly changes where a code goes."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if key_node.value in seen:
                yield key_node.start_mark.line + 1, (*path, key_node.value)
            seen.add(key_node.value)
            yield from _duplicate_keys(value_node, (*path, key_node.value))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index))


def parse_mapping(text: str, source: str = "<mapping>") -> Mapping:
    try:
        root = yaml.compose(text, Loader=_StringLoader)
        data: Any = yaml.load(text, Loader=_StringLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(error, "problem", None) or str(error)
        raise MappingError(f"{source}:{line}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise MappingError(f"{source}:1: the file must be a YAML mapping with a `tables:` section")
    lines = _field_lines(root)
    duplicates = list(_duplicate_keys(root))
    if duplicates:
        raise MappingError(
            "\n".join(
                f"{source}:{line}: {_dotted(path)}: written twice (YAML would keep only the last)"
                for line, path in duplicates
            )
        )
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as error:
        problems = []
        for issue in error.errors(include_url=False, include_input=False):
            loc = _clean_loc(tuple(issue["loc"]), lines)
            message = issue["msg"].removeprefix("Value error, ")
            if issue["type"] == "extra_forbidden":
                message = "unknown field (check the spelling)"
            problems.append(f"{source}:{_line_for(loc, lines)}: {_dotted(loc)}: {message}")
        raise MappingError("\n".join(problems)) from None
    semantic = _semantic_problems(mapping)
    if semantic:
        raise MappingError(
            "\n".join(
                f"{source}:{_line_for(loc, lines)}: {_dotted(loc)}: {message}" for loc, message in semantic
            )
        )
    return mapping


def load_mapping(path: Path | str) -> Mapping:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MappingError(f"{path}: mapping file not found") from None
    mapping = parse_mapping(text, source=str(path))
    mapping._path = path
    return mapping


# ---------------------------------------------------------------------------------------------
# Values: small pure functions, composed per output column once the header is known

Row = list[str]
Getter = Callable[[Row], str | None]
Step = Callable[[str], str | None]


def cell(row: Row, position: int, nulls: frozenset[str], trim: bool = True) -> str | None:
    """A cell's text, or None when it is empty or one of the null values."""
    raw = row[position]
    stripped = raw.strip()
    if not stripped or stripped.casefold() in nulls:
        return None
    return stripped if trim else raw


def key_of(row: Row, positions: tuple[int, ...], nulls: frozenset[str]) -> tuple[str, ...]:
    """Key values compared trimmed and upper-cased, so `25-001 ` and `25-001` are one report."""
    parts = []
    for position in positions:  # a plain loop: this runs for every row of every table
        value = row[position].strip()
        parts.append("" if value.casefold() in nulls else value.upper())
    return tuple(parts)


def render_template(
    row: Row, pieces: tuple[tuple[str, int | None], ...], nulls: frozenset[str]
) -> str | None:
    """Literal text and cells; None when every cell is empty, so `" "` never stands for a name."""
    out: list[str] = []
    found = False
    for literal, position in pieces:
        out.append(literal)
        if position is not None:
            value = cell(row, position, nulls)
            if value is not None:
                found = True
                out.append(value)
    # Collapse the gaps an empty cell leaves ("Ana  Reyes" when a middle name is empty).
    return " ".join("".join(out).split()) if found else None


def split_take(value: str, on: str, take: list[int], join: str) -> str | None:
    """Parts `take` (0-based, negative from the end) of `value` split on `on`, joined."""
    parts = [part.strip() for part in value.split(on)]
    picked = [parts[index] for index in take if -len(parts) <= index < len(parts) and parts[index]]
    return join.join(picked) or None


def look_up(value: str, table: dict[str, str | None], default: str | None) -> str | None:
    """`table` has case-folded keys; a miss gives `default` (None unless set)."""
    return table.get(value.strip().casefold(), default)


def iso_datetime(value: str, formats: tuple[str, ...], date_only: bool) -> str:
    """ISO 8601 text for the first format that fits; unchanged when none does (validation
    then quarantines the row, naming the column)."""
    for fmt in formats:
        try:
            parsed = dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return parsed.date().isoformat() if date_only else parsed.isoformat(timespec="seconds")
    return value


def _apply_steps(source: Getter, steps: tuple[Step, ...], row: Row) -> str | None:
    value = source(row)
    for step in steps:
        if value is None:
            return None
        value = step(value)
    return value


@dataclass(frozen=True)
class Header:
    names: tuple[str, ...]
    # Case-folded, trimmed name -> every position it occupies.
    positions: dict[str, tuple[int, ...]]

    @classmethod
    def parse(cls, row: Row) -> Header:
        names = tuple(name.strip().lstrip("\ufeff").strip() for name in row)
        positions: dict[str, tuple[int, ...]] = {}
        for index, name in enumerate(names):
            fold = name.casefold()
            positions[fold] = (*positions.get(fold, ()), index)
        return cls(names, positions)

    def position(self, name: str) -> int:
        return self.positions[name.strip().casefold()][0]


@dataclass(frozen=True)
class CompiledTable:
    name: ContractTable
    # Output columns in the order the mapping lists them.
    columns: tuple[str, ...]
    getters: dict[str, Getter]
    identity: Getter | None
    sequence_column: str | None
    links_column: str | None
    key_positions: tuple[int, ...]
    skip_positions: tuple[int, ...]


def compile_value(
    spec: ValueSpec,
    kind: str,
    header: Header,
    nulls: frozenset[str],
    config: AgencyConfig | None,
    with_dates: bool = True,
) -> Getter:
    """The value of one output column; with_dates=False stops before the date step (the text
    the date formats read, for the date checks)."""
    source: Getter
    if spec.column is not None:
        source = partial(_cell_getter, position=header.position(spec.column), nulls=nulls, trim=spec.trim)
    elif spec.template is not None:
        pieces = tuple(
            (literal, header.position(name) if name is not None else None)
            for literal, name, _spec, _conversion in string.Formatter().parse(spec.template)
        )
        source = partial(render_template, pieces=pieces, nulls=nulls)
    elif spec.coalesce is not None:
        positions = tuple(header.position(name) for name in spec.coalesce)
        source = partial(first_cell, positions=positions, nulls=nulls, trim=spec.trim)
    elif spec.datetime is not None:
        positions = (header.position(spec.datetime.date), header.position(spec.datetime.time))
        source = partial(date_and_time, positions=positions, nulls=nulls)
    else:
        constant = spec.constant if spec.constant and spec.constant.strip() else None
        source = partial(_constant, value=constant)
    steps: list[Step] = []
    if spec.split:
        steps.append(partial(split_take, on=spec.split.on, take=spec.split.take, join=spec.split.join))
    if spec.value_map is not None:
        table = {key.strip().casefold(): value for key, value in spec.value_map.items()}
        steps.append(partial(look_up, table=table, default=spec.default))
    if spec.division_from_config:
        assert config is not None, "division_from_config needs the agency config"
        steps.append(config.division_code)
    if spec.formats and with_dates:
        steps.append(partial(iso_datetime, formats=tuple(spec.formats), date_only=kind == "date"))
    if spec.upper:
        steps.append(str.upper)
    if spec.lower:
        steps.append(str.lower)
    return partial(_apply_steps, source, tuple(steps)) if steps else source


def _cell_getter(row: Row, position: int, nulls: frozenset[str], trim: bool) -> str | None:
    return cell(row, position, nulls, trim)


def first_cell(row: Row, positions: tuple[int, ...], nulls: frozenset[str], trim: bool = True) -> str | None:
    """The first non-empty of the cells (`coalesce`)."""
    for position in positions:
        value = cell(row, position, nulls, trim)
        if value is not None:
            return value
    return None


def date_and_time(row: Row, positions: tuple[int, int], nulls: frozenset[str]) -> str | None:
    """`datetime`: the date cell and the time cell joined by a space; the date alone when the
    time is empty (no date-time format fits it, so the row is quarantined, never midnight)."""
    date, time = (cell(row, position, nulls) for position in positions)
    if date is None:
        return None
    return f"{date} {time}" if time is not None else date


def _constant(_row: Row, value: str | None) -> str | None:
    return value


def compile_table(
    name: ContractTable,
    table: TableMapping,
    header: Header,
    nulls: frozenset[str],
    config: AgencyConfig | None,
) -> CompiledTable:
    kinds = {column.name: column.kind for column in table_spec(name).columns}
    getters: dict[str, Getter] = {}
    sequence_column = links_column = None
    for column_name, spec in table.columns.items():
        if spec.sequence:
            sequence_column = column_name
        elif spec.linked_offenses:
            links_column = column_name
        else:
            getters[column_name] = compile_value(spec, kinds[column_name], header, nulls, config)
    return CompiledTable(
        name=name,
        columns=tuple(table.columns),
        getters=getters,
        identity=getters.get(IDENTITY_COLUMN[name]),
        sequence_column=sequence_column,
        links_column=links_column,
        key_positions=tuple(header.position(column) for column in table.key),
        skip_positions=tuple(header.position(column) for column in table.skip_when_empty),
    )


class Identities:
    """The entities of one table seen so far, and the sequence number each got in its report."""

    def __init__(self, counts_sequence: bool) -> None:
        self._seq_by_key: dict[tuple[str, ...], int] = {}
        self._last_seq: dict[str, int] = {}
        self._counts_sequence = counts_sequence

    def observe(self, report: str | None, key: tuple[str, ...] | None) -> tuple[bool, int]:
        """(first time seen, sequence number). A None key is a new entity every time."""
        if key is not None and key in self._seq_by_key:
            return False, self._seq_by_key[key]
        seq = 0
        if self._counts_sequence:
            group = (report or "").upper()
            seq = self._last_seq.get(group, 0) + 1
            self._last_seq[group] = seq
        if key is not None:
            self._seq_by_key[key] = seq
        return True, seq


def _has_entity(table: CompiledTable, row: Row, nulls: frozenset[str]) -> bool:
    if not table.skip_positions:
        return True
    return any(cell(row, position, nulls) is not None for position in table.skip_positions)


def _entity_key(table: CompiledTable, row: Row, identity: str | None, nulls: frozenset[str]) -> tuple | None:
    # A row without a report number is kept on its own rather than merged with other such rows:
    # it will be quarantined, and merging would hide rows from the person who reviews them.
    if not table.key_positions or identity is None:
        return None
    return key_of(row, table.key_positions, nulls)


def seq_list(seqs: set[int] | None) -> str | None:
    return " ".join(str(seq) for seq in sorted(seqs)) if seqs else None


# ---------------------------------------------------------------------------------------------
# The source


class MappedCsvSource:
    """An agency CSV read through a mapping; implements ingest.records.Source."""

    format = "mapped"

    def __init__(self, path: Path, mapping: Mapping, config: AgencyConfig | None = None) -> None:
        self.path = Path(path)
        self.mapping = mapping
        # Needed only by division_from_config; read from VNOTIFY_CONFIG when not given.
        self._config = config
        self.unavailable_columns: frozenset[str] = frozenset(mapping.unavailable_columns)
        self._tables: list[ContractTable] = [name for name in CONTRACT_TABLES if name in mapping.tables]
        persons = mapping.tables.get("persons")
        self._links_victims = bool(persons and any(s.linked_offenses for s in persons.columns.values()))
        self.source_rows: int | None = None  # data rows read, once the records were read

    @property
    def name(self) -> str:
        return str(self.path)

    def content_files(self) -> list[Path]:
        # The mapping shapes the records as much as the CSV does: a corrected mapping makes the
        # same export a new batch rather than a duplicate one.
        return [self.path, *([self.mapping.path] if self.mapping.path else [])]

    def records(self) -> Iterator[Record]:
        problems = self.date_problems()
        if problems:
            raise FileRejected(f"{self.path}: dates that cannot be trusted: " + "; ".join(problems))
        yield from self.mapped_records()

    def mapped_records(self) -> Iterator[Record]:
        """The records, without the date checks `records` makes first (`vnotify mapping check`
        shows both)."""
        config = self._division_config()
        links: dict[tuple, set[int]] = {}
        if self._links_victims:
            with self._rows() as (header, rows):
                tables = self._compile(header, config)
                links = _collect_links(
                    tables["offenses"], tables["persons"], rows, len(header.names), self._nulls
                )
        with self._rows() as (header, rows):
            yield from self._emit(header, self._compile(header, config), rows, links)

    def header_names(self) -> tuple[str, ...]:
        """The file's header, checked against the columns the mapping uses."""
        with self._rows() as (header, _rows):
            return header.names

    def date_tallies(self) -> dict[tuple[str, str], DateTally]:
        """(table, column) -> what the column's values say about its date formats (a pass over
        the file; nothing when the mapping reads no dates)."""
        dated = [
            (table_name, column_name, spec)
            for table_name, table in self.mapping.tables.items()
            for column_name, spec in table.columns.items()
            if spec.formats
        ]
        if not dated:
            return {}
        config = self._division_config()
        with self._rows() as (header, rows):
            getters = {}
            for table_name, column_name, spec in dated:
                kinds = {column.name: column.kind for column in table_spec(table_name).columns}
                getters[(table_name, column_name)] = compile_value(
                    spec, kinds[column_name], header, self._nulls, config, with_dates=False
                )
            tallies = {
                (table_name, column_name): DateTally(tuple(spec.formats))
                for table_name, column_name, spec in dated
            }
            width = len(header.names)
            for row_number, row in rows:
                if len(row) != width:
                    continue  # quarantined as a ragged row
                for key, getter in getters.items():
                    value = getter(row)
                    if value is not None:
                        tallies[key].add(value, row_number)
        return tallies

    def date_problems(self, tallies: dict[tuple[str, str], DateTally] | None = None) -> list[str]:
        """Why the file's dates cannot be trusted with this mapping (ingest.dates); empty when
        they can."""
        tallies = self.date_tallies() if tallies is None else tallies
        proven: Counter[str] = Counter()
        for tally in tallies.values():
            proven.update(tally.decisive)
        problems = []
        for (table_name, column_name), tally in tallies.items():
            spec = self.mapping.tables[table_name].columns[column_name]  # type: ignore[index]
            problems += date_problems(
                f"{table_name}.{column_name}",
                tally,
                proven,
                spec.date_format_checked,
                f"tables.{table_name}.columns.{column_name}",
            )
        return problems

    @property
    def _nulls(self) -> frozenset[str]:
        return self.mapping.csv.null_set

    def _division_config(self) -> AgencyConfig | None:
        if self._config is None and self.mapping.needs_division_config():
            self._config = load_config()
        return self._config

    def _compile(self, header: Header, config: AgencyConfig | None) -> dict[str, CompiledTable]:
        return {
            name: compile_table(name, self.mapping.tables[name], header, self._nulls, config)
            for name in self._tables
        }

    @contextmanager
    def _rows(self) -> Iterator[tuple[Header, Iterator[tuple[int, Row]]]]:
        options = self.mapping.csv
        try:
            handle = self.path.open(encoding=options.python_encoding, newline="")
        except FileNotFoundError:
            raise FileRejected(f"{self.path}: file not found") from None
        with handle:
            rows = _parsed_rows(handle, options, self.path)
            header = _read_header(rows, options, self.path)
            _check_columns(header, self.mapping, self.path)
            yield header, _numbered(rows)

    def _emit(
        self,
        header: Header,
        tables: dict[str, CompiledTable],
        rows: Iterator[tuple[int, Row]],
        links: dict[tuple, set[int]],
    ) -> Iterator[Record]:
        nulls = self._nulls
        width = len(header.names)
        first = self._tables[0]
        identities = {name: Identities(table.sequence_column is not None) for name, table in tables.items()}
        unmapped = _unmapped_positions(header, self.mapping) if self.mapping.keep_unmapped else ()
        self.source_rows = 0
        for row_number, row in rows:
            self.source_rows = row_number
            if len(row) != width:
                # One record, in the first table, so the row is quarantined once with its cells.
                problem = f"row {row_number} has {len(row)} fields; the header has {width}"
                yield Record(first, row_number, values={}, extra=_ragged_extra(header, row), problem=problem)
                continue
            for name, table in tables.items():
                record = _table_record(table, identities[name], row, row_number, links, nulls)
                if record is None:
                    continue
                if unmapped and name == first:
                    record = _with_extra(record, {header.names[i]: row[i] for i in unmapped})
                yield record


def _table_record(
    table: CompiledTable,
    identities: Identities,
    row: Row,
    row_number: int,
    links: dict[tuple, set[int]],
    nulls: frozenset[str],
) -> Record | None:
    """The row's record for one table, or None when the row has no new entity of it."""
    if not _has_entity(table, row, nulls):
        return None
    identity = table.identity(row) if table.identity else None
    key = _entity_key(table, row, identity, nulls)
    is_new, seq = identities.observe(identity, key)
    if not is_new:
        return None
    generated: dict[str, str | None] = {}
    if table.sequence_column:
        generated[table.sequence_column] = str(seq)
    if table.links_column:
        # Popped: each victim is emitted once, so its links are no longer needed.
        generated[table.links_column] = seq_list(links.pop(key, None)) if key is not None else None
    values = {
        column: generated[column] if column in generated else table.getters[column](row)
        for column in table.columns
    }
    return Record(table.name, row_number, values=values)


def _collect_links(
    offenses: CompiledTable,
    persons: CompiledTable,
    rows: Iterator[tuple[int, Row]],
    width: int,
    nulls: frozenset[str],
) -> dict[tuple, set[int]]:
    """Person key -> offense_seq of every offense on a row the person appears on.

    Offense sequence numbers are assigned exactly as the emitting pass assigns them (same rows,
    same order, same rules), so the numbers agree.
    """
    offense_ids = Identities(counts_sequence=True)
    links: dict[tuple, set[int]] = {}
    for _row_number, row in rows:
        if len(row) != width:
            continue
        seq = None
        if _has_entity(offenses, row, nulls):
            report = offenses.identity(row) if offenses.identity else None
            _, seq = offense_ids.observe(report, _entity_key(offenses, row, report, nulls))
        if _has_entity(persons, row, nulls):
            report = persons.identity(row) if persons.identity else None
            key = _entity_key(persons, row, report, nulls)
            if key is not None:
                linked = links.setdefault(key, set())
                if seq is not None:
                    linked.add(seq)
    return links


def _parsed_rows(handle: Any, options: CsvOptions, path: Path) -> Iterator[Row]:
    """CSV rows, with undecodable bytes, broken quoting and a quote that swallows rows turned
    into FileRejected (csv.Error messages describe the syntax, never a cell's text)."""
    try:
        yield from guarded_rows(handle, str(path), delimiter=options.delimiter, quotechar=options.quotechar)
    except UnicodeDecodeError:
        raise FileRejected(
            f"{path}: not readable as {options.encoding}; set csv.encoding in the mapping (e.g. cp1252)"
        ) from None


def _read_header(rows: Iterator[Row], options: CsvOptions, path: Path) -> Header:
    for row in rows:
        if any(field.strip().lstrip("\ufeff") for field in row):
            header = Header.parse(row)
            break
    else:
        raise FileRejected(f"{path}: empty file (no header row)")
    if len(header.names) == 1:
        for delimiter, label in SUSPECT_DELIMITERS.items():
            if delimiter != options.delimiter and delimiter in header.names[0]:
                raise FileRejected(
                    f"{path}: the header is a single column containing {label}; the file looks "
                    f"{label}-delimited but the mapping says csv.delimiter {options.delimiter!r}"
                )
    return header


def _check_columns(header: Header, mapping: Mapping, path: Path) -> None:
    used = mapping.source_columns()
    missing = [name for name in used if name.strip().casefold() not in header.positions]
    if missing:
        raise FileRejected(f"{path}: missing columns the mapping uses: {', '.join(map(repr, missing))}")
    twice = [name for name in used if len(header.positions[name.strip().casefold()]) > 1]
    if twice:
        raise FileRejected(
            f"{path}: columns the mapping uses appear more than once: {', '.join(map(repr, twice))}"
        )


def _numbered(rows: Iterator[Row]) -> Iterator[tuple[int, Row]]:
    """Data rows numbered from 1; blank lines (often trailing) are not rows."""
    number = 0
    for row in rows:
        if not row:
            continue
        number += 1
        yield number, row


def _unmapped_positions(header: Header, mapping: Mapping) -> tuple[int, ...]:
    used = {name.strip().casefold() for name in mapping.source_columns()}
    return tuple(index for index, name in enumerate(header.names) if name.casefold() not in used)


def _ragged_extra(header: Header, row: Row) -> dict[str, str]:
    """The cells as received, by header name while they line up, then by position."""
    extra = {}
    for index, value in enumerate(row):
        name = header.names[index] if index < len(header.names) else f"field_{index + 1}"
        extra.setdefault(name, value)
    return extra


def _with_extra(record: Record, extra: dict[str, str]) -> Record:
    return Record(record.table, record.row_number, record.values, extra=extra)
