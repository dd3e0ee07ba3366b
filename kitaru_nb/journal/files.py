"""What a journal path holds, judged from its bytes before SQLite opens it.

Opening a file with SQLite is not harmless: when the last connection to a WAL database closes,
SQLite checkpoints the ``-wal`` file into the database and deletes it, and every reader writes
to the ``-shm`` index. A file kitaru_nb refuses (another application's database, a journal of a
newer kitaru_nb) must stay byte-identical, side files included, so it is refused from its header
alone: page 1 as SQLite would read it now (the newest committed copy in the ``-wal`` file, else
the database file's own), which holds ``application_id``, ``user_version`` and the root of the
schema table. Only a file that passes is opened with SQLite, which checks it again.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

APPLICATION_ID = 0x4B544E42  # "KTNB": marks a file as a kitaru_nb journal
SQLITE_MAGIC = b"SQLite format 3\x00"
_WAL_MAGICS = (0x377F0682, 0x377F0683)
_WAL_HEADER = 32
_FRAME_HEADER = 24

UNTOUCHED = "The file was left untouched; point KITARU_NB_DB or kitaru_nb.configure(db=...) to another path."


@dataclass(frozen=True, slots=True)
class Header:
    application_id: int
    user_version: int
    has_tables: bool


def header_from_page1(page: bytes) -> Header | None:
    if len(page) < 108 or not page.startswith(SQLITE_MAGIC):
        return None
    (user_version,) = struct.unpack(">i", page[60:64])
    (application_id,) = struct.unpack(">I", page[68:72])
    # page 1 is the root of the schema table: an interior page (0x05) or a leaf with cells means tables
    (cells,) = struct.unpack(">H", page[103:105])
    return Header(application_id, user_version, page[100] == 0x05 or cells > 0)


def read_header(path: Path) -> Header | None:
    """The header SQLite would see now, or None for a missing or empty file."""
    page = _wal_page1(Path(f"{path}-wal"))
    if page is None:
        try:
            with path.open("rb") as fh:
                head = fh.read(100)
                if len(head) < 100:
                    return None
                (size,) = struct.unpack(">H", head[16:18])
                page = head + fh.read((65536 if size == 1 else size) - 100)
        except FileNotFoundError:
            return None
    return header_from_page1(page)


def _wal_page1(wal: Path) -> bytes | None:
    """The newest committed copy of page 1 in a WAL file, or None.

    Frames count while their salts match the WAL header (older frames left from before the
    last reset do not); a copy of page 1 counts once a commit frame follows it. Only frame
    headers and copies of page 1 are read. Checksums are not verified: a torn last frame is the
    rare case, and SQLite checks the file again when kitaru_nb opens what passes here.
    """
    try:
        fh = wal.open("rb")
    except (FileNotFoundError, IsADirectoryError):
        return None
    with fh:
        head = fh.read(_WAL_HEADER)
        if len(head) < _WAL_HEADER:
            return None
        magic, _version, page_size, _seq, salt1, salt2 = struct.unpack(">IIIIII", head[:24])
        if magic not in _WAL_MAGICS or page_size < 512:
            return None
        newest: bytes | None = None
        committed: bytes | None = None
        while True:
            frame = fh.read(_FRAME_HEADER)
            if len(frame) < _FRAME_HEADER:
                break
            pgno, commit, s1, s2 = struct.unpack(">IIII", frame[:16])
            if (s1, s2) != (salt1, salt2):
                break
            if pgno == 1:
                page = fh.read(page_size)
                if len(page) < page_size:
                    break
                newest = page
            else:
                fh.seek(page_size, os.SEEK_CUR)
            if commit:
                committed = newest
    return committed


def refusal(path: Path, header: Header, latest_version: int) -> str | None:
    """Why ``path`` is not a journal this kitaru_nb can use (None: it is one, or a fresh empty database)."""
    app_id, version = header.application_id, header.user_version
    if app_id not in (0, APPLICATION_ID):
        return f"{path} is an SQLite file of another application (application_id {app_id:#x}), not a kitaru_nb journal."
    if app_id == 0 and (header.has_tables or version != 0):
        # kitaru_nb sets application_id in the transaction that first sets user_version: a file
        # with a user_version and no application_id was written by something else
        detail = f" (user_version {version}, no kitaru_nb application_id)" if version else ""
        return f"{path} is an SQLite database but not a kitaru_nb journal{detail}."
    if version > latest_version:
        return (
            f"{path} was written by a newer kitaru_nb (schema version {version}, this one knows up to "
            f"{latest_version}). Upgrade kitaru_nb to use it."
        )
    return None


def read_only_reason(path: Path) -> str | None:
    """Why this process cannot write the journal at ``path`` (None: it can)."""
    folder = path.parent
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    if st is not None and not os.access(path, os.W_OK):
        return f"the file is read-only (mode {stat.S_IMODE(st.st_mode):04o})"
    if not os.access(folder, os.W_OK | os.X_OK):
        return (
            f"its folder {folder} is read-only, and SQLite keeps {path.name}-wal and {path.name}-shm next "
            "to the journal"
        )
    return None
