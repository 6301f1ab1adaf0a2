"""Opening a dataset or label file as UTF-8 lines, with errors that name the file and line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TypeVar

from assay.errors import DatasetError

T = TypeVar("T")


def _decoded(f: IO[bytes], source: str) -> Iterator[str]:
    """The file's lines decoded as UTF-8 (a leading byte-order mark is dropped), failing on the first bad line."""
    for n, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{source}:{n}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column "
                               f"{exc.start + 1}); re-save the file with UTF-8 encoding") from None


def read_lines(path: str | Path, read: Callable[[Iterator[str], str, bool], T]) -> T:
    """Call `read(lines, source, is_csv)` on the file's decoded lines; `is_csv` when the name ends in .csv."""
    p = Path(path)
    source = str(path)
    if not p.exists():
        raise DatasetError(f"{source}: no such file; check the path")
    if p.is_dir():
        raise DatasetError(f"{source}: is a directory; give the path of a .jsonl or .csv file")
    try:
        with open(p, "rb") as f:
            return read(_decoded(f, source), source, p.suffix.lower() == ".csv")
    except OSError as exc:
        raise DatasetError(f"{source}: can't read the file: {exc.strerror or exc}; check its permissions") from exc
