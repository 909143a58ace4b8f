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


def _files(path: Path, suffix: str) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == suffix)
    if not files:
        raise FileRejected(f"{path}: no {suffix} files in this folder")
    return files
