"""Agency configuration: one YAML file, validated, with errors that name the field and its line."""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
    model_validator,
)

from vnotify.paths import config_path

E164 = re.compile(r"^\+[1-9]\d{7,14}$")
NIBRS_CODE = re.compile(r"^[0-9]{2}[0-9A-Z]$")
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _e164(value: str) -> str:
    if not E164.match(value):
        raise ValueError("must be an E.164 phone number such as +15205550100")
    return value


E164Phone = Annotated[str, AfterValidator(_e164)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    name: str = Field(min_length=1)
    short_name: str = Field(min_length=1, max_length=16)
    ori: str | None = Field(default=None, pattern=r"^[A-Z]{2}[0-9A-Z]{7}$")
    time_zone: str
    portal_base_url: HttpUrl
    languages: list[str] = Field(min_length=1)
    retention_days: int = Field(default=365, ge=30)
    # Links in messages (message page, survey) stop working this many days after sending.
    message_link_days: int = Field(default=60, ge=1, le=365)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("portal_base_url")
    @classmethod
    def _https_portal(cls, value: HttpUrl) -> HttpUrl:
        from vnotify.unsafe_settings import https_problem

        if problem := https_problem("portal_base_url", str(value)):
            raise ValueError(problem)
        return value

    @field_validator("languages")
    @classmethod
    def _bcp47(cls, value: list[str]) -> list[str]:
        for language in value:
            if not LANGUAGE.match(language):
                raise ValueError(f"{language!r} is not a BCP 47 language tag")
        if len(set(value)) != len(value):
            raise ValueError("languages are listed twice")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def default_language(self) -> str:
        return self.languages[0]


class Division(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9_]{1,16}$")
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    substation_phone: E164Phone
    investigations_phone: E164Phone
    go_live: dt.date | None = None


class SendWindow(_Strict):
    """Local times between which messages may go out: [start, end). `end: "24:00"` is midnight."""

    start: dt.time = dt.time(8, 0)
    end: dt.time = dt.time(20, 0)

    @field_validator("end", mode="before")
    @classmethod
    def _midnight(cls, value):
        return dt.time.max if str(value).strip() in ("24:00", "24:00:00") else value

    @model_validator(mode="after")
    def _ordered(self) -> SendWindow:
        if self.start >= self.end:
            raise ValueError("send_window.start must be before send_window.end")
        return self


class EmailChannel(_Strict):
    enabled: bool = True
    from_address: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    from_name: str | None = None
    unsubscribe_group_id: int | None = Field(default=None, ge=1)
    messages_per_second: float = Field(default=50, gt=0)


class SmsChannel(_Strict):
    enabled: bool = True
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")
    from_number: E164Phone | None = None
    messages_per_second: float = Field(default=10, gt=0)
    discreet: bool = False

    @model_validator(mode="after")
    def _one_sender(self) -> SmsChannel:
        if self.enabled and not (self.messaging_service_sid or self.from_number):
            raise ValueError("set messaging_service_sid or from_number")
        if self.messaging_service_sid and self.from_number:
            raise ValueError("set only one of messaging_service_sid and from_number")
        return self


class Channels(_Strict):
    email: EmailChannel | None = None
    sms: SmsChannel | None = None


class Eligibility(_Strict):
    minimum_age: int = Field(default=18, ge=18, le=120)
    max_report_age_days: int = Field(default=14, ge=1, le=365)
    extra_excluded_offense_codes: list[str] = Field(default_factory=list)
    contact_given_to_officer_counts_as_consent: bool = True
    # A victim with neither age nor birth date: `hold` (reason age_unknown) so a juvenile is never
    # texted because a field was blank, or `notify` to treat them as adults.
    unknown_age: Literal["hold", "notify"] = "hold"

    @field_validator("extra_excluded_offense_codes")
    @classmethod
    def _nibrs_codes(cls, value: list[str]) -> list[str]:
        for code in value:
            if not NIBRS_CODE.match(code):
                raise ValueError(f"{code!r} is not a NIBRS offense code such as 23H or 13B")
        return value


StatusUpdateStatus = Literal["cleared_arrest", "cleared_exceptional", "suspended", "closed"]
STATUS_UPDATE_STATUSES: tuple[StatusUpdateStatus, ...] = (
    "cleared_arrest",
    "cleared_exceptional",
    "suspended",
    "closed",
)


class Notices(_Strict):
    """Which notices go out besides a victim's first one, and where contact details may come from."""

    # A victim with no usable RMS phone who was the caller on the linked CAD call gets the
    # caller's phone (contact source `cad`).
    cad_caller_phone: bool = True
    # Empty RMS consent with a CAD phone: use the phone only when true; a refusal (N) always wins.
    caller_phone_counts_as_consent: bool = False
    # Notices to reporting parties who are not victims on the report.
    reporting_parties: bool = False
    # Case-status follow-ups to notified Group A victims.
    status_updates: bool = True
    status_update_statuses: list[StatusUpdateStatus] = Field(
        default_factory=lambda: list(STATUS_UPDATE_STATUSES)
    )

    @field_validator("status_update_statuses")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a status is listed twice")
        return value


class Experiment(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    salt: str = Field(min_length=4)
    holdout_share: float = Field(gt=0, lt=1)
    start_date: dt.date
    end_date: dt.date | None = None


class Survey(_Strict):
    """Both arms are invited the same number of days after their report (the holdout's first contact)."""

    delay_days: int = Field(default=14, ge=1, le=120)
    # One reminder this many days after an invitation left unopened; None sends no reminder.
    reminder_after_days: int | None = Field(default=4, ge=1, le=60)
    # Invitations go only to victims reported on or after this many days before today (so a first
    # run on years of history does not survey people about reports long past).
    max_report_age_days: int = Field(default=45, ge=1, le=365)


# Outcome names the evaluation knows (results.json `name`s); binary ones first, then the ratings.
BINARY_OUTCOMES = (
    "responded",
    "prefers_text",
    "prefers_email",
    "prefers_letter",
    "prefers_phone",
    "likely_to_call",
    "trusts_police",
)
RATING_OUTCOMES = ("service_rating", "trust_rating")


class Evaluation(_Strict):
    """What the evaluation reports and how strictly: Holm over the primary outcomes, BH over the rest."""

    primary_outcomes: list[str] = Field(
        default_factory=lambda: ["prefers_text", "likely_to_call", "service_rating", "trusts_police"],
        min_length=1,
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    srm_alarm_p: float = Field(default=0.001, gt=0, lt=0.05)
    min_cell: int = Field(default=10, ge=1)  # subgroup cells smaller than this are suppressed
    power: float = Field(default=0.8, gt=0.5, lt=1)

    @field_validator("primary_outcomes")
    @classmethod
    def _known_outcomes(cls, value: list[str]) -> list[str]:
        known = (*BINARY_OUTCOMES, *RATING_OUTCOMES)
        for name in value:
            if name not in known:
                raise ValueError(f"{name!r} is not an outcome; choose from {', '.join(known)}")
        return value


class SqlExtract(_Strict):
    """Queries against the agency's RMS database; each selects contract columns and may use
    `:watermark`: the newest incidents.updated_at already read, less `overlap_minutes`, as a
    timezone-aware time (compare it with a timestamptz column). For a column that stores local
    times without a zone use `:watermark_local` (naive, agency time), or `:watermark_utc`
    (naive, UTC). Rows read twice are loaded once (docs/ingest.md)."""

    name: str = Field(default="rms", pattern=r"^[a-z0-9][a-z0-9_-]*$")
    url_env: str = Field(default="RMS_DATABASE_URL", pattern=r"^[A-Z][A-Z0-9_]*$")
    queries: dict[Literal["incidents", "offenses", "persons", "cad_calls"], str] = Field(min_length=1)
    # Read again what changed this long before the watermark: the RMS may commit a row late,
    # with an updated_at earlier than the newest one already read.
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    # Copies of what each run read (victims' details): off unless the agency needs them. When
    # on, written owner-only under audit_folder (an absolute path outside the checkout), only
    # for runs that read something new, and removed by retention with everything else.
    audit_copies: bool = False
    audit_folder: Path | None = None

    @model_validator(mode="after")
    def _audit_folder_outside_the_checkout(self) -> SqlExtract:
        if not self.audit_copies:
            return self
        if self.audit_folder is None or not self.audit_folder.is_absolute():
            raise ValueError("audit_copies needs audit_folder: an absolute path outside the checkout")
        from vnotify.paths import REPO_ROOT

        if self.audit_folder.resolve().is_relative_to(REPO_ROOT):
            raise ValueError(f"audit_folder must lie outside the checkout ({REPO_ROOT})")
        return self

    @field_validator("queries")
    @classmethod
    def _incidents_first(cls, queries: dict[str, str]) -> dict[str, str]:
        if "incidents" not in queries:
            raise ValueError("an incidents query is required (it advances the watermark)")
        return queries


class Ingest(_Strict):
    """How much of an export may be quarantined before the whole batch is held."""

    # A table with more than this share of its rows quarantined (or none staged) fails its batch:
    # nothing of that delivery is used until it is fixed.
    max_quarantined_share: float = Field(default=0.5, ge=0, le=1)


class Extract(_Strict):
    """Where the `extract` flow finds exports: a drop folder, an RMS query, or both."""

    drop_folder: Path | None = None
    format: Literal["contract-csv", "contract-jsonl", "nibrs-cde", "nibrs-xml", "mapped"] = "contract-csv"
    mapping: Path | None = None
    sql: SqlExtract | None = None
    # `vnotify extract status` and the alerts call the exports stale after this long with
    # nothing new loaded.
    stale_after_hours: float = Field(default=24, gt=0)


class Operations(_Strict):
    """Who hears about problems with the pipeline, and when (monitoring.alerts)."""

    # The data-engineering contacts: every alert goes to each (no victim data is ever in one).
    alert_emails: list[str] = Field(default_factory=list)
    # Alert when more sends than this have waited in `unknown` for over 15 minutes.
    unknown_backlog_alert: int = Field(default=10, ge=0)
    # A problem still there is sent again after this long.
    realert_hours: float = Field(default=6, gt=0)
    # Flow runs and batches that ended badly this recently are reported.
    lookback_hours: float = Field(default=24, gt=0)

    @field_validator("alert_emails")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address):
                raise ValueError(f"alert_emails: {address!r} is not an e-mail address")
        return value


class AgencyConfig(_Strict):
    agency: Agency
    divisions: list[Division] = Field(min_length=1)
    send_window: SendWindow = SendWindow()
    channels: Channels
    eligibility: Eligibility = Eligibility()
    notices: Notices = Notices()
    experiment: Experiment
    survey: Survey = Survey()
    evaluation: Evaluation = Evaluation()
    ingest: Ingest = Ingest()
    extract: Extract = Extract()
    operations: Operations = Operations()

    @field_validator("divisions")
    @classmethod
    def _unique_division_keys(cls, divisions: list[Division]) -> list[Division]:
        seen: dict[str, str] = {}
        for division in divisions:
            for key in [division.code, *division.aliases]:
                folded = key.strip().upper()
                if folded in seen and seen[folded] != division.code:
                    raise ValueError(
                        f"division key {key!r} is used by both {seen[folded]} and {division.code}"
                    )
                seen[folded] = division.code
        return divisions

    @field_validator("channels")
    @classmethod
    def _some_channel(cls, channels: Channels) -> Channels:
        if not any(c and c.enabled for c in (channels.email, channels.sms)):
            raise ValueError("enable at least one channel (email or sms)")
        return channels

    @cached_property
    def division_lookup(self) -> dict[str, str]:
        """Every code and alias (upper-cased, trimmed) to its division code."""
        lookup = {}
        for division in self.divisions:
            for key in [division.code, *division.aliases]:
                lookup[key.strip().upper()] = division.code
        return lookup

    def division_code(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self.division_lookup.get(value.strip().upper())


class ConfigError(ValueError):
    """An agency configuration that cannot be used; the message names file, line and field."""


def _field_lines(node: yaml.Node, path: tuple = ()) -> dict[tuple, int]:
    """Map every key path in a YAML document to the (1-based) line where it is written."""
    lines = {path: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = (*path, key_node.value)
            lines.update(_field_lines(value_node, child))
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_field_lines(item, (*path, index)))
    return lines


def _line_for(loc: tuple, lines: dict[tuple, int]) -> int:
    """The line of the deepest part of `loc` that is written in the file."""
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _dotted(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_config(text: str, source: str = "<config>") -> AgencyConfig:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{source}:{line}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the file must be a YAML mapping with an `agency:` section")
    lines = _field_lines(root)
    try:
        return AgencyConfig.model_validate(data)
    except ValidationError as error:
        problems = []
        for issue in error.errors(include_url=False, include_input=False):
            loc = tuple(part for part in issue["loc"] if not str(part).startswith("function-"))
            message = issue["msg"].removeprefix("Value error, ")
            if issue["type"] == "extra_forbidden":
                message = "unknown field (check the spelling)"
            problems.append(f"{source}:{_line_for(loc, lines)}: {_dotted(loc)}: {message}")
        raise ConfigError("\n".join(problems)) from None


def load_config(path: Path | str | None = None) -> AgencyConfig:
    path = Path(path) if path else config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found (set VNOTIFY_CONFIG)") from None
    config = parse_config(text, source=str(path))
    return _resolve_paths(config, path.resolve().parent)


def _resolve_paths(config: AgencyConfig, base: Path) -> AgencyConfig:
    """Relative paths in the file are relative to the file's own folder."""
    extract = config.extract
    updates = {
        name: base / value
        for name in ("drop_folder", "mapping")
        if (value := getattr(extract, name)) is not None and not value.is_absolute()
    }
    if not updates:
        return config
    return config.model_copy(update={"extract": extract.model_copy(update=updates)})


ChannelName = Literal["email", "sms"]
