"""Read feed files (CSV, JSON Lines, Parquet) as a stream of row chunks.

A row that cannot be read properly (bytes that are not UTF-8, a broken JSON line, the wrong
number of CSV fields) still comes out, numbered, with its problem, so that it is quarantined
rather than lost. A problem with the whole file (unknown table, a required column missing,
an unreadable Parquet file) raises ``FeedFileError`` before anything is stored.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import itertools
import json
import re
import sys
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO, overload

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from fullpicture.core.settings import get_settings
from fullpicture.imports.rows import ROW_MODELS, TABLES
from fullpicture.imports.schemas import QuarantineReason

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".parquet": "parquet"}
IGNORED_DIRECTORIES = {"truth"}  # the synthetic generator's answer key lives beside its feeds

# A long free-text summary can exceed the csv module's default 128 KiB field limit; a field is
# held to FULLPICTURE_IMPORT_MAX_ROW_BYTES instead (set per file, _python_csv_chunks).
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

#: Deepest nesting of a JSON Lines row: a feed row is an object of values, lists of text and
#: lists of objects (addresses, people), 3 levels. Deeper is no feed row, and very deep
#: nesting exhausted Python's recursion (issue 12 finding 8: one such row failed the batch).
MAX_JSON_DEPTH = 16


class FeedFileError(ValueError):
    """A feed file cannot be imported as a whole; the message says which file and what to fix."""


@dataclass(frozen=True, slots=True)
class FeedFile:
    path: Path
    table: str
    file_format: str

    def sha256(self) -> str:
        with self.path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(slots=True)
class SourceRow:
    """One data row as read: its 1-based number, its values, and any problem reading it."""

    number: int
    values: dict[str, Any] | None
    problems: list[QuarantineReason] = field(default_factory=list)
    raw_text: str | None = None
    plain_text: bool = False  # every value is text, as in CSV (lets fast_events check it)

    def raw(self) -> str:
        """The row as it arrived, undecodable bytes shown as ``\\xNN``."""
        if self.raw_text is not None:
            return self.raw_text
        return json.dumps(self.values, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def table_of(path: Path) -> str | None:
    """``records.csv`` and ``2026-11-gp-ashdown.events.jsonl`` name their table."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    candidate = stem.rsplit(".", 1)[-1].lower()
    return candidate if candidate in TABLES else None


def discover_feed(paths: Sequence[Path]) -> list[FeedFile]:
    """The feed files named by ``paths`` (directories are searched), records first."""
    found: list[FeedFile] = []
    for path in paths:
        if not path.exists():
            raise FeedFileError(f"{path}: no such file or directory")
        if path.is_dir():
            candidates = [
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not IGNORED_DIRECTORIES & set(p.relative_to(path).parts[:-1])
                and p.suffix.lower() in FORMATS
                and table_of(p) is not None
            ]
            if not candidates:
                raise FeedFileError(
                    f"{path}: no feed files found; a feed holds records, relationships and/or "
                    "events files (.csv, .jsonl or .parquet), see docs/import-format.md"
                )
            found.extend(_feed_file(p) for p in candidates)
        else:
            found.append(_feed_file(path))
    unique = {f.path.resolve(): f for f in found}
    return sorted(unique.values(), key=lambda f: (TABLES.index(f.table), str(f.path)))


def _feed_file(path: Path) -> FeedFile:
    file_format = FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise FeedFileError(
            f"{path.name}: unknown file type {path.suffix or '(none)'}; "
            "use .csv, .jsonl or .parquet"
        )
    table = table_of(path)
    if table is None:
        raise FeedFileError(
            f"{path.name}: the file name does not say which table it holds; name it "
            "records.*, relationships.* or events.* (a prefix such as gp-ashdown.events.csv is fine)"
        )
    return FeedFile(path=path, table=table, file_format=file_format)


# --- file-level checks, before anything is stored -------------------------------------------


def check_file(feed_file: FeedFile) -> None:
    """Raise ``FeedFileError`` if the file cannot be imported at all."""
    required = ROW_MODELS[feed_file.table].required
    if feed_file.file_format == "csv":
        columns = _csv_header(feed_file)
    elif feed_file.file_format == "parquet":
        parquet = _parquet(feed_file)
        _check_parquet_sizes(feed_file, parquet.metadata)
        columns = [name.strip().lower() for name in parquet.schema_arrow.names]
    else:
        return  # JSON Lines has no header: a missing field is a problem of each row
    missing = [name for name in required if name not in columns]
    if missing:
        raise FeedFileError(
            f"{feed_file.path.name}: required column(s) missing: {', '.join(missing)}. "
            f"A {feed_file.table} file needs {', '.join(required)} (docs/import-format.md)"
        )


def _csv_header(feed_file: FeedFile) -> list[str]:
    with _open_csv(feed_file.path) as handle:
        header = next(csv.reader(_bounded_lines(handle, feed_file)), None)
    if not header:
        raise FeedFileError(f"{feed_file.path.name}: the file is empty; it needs a header row")
    columns = [name.strip().lower() for name in header]
    if any(_has_undecodable(name) for name in columns):
        raise FeedFileError(
            f"{feed_file.path.name}: the header row is not UTF-8 text; save the file as UTF-8"
        )
    return columns


def _check_parquet_sizes(feed_file: FeedFile, metadata: pq.FileMetaData) -> None:
    """Refuse, from the metadata alone, a Parquet file whose row groups hold more than its
    rows could: pyarrow decodes a column chunk (and so any one cell in it) whole before a row
    can be looked at, so a 400 MB cell would be in memory before the row limit saw it.

    Two bounds, each on the uncompressed sizes the file declares: a row group larger than
    ``import_max_row_bytes`` times its rows must hold a row past the row limit (the CSV
    reader refuses a file with such a line too), and no column chunk may be larger than
    ``import_max_parquet_column_chunk_bytes``, which bounds one cell in a large row group."""
    settings = get_settings()
    row_limit = settings.import_max_row_bytes
    chunk_limit = settings.import_max_parquet_column_chunk_bytes
    first_row = 1
    for group_index in range(metadata.num_row_groups):
        group = metadata.row_group(group_index)
        rows = f"rows {first_row:,}-{first_row + group.num_rows - 1:,}"
        for column_index in range(group.num_columns):
            column = group.column(column_index)
            if column.total_uncompressed_size > chunk_limit:
                raise FeedFileError(
                    f"{feed_file.path.name}: column {column.path_in_schema!r} of {rows} is "
                    f"{column.total_uncompressed_size:,} bytes uncompressed, more than "
                    f"{chunk_limit:,} (FULLPICTURE_IMPORT_MAX_PARQUET_COLUMN_CHUNK_BYTES); "
                    "nothing was read: re-export the file with smaller row groups (e.g. "
                    "pyarrow's row_group_size=50000) or check the column for an oversized value"
                )
        if group.total_byte_size > row_limit * max(group.num_rows, 1):
            raise FeedFileError(
                f"{feed_file.path.name}: {rows} hold {group.total_byte_size:,} bytes "
                f"uncompressed, more than {row_limit:,} bytes a row "
                "(FULLPICTURE_IMPORT_MAX_ROW_BYTES), so some row is longer than any feed row "
                "can be; nothing was read: check the file for an oversized value"
            )
        first_row += group.num_rows


def _parquet(feed_file: FeedFile) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(feed_file.path)
    except (pa.ArrowException, OSError) as exc:
        raise FeedFileError(
            f"{feed_file.path.name}: not a readable Parquet file ({exc}); re-export it"
        ) from exc


def estimate_rows(feed_file: FeedFile) -> int:
    """Rows in the file, for progress display (CSV with line breaks inside fields over-counts)."""
    if feed_file.file_format == "parquet":
        return int(_parquet(feed_file).metadata.num_rows)
    lines = 0
    last = b"\n"
    with feed_file.path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - (1 if feed_file.file_format == "csv" else 0), 0)


# --- row streams --------------------------------------------------------------------------


class RowChunk(Sequence[SourceRow]):
    """Consecutive rows of one file, numbered.

    A CSV chunk whose rows all have the header's width, in a file that is wholly UTF-8, is
    kept as a frame of text columns (``columns``): a vectorised check reads that without a
    dict per row, and a row's ``SourceRow`` is made only if something asks for it (a row the
    check sends to the model, or one that is quarantined).
    """

    __slots__ = ("_first_number", "_frame", "_rows", "columns")

    def __init__(self, rows: list[SourceRow]) -> None:
        self._rows: list[SourceRow | None] = list(rows)
        self._frame: pl.DataFrame | None = None
        self._first_number = 1
        self.columns: dict[str, pl.Series] | None = None

    @classmethod
    def of_frame(cls, frame: pl.DataFrame, *, first_number: int) -> RowChunk:
        """Rows held as a frame of text columns, the first numbered ``first_number``."""
        chunk = cls([])
        chunk._rows = [None] * frame.height
        chunk._frame = frame
        chunk._first_number = first_number
        chunk.columns = {series.name: series for series in frame.iter_columns()}
        return chunk

    @classmethod
    def of_fields(
        cls, header: list[str], fields: list[list[str]], *, first_number: int
    ) -> RowChunk:
        """Rows of CSV fields, each as wide as the header."""
        # One transposition in C instead of a dict per row; a repeated header name keeps its
        # last column, as dict(zip(header, fields)) does for a row.
        columns = dict(zip(header, zip(*fields, strict=True), strict=True)) if fields else {}
        frame = pl.DataFrame(
            {name: pl.Series(name, columns.get(name, ()), dtype=pl.Utf8) for name in header}
        )
        return cls.of_frame(frame, first_number=first_number)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> SourceRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[SourceRow]: ...

    def __getitem__(self, index: int | slice) -> SourceRow | list[SourceRow]:
        if isinstance(index, slice):
            return [self[position] for position in range(*index.indices(len(self)))]
        row = self._rows[index]
        if row is None:
            assert self._frame is not None
            position = index if index >= 0 else len(self._rows) + index
            row = SourceRow(
                number=self._first_number + position,
                values=dict(zip(self._frame.columns, self._frame.row(position), strict=True)),
                plain_text=True,
            )
            self._rows[position] = row
        return row

    def __iter__(self) -> Iterator[SourceRow]:
        for position in range(len(self._rows)):
            yield self[position]

    def has_column(self, name: str) -> bool:
        """Whether any row of the chunk has a value for ``name`` (even an empty one)."""
        if self.columns is not None:
            return name in self.columns
        return any(row.values is not None and name in row.values for row in self._rows if row)


def read_chunks(feed_file: FeedFile, chunk_rows: int) -> Iterator[RowChunk]:
    """The file's rows in chunks of at most ``chunk_rows``."""
    if feed_file.file_format == "csv":
        yield from _csv_chunks(feed_file, chunk_rows)
        return
    if feed_file.file_format == "parquet":
        yield from _parquet_chunks(feed_file, chunk_rows)
        return
    chunk: list[SourceRow] = []
    for row in _jsonl_rows(feed_file):
        chunk.append(row)
        if len(chunk) >= chunk_rows:
            yield RowChunk(chunk)
            chunk = []
    if chunk:
        yield RowChunk(chunk)


def _row_limit() -> int:
    return get_settings().import_max_row_bytes


@overload
def _bounded_lines(handle: BinaryIO, feed_file: FeedFile) -> Iterator[bytes]: ...


@overload
def _bounded_lines(handle: TextIO, feed_file: FeedFile) -> Iterator[str]: ...


def _bounded_lines(handle: BinaryIO | TextIO, feed_file: FeedFile) -> Iterator[Any]:
    """The file's lines, none longer than ``import_max_row_bytes``: a longer one refuses the
    CSV file, whose records cannot be told apart once one is cut (issue 12 finding 5: a file
    of one huge line, or of a pattern of separators, must not be read whole into memory)."""
    limit = _row_limit()
    number = 0
    while line := handle.readline(limit + 1):
        number += 1
        if len(line) > limit:
            raise FeedFileError(
                f"{feed_file.path.name}: line {number} is longer than {limit:,} bytes "
                "(FULLPICTURE_IMPORT_MAX_ROW_BYTES); no feed row is that long: check the "
                "file is a CSV feed, with its line breaks"
            )
        yield line


def _open_csv(path: Path) -> Any:
    # surrogateescape keeps undecodable bytes, so one badly encoded row is quarantined
    # with its bytes visible instead of failing the whole file.
    return path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")


def _has_undecodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _escape(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _encoding_reason(column: str) -> QuarantineReason:
    return QuarantineReason(
        field=column,
        message=(
            "contains bytes that are not UTF-8 (shown as \\xNN in the raw row); "
            "save the file as UTF-8 and send the row again"
        ),
    )


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is UTF-8 (then no row needs checking on its own)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                decoder.decode(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# One CSV record on one line, as RFC 4180 writes it: unquoted fields without quotes, commas
# or line breaks, quoted fields with their quotes doubled and no line break inside.
_CSV_FIELD = r'(?:[^",\r\n\x00]*|"(?:[^"\r\n\x00]|"")*")'
_CSV_LINE = rf"^{_CSV_FIELD}(?:,{_CSV_FIELD})*$"
_CSV_QUOTED = r'"(?:[^"]|"")*"'


def _csv_chunks(feed_file: FeedFile, chunk_rows: int) -> Iterator[RowChunk]:
    utf8 = _is_utf8(feed_file.path)
    rows_read = 0
    if utf8:
        stopped_at = yield from _regular_csv_chunks(feed_file, chunk_rows)
        if stopped_at is None:
            return
        rows_read = stopped_at
    yield from _python_csv_chunks(feed_file, chunk_rows, check_encoding=not utf8, skip=rows_read)


def _regular_csv_chunks(
    feed_file: FeedFile, chunk_rows: int
) -> Generator[RowChunk, None, int | None]:
    """The file's chunks, parsed by polars, for as long as every record sits on one line of
    its own in plain RFC 4180 form (where polars and Python's csv module read alike). At the
    first chunk that does not, stop and return how many rows were yielded, so the csv module
    can go on from there; return None when the whole file was read."""
    with feed_file.path.open("rb") as handle:
        file_lines = _bounded_lines(handle, feed_file)
        first_line = next(file_lines, b"").decode("utf-8-sig").rstrip("\r\n")
        if not re.fullmatch(_CSV_LINE, first_line):
            return 0
        header = [name.strip().lower() for name in next(csv.reader([first_line]))]
        if len(set(header)) != len(header):
            return 0
        rows_read = 0
        while block := list(itertools.islice(file_lines, chunk_rows)):
            text = b"".join(block).decode("utf-8")
            # A blank line is not a row (as for the csv module).
            lines = _record_lines(text)
            if not lines.len():
                continue
            regular = (
                lines.str.contains(_CSV_LINE).all()
                and (
                    lines.str.replace_all(_CSV_QUOTED, "").str.count_matches(",", literal=True) + 1
                    == len(header)
                ).all()
            )
            if not regular:
                return rows_read
            frame = pl.read_csv(
                lines.str.join("\n").item().encode(),
                has_header=False,
                schema={name: pl.Utf8 for name in header},
                empty_string_is_null=False,
                quote_char='"',
            )
            if frame.height != lines.len():
                return rows_read
            yield RowChunk.of_frame(frame, first_number=rows_read + 1)
            rows_read += frame.height
    return None


def _record_lines(text: str) -> pl.Series:
    """The non-blank lines of ``text``, without their line endings."""
    lines = pl.Series("line", [text]).str.split("\n").explode().str.strip_suffix("\r")
    return lines.filter(lines != "")


def _python_csv_chunks(
    feed_file: FeedFile, chunk_rows: int, *, check_encoding: bool, skip: int
) -> Iterator[RowChunk]:
    """The file's chunks as the csv module reads them, after the first ``skip`` rows."""
    # A quoted field may run over many lines: it too is held to the row limit.
    csv.field_size_limit(_row_limit())
    with _open_csv(feed_file.path) as handle:
        reader = csv.reader(_bounded_lines(handle, feed_file))
        header = [name.strip().lower() for name in next(reader)]
        width = len(header)
        number = 0
        try:
            if skip:
                # A blank line is not a row.
                number = sum(1 for _row in itertools.islice(filter(None, reader), skip))
            while block := list(itertools.islice(reader, chunk_rows)):
                fields = [row for row in block if row]
                if not fields:
                    continue
                if not check_encoding and all(len(row) == width for row in fields):
                    yield RowChunk.of_fields(header, fields, first_number=number + 1)
                else:
                    yield RowChunk(
                        [
                            _csv_row(number + offset, header, row, check_encoding)
                            for offset, row in enumerate(fields, start=1)
                        ]
                    )
                number += len(fields)
        except csv.Error as exc:
            raise FeedFileError(
                f"{feed_file.path.name}: cannot be read as CSV at line {reader.line_num} "
                f"({exc}); check its quoting"
            ) from exc


def _csv_row(number: int, header: list[str], fields: list[str], check_encoding: bool) -> SourceRow:
    """One CSV row as a ``SourceRow``, with what is wrong with its shape or its bytes."""
    width = len(header)
    # A short or long row is reported below.
    values = dict(zip(header, fields, strict=False))
    row = SourceRow(number=number, values=values, plain_text=True)
    if len(fields) != width:
        row.problems.append(
            QuarantineReason(
                field="row",
                message=(
                    f"has {len(fields)} fields but the header has {width}; "
                    "check for an unquoted comma or quote"
                ),
            )
        )
        if len(fields) > width:
            values["_extra_fields"] = "|".join(fields[width:])
    if check_encoding and _has_undecodable("".join(fields)):
        for column, value in list(values.items()):
            if _has_undecodable(value):
                row.problems.append(_encoding_reason(column))
                values[column] = _escape(value)
    return row


def _jsonl_lines(handle: BinaryIO, limit: int) -> Iterator[tuple[bytes, bool]]:
    """Each line, and whether it was longer than ``limit`` (then only its start is kept and
    the rest is read past in blocks, so one huge line never sits in memory)."""
    while line := handle.readline(limit + 1):
        if len(line) <= limit or line.endswith(b"\n"):
            yield line, False
            continue
        while (rest := handle.readline(limit + 1)) and not rest.endswith(b"\n"):
            pass
        yield line[:200], True


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                break
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _jsonl_rows(feed_file: FeedFile) -> Iterator[SourceRow]:
    limit = _row_limit()
    with feed_file.path.open("rb") as handle:
        for number, (line, too_long) in enumerate(_jsonl_lines(handle, limit), start=1):
            if number == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if too_long:
                reason = QuarantineReason(
                    field="row",
                    message=(
                        f"is longer than {limit:,} bytes (FULLPICTURE_IMPORT_MAX_ROW_BYTES); "
                        "no feed row is that long (its start is kept)"
                    ),
                )
                raw = line.decode("utf-8", "backslashreplace") + "…"
                yield SourceRow(number, None, [reason], raw)
                continue
            if not line.strip():
                continue
            problems: list[QuarantineReason] = []
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                text = line.decode("utf-8", "surrogateescape")
                problems.append(_encoding_reason("row"))
            try:
                values = json.loads(text)
                if _depth(values) > MAX_JSON_DEPTH:
                    raise RecursionError
            except RecursionError:
                problems.append(
                    QuarantineReason(
                        field="row",
                        message=(
                            f"nests lists or objects more than {MAX_JSON_DEPTH} levels deep; "
                            "a feed row is one object of values, lists and objects"
                        ),
                    )
                )
                yield SourceRow(number, None, problems, _escape(text.rstrip("\r\n"))[:2000])
                continue
            except json.JSONDecodeError as exc:
                problems.append(
                    QuarantineReason(
                        field="row",
                        message=f"is not valid JSON ({exc.msg} at column {exc.colno}); "
                        "each line must be one JSON object",
                    )
                )
                yield SourceRow(number, None, problems, _escape(text.rstrip("\r\n")))
                continue
            if not isinstance(values, dict):
                problems.append(
                    QuarantineReason(field="row", message="is not a JSON object ({...})")
                )
                yield SourceRow(number, None, problems, _escape(text.rstrip("\r\n")))
                continue
            if problems:
                values = {
                    key: _escape(value) if isinstance(value, str) else value
                    for key, value in values.items()
                }
            # null is blank, as for every row model (FeedRow._strip_blanks).
            plain = all(value is None or type(value) is str for value in values.values())
            yield SourceRow(number, values, problems, plain_text=plain)


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_string_view(kind)
        or pa.types.is_null(kind)
    )


def _parquet_chunks(feed_file: FeedFile, chunk_rows: int) -> Iterator[RowChunk]:
    parquet = _parquet(feed_file)
    names = [name.strip().lower() for name in parquet.schema_arrow.names]
    if len(set(names)) == len(names) and all(map(_is_text, parquet.schema_arrow.types)):
        # Every column is text: the chunks go to the vectorised check as frames, as a plain
        # CSV file's do, and a row's SourceRow is made only if something asks for it.
        number = 0
        try:
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                frame = pl.DataFrame(pl.from_arrow(batch)).rename(
                    dict(zip(batch.schema.names, names, strict=True))
                )
                frame = frame.with_columns(pl.all().cast(pl.Utf8))
                yield RowChunk.of_frame(frame, first_number=number + 1)
                number += frame.height
        except (pa.ArrowException, OSError) as exc:
            raise FeedFileError(
                f"{feed_file.path.name}: cannot be read after row {number} ({exc}); re-export it"
            ) from exc
        return
    for rows in _typed_parquet_chunks(feed_file, parquet, chunk_rows):
        yield RowChunk(rows)


def _typed_parquet_chunks(
    feed_file: FeedFile, parquet: pq.ParquetFile, chunk_rows: int
) -> Iterator[list[SourceRow]]:
    binary_columns = [
        name
        for name, kind in zip(parquet.schema_arrow.names, parquet.schema_arrow.types, strict=True)
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
    ]
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            chunk: list[SourceRow] = []
            for values in batch.to_pylist():
                number += 1
                values = {key.strip().lower(): value for key, value in values.items()}
                row = SourceRow(number=number, values=values)
                # Text in a Parquet string column is UTF-8 by definition; a binary column
                # may hold anything, so decode it here, row by row.
                for name in binary_columns:
                    key = name.strip().lower()
                    value = values.get(key)
                    if isinstance(value, bytes):
                        try:
                            values[key] = value.decode("utf-8")
                        except UnicodeDecodeError:
                            values[key] = value.decode("utf-8", "backslashreplace")
                            row.problems.append(_encoding_reason(key))
                chunk.append(row)
            yield chunk
    except (pa.ArrowException, OSError) as exc:
        raise FeedFileError(
            f"{feed_file.path.name}: cannot be read after row {number} ({exc}); re-export it"
        ) from exc
