"""Write the GX project: one suite, query asset, validation definition and checkpoint per raw table.

    python -m expectations.build

The suites are derived from the export contract (`ingest.contract`: columns, allowed values,
shapes) and the loader's batch keys (`ingest.validation.BATCH_KEYS`), so a contract change is
one rebuild away; commit what this writes. Re-running it is idempotent: unchanged
expectations, assets and definitions keep their ids, so the committed JSON only changes when a
check does.

Creating the data source (first build only) makes GX test its connection, so `main` resolves
DATABASE_URL or starts the embedded server; no rows are read.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import great_expectations as gx
import great_expectations.expectations as gxe
from great_expectations.core.batch_definition import BatchDefinition
from great_expectations.core.partitioners import PartitionerColumnValue
from great_expectations.data_context import FileDataContext
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.datasource.fluent.sql_datasource import QueryAsset, SQLDatasource
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
from great_expectations.expectations.row_conditions import Column as RowColumn

from expectations import (
    BATCH_COLUMN,
    BATCH_DEFINITION,
    CONNECTION_VARIABLE,
    DATASOURCE,
    LATEST_TIMESTAMP,
    OFFICER_NAME_MOSTLY,
    PROJECT_DIR,
    ROWS_STAGED,
    asset_name,
    checkpoint_name,
    open_context,
    suite_name,
)
from ingest.contract import (
    BLANK,
    CONTRACT_VERSION,
    EARLIEST_TIMESTAMP,
    FALSE_VALUES,
    PATTERNS,
    RANGE_CHECKED,
    TRUE_VALUES,
    Column,
    known_offense_codes,
    table_spec,
)
from ingest.records import CONTRACT_TABLES
from ingest.validation import BATCH_KEYS

# A NIBRS delete carries only these; other required incident columns apply to live rows only.
DELETE_COLUMNS = ("report_number", "updated_at")
PARSERS = {"datetime": ("ops.is_timestamp", "timestamptz"), "date": ("ops.is_date", "date")}
EXPECTATION_IDS = uuid.UUID("5f0c8a52-9d1e-4a57-9a43-2f6f0e5b7c11")  # uuid5 namespace, arbitrary but fixed
# Counts only: never a sample of the failing values, which can be names, phones or e-mails.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0, "exclude_unexpected_values": True}


def checked_columns(table: str) -> list[Column]:
    """Contract columns some expectation reads: required or constrained. Free text that is
    optional (names, phones, e-mails) is never selected, so GX never reads it."""
    return [column for column in table_spec(table).columns if column.required or column.kind != "text"]


def _sql_escaped(char: str) -> str:
    # PostgreSQL E'' strings know \t \n \r \f but not \v.
    return {" ": " ", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\f": "\\f"}.get(char, f"\\x{ord(char):02x}")


# The contract's blanks as a PostgreSQL string: plain btrim strips spaces only.
BLANKS_SQL = "E'" + "".join(_sql_escaped(char) for char in BLANK) + "'"


def _trimmed(column: Column) -> str:
    # As the loader reads a cell: trimmed, and blank = unknown.
    return f"nullif(btrim({column.name}, {BLANKS_SQL}), '') AS {column.name}"


def _normalised(column: Column) -> str:
    # Choices and booleans are accepted in any case, NIBRS codes too.
    if column.kind in ("choice", "boolean"):
        return f"lower({column.name}) AS {column.name}"
    if column.kind == "nibrs_code":
        return f"upper({column.name}) AS {column.name}"
    return column.name


def parsed_name(column: Column) -> str:
    return f"{column.name}_parsed"


def _parsed(column: Column) -> str:
    # NULL rather than a failed query for text that does not parse (an expectation counts those).
    is_valid, sql_type = PARSERS[column.kind]
    name = column.name
    return f"CASE WHEN {is_valid}({name}) THEN {name}::{sql_type} END AS {parsed_name(column)}"


def asset_query(table: str) -> str:
    """The query asset's SELECT over every batch's rows; the batch definition picks one batch."""
    columns = checked_columns(table)
    passed_through = [BATCH_COLUMN, "row_number", *(["record_action"] if table == "incidents" else [])]
    inner = [*passed_through, *(_trimmed(column) for column in columns)]
    outer = [*passed_through, *(_normalised(column) for column in columns)]
    outer += [_parsed(column) for column in columns if column.kind in PARSERS]
    return (
        "SELECT\n  "
        + ",\n  ".join(outer)
        + "\nFROM (\n  SELECT\n    "
        + ",\n    ".join(inner)
        + f"\n  FROM raw.{table}\n) AS trimmed"
    )


def suite_expectations(table: str) -> list[gxe.Expectation]:
    found: list[gxe.Expectation] = [gxe.ExpectTableRowCountToEqual(value={"$PARAMETER": ROWS_STAGED})]
    found.append(_unique(BATCH_KEYS[table]))
    for column in checked_columns(table):
        if column.required:
            found.append(_required(table, column.name))
        found.extend(_value_checks(column))
        if column.name in RANGE_CHECKED.get(table, ()):
            found.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=parsed_name(column),
                    min_value=EARLIEST_TIMESTAMP,
                    max_value={"$PARAMETER": LATEST_TIMESTAMP},
                )
            )
    if table == "persons":
        found.append(
            gxe.ExpectColumnValuesToNotBeNull(
                column="victim_type",
                row_condition=RowColumn("role") == "victim",
            )
        )
    return found


def _unique(key: tuple[str, ...]) -> gxe.Expectation:
    if len(key) == 1:
        return gxe.ExpectColumnValuesToBeUnique(column=key[0])
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(key))


def _required(table: str, name: str) -> gxe.Expectation:
    if table != "incidents" or name in DELETE_COLUMNS:
        return gxe.ExpectColumnValuesToNotBeNull(column=name)
    live_rows = RowColumn("record_action").is_null()
    if name == "officer_name":
        return gxe.ExpectColumnValuesToNotBeNull(
            column=name,
            row_condition=live_rows,
            mostly={"$PARAMETER": OFFICER_NAME_MOSTLY},
            meta={"notes": "mostly is 1 unless the batch's source format cannot carry officer names (NIBRS)"},
        )
    return gxe.ExpectColumnValuesToNotBeNull(column=name, row_condition=live_rows)


def _value_checks(column: Column) -> Iterator[gxe.Expectation]:
    if column.kind == "choice":
        yield gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(column.choices))
    elif column.kind == "boolean":
        yield gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=[*TRUE_VALUES, *FALSE_VALUES])
    elif column.kind == "nibrs_code":
        yield gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(known_offense_codes()))
    elif column.kind in PATTERNS:
        # The contract's ISO shape (or seq, ORI, ...) on the trimmed text.
        yield gxe.ExpectColumnValuesToMatchRegex(column=column.name, regex=PATTERNS[column.kind])
    if column.kind in PARSERS:
        # The right shape is not enough (2025-02-30T10:00): the value must also parse.
        yield gxe.ExpectColumnValuesToNotBeNull(
            column=parsed_name(column),
            row_condition=RowColumn(column.name).is_not_null(),
        )


def _with_stable_id(table: str, expectation: gxe.Expectation) -> ExpectationConfiguration:
    """The expectation with an id derived from its content. GX matches expectations on update
    including their ids, so otherwise every rebuild would mint new ids and churn the JSON."""
    configuration = expectation.configuration
    content = json.dumps(configuration.to_json_dict(), sort_keys=True)
    configuration.id = str(uuid.uuid5(EXPECTATION_IDS, f"{table}:{content}"))
    return configuration


def build(connection_string: str, project_dir: Path = PROJECT_DIR) -> FileDataContext:
    """Create or update the project in `project_dir`; returns its context."""
    context = open_context(connection_string, project_dir)
    _configure(context)
    datasource = _datasource(context)
    for table in CONTRACT_TABLES:
        batch_definition = _batch_definition(_query_asset(datasource, table))
        suite = gx.ExpectationSuite(
            name=suite_name(table),
            expectations=[_with_stable_id(table, e) for e in suite_expectations(table)],
            meta={"generated_by": "python -m expectations.build", "contract_version": CONTRACT_VERSION},
        )
        definition = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=checkpoint_name(table), data=batch_definition, suite=suite)
        )
        # No actions: the runner builds Data Docs once per batch, and only when asked to.
        context.checkpoints.add_or_update(
            gx.Checkpoint(
                name=checkpoint_name(table),
                validation_definitions=[definition],
                actions=[],
                result_format=RESULT_FORMAT,
            )
        )
    return context


def _configure(context: FileDataContext) -> None:
    context.variables.analytics_enabled = False
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    sites = copy.deepcopy(context.variables.data_docs_sites) or {}
    site = sites["local_site"]
    site["show_how_to_buttons"] = False
    # The index otherwise reads every stored result on each build, which grows without end.
    site["site_index_builder"]["validation_results_limit"] = 200
    context.variables.data_docs_sites = sites
    context.variables.save()


def _datasource(context: FileDataContext) -> SQLDatasource:
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except KeyError:
        # The connection string stays a ${variable}: the URL is per machine and may hold a password.
        datasource = context.data_sources.add_sql(
            name=DATASOURCE, connection_string="${" + CONNECTION_VARIABLE + "}"
        )
    assert isinstance(datasource, SQLDatasource)
    return datasource


def _query_asset(datasource: SQLDatasource, table: str) -> QueryAsset:
    name, query = asset_name(table), asset_query(table)
    if name in datasource.get_asset_names():
        asset = datasource.get_asset(name)
        if isinstance(asset, QueryAsset) and asset.query == query:
            return asset
        datasource.delete_asset(name)
    return datasource.add_query_asset(name=name, query=query)


def _batch_definition(asset: QueryAsset) -> BatchDefinition:
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        # GX only validates date partitioners; a column-value one needs no sample row.
        return asset.add_batch_definition(
            name=BATCH_DEFINITION,
            partitioner=PartitionerColumnValue(column_name=BATCH_COLUMN),
            validate_partitioner=False,
        )


def main() -> None:
    from warehouse.database import database_url, sqlalchemy_url

    context = build(sqlalchemy_url(database_url()))
    for table in CONTRACT_TABLES:
        suite = context.suites.get(suite_name(table))
        print(f"{suite.name}: {len(suite.expectations)} expectations")
    print(f"written to {context.root_directory}")


if __name__ == "__main__":
    main()
