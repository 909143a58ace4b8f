"""Copies of what an RMS extract read, for agencies that must keep them: owner-only, outside the
checkout, only for runs that read something new, and gone once retention has passed.

Off by default (`extract.sql.audit_copies`): the rows carry victims' names, phones and birth
dates, and the database already keeps every loaded row with its batch."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from vnotify.config import SqlExtract

STAMP = "%Y%m%dT%H%M%S%fZ"


def keep_audit_copy(extract: SqlExtract, folder: Path, now: dt.datetime) -> Path | None:
    """Copy the CSV files of FOLDER to `<audit_folder>/<source>/<UTC time>/`, each 0600 in
    folders 0700; None when audit copies are off."""
    if not extract.audit_copies or extract.audit_folder is None:
        return None
    source = extract.audit_folder / extract.name
    target = source / now.astimezone(dt.UTC).strftime(STAMP)
    for directory in (extract.audit_folder, source, target):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is masked by the umask
    for path in sorted(folder.glob("*.csv")):
        copy = target / path.name
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, path.open("rb") as original:
            shutil.copyfileobj(original, out)
    return target


def expired_audit_copies(extract: SqlExtract | None, cutoff: dt.datetime) -> list[Path]:
    """The audit copies written before CUTOFF (by the time in their folder's name)."""
    if extract is None or extract.audit_folder is None:
        return []
    source = extract.audit_folder / extract.name
    if not source.is_dir():
        return []
    expired = []
    for folder in sorted(source.iterdir()):
        try:
            written = dt.datetime.strptime(folder.name, STAMP).replace(tzinfo=dt.UTC)
        except ValueError:
            continue  # not ours: never delete what this module did not write
        if folder.is_dir() and written < cutoff:
            expired.append(folder)
    return expired


def remove_audit_copies(folders: list[Path]) -> int:
    for folder in folders:
        shutil.rmtree(folder)
    return len(folders)
