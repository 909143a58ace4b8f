"""Which Source objects a path and a --format make: the one place that knows the formats."""

from __future__ import annotations

from pathlib import Path

from ingest.records import FileRejected, Source

FORMATS = ("contract-csv", "contract-jsonl", "nibrs-cde", "nibrs-xml", "mapped")
CONTRACT_ORDER = ("incidents", "offenses", "persons", "cad_calls")


def sources_for(path: Path, format: str, mapping: Path | None = None, config=None) -> list[Source]:
    """The sources to load, in order. A folder gives one source per file it holds (one for the
    whole folder with nibrs-cde). Raises FileRejected when the path cannot be read as FORMAT."""
    path = Path(path)
    if not path.exists():
        raise FileRejected(f"{path}: no such file or folder")
    if format == "contract-csv":
        from ingest.adapters.contract_csv import ContractCsvSource, table_for_file

        files = _files(path, ".csv")
        files.sort(key=lambda p: CONTRACT_ORDER.index(table_for_file(p) or "cad_calls"))
        return [ContractCsvSource(f) for f in files]
    if format == "contract-jsonl":
        from ingest.adapters.contract_jsonl import ContractJsonlSource

        return [ContractJsonlSource(f) for f in _files(path, ".jsonl")]
    if format == "nibrs-cde":
        from ingest.adapters.nibrs_cde import NibrsCdeSource

        if not path.is_dir():
            raise FileRejected(f"{path}: nibrs-cde reads a folder of FBI CDE tables, not a file")
        return [NibrsCdeSource(path)]
    if format == "nibrs-xml":
        from ingest.adapters.nibrs_xml import NibrsXmlSource

        return [NibrsXmlSource(f) for f in _files(path, ".xml")]
    if format == "mapped":
        from ingest.adapters.mapping import MappedCsvSource, load_mapping

        if mapping is None:
            raise FileRejected("--format mapped needs --mapping FILE")
        rules = load_mapping(mapping)
        return [MappedCsvSource(f, rules, config=config) for f in _files(path, ".csv")]
    raise FileRejected(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


def deliveries_for(path: Path, format: str, mapping: Path | None = None, config=None) -> list[list[Source]]:
    """The sources at PATH grouped by delivery (what one export run wrote), in load order.

    Contract CSV files written together share a delivery: the files of one folder whose names
    differ only in the table (`incidents.csv` and `persons.csv`, or `2025-10-09_incidents.csv`
    and `2025-10-09_persons.csv`). Every other format carries all its tables in one source,
    which is a delivery of its own."""
    sources = sources_for(path, format, mapping=mapping, config=config)
    if format != "contract-csv":
        return [[source] for source in sources]
    groups: dict[tuple[str, str], list[Source]] = {}
    for source in sources:
        file = source.path  # type: ignore[attr-defined]
        groups.setdefault((str(file.parent), delivery_prefix(file)), []).append(source)
    return [groups[key] for key in sorted(groups)]


def group_delivery_files(files: list[Path], format: str) -> list[list[Path]]:
    """Files of a drop folder grouped by delivery, in load order (as deliveries_for does)."""
    if format != "contract-csv":
        return [[file] for file in files]
    from ingest.adapters.contract_csv import table_for_file

    groups: dict[str, list[Path]] = {}
    for file in files:
        groups.setdefault(delivery_prefix(file), []).append(file)
    order = {table: index for index, table in enumerate(CONTRACT_ORDER)}
    return [
        sorted(groups[key], key=lambda f: (order.get(table_for_file(f) or "", len(order)), f.name))
        for key in sorted(groups)
    ]


def delivery_prefix(path: Path) -> str:
    """What is left of a contract CSV file's name without its table: `2025-10-09_persons.csv`
    → `2025-10-09`, `persons.csv` → ``."""
    from ingest.adapters.contract_csv import table_for_file

    stem = path.stem
    table = table_for_file(path)
    return stem[: len(stem) - len(table)].rstrip("_-") if table else stem


def _files(path: Path, suffix: str) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == suffix)
    if not files:
        raise FileRejected(f"{path}: no {suffix} files in this folder")
    return files
