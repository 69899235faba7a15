"""The feed readers under hostile input (issue 12 finding 5): whatever bytes arrive, a reader
yields rows (each bad one with its problem) or refuses the file with ``FeedFileError``, never
another exception, and never more memory than a cap.

Two caps: the Python heap (tracemalloc) of each hypothesis example, and the whole process's
address space (``RLIMIT_AS``) in a subprocess that reads the large hostile files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fullpicture.imports.readers import FeedFile, FeedFileError, check_file, read_chunks
from fullpicture.imports.rows import EventRow

HEADER = ",".join(EventRow.columns).encode()
#: The bytes hostile files are made of: separators, quotes, line breaks, formula and JSON
#: syntax, NUL, bytes that are not UTF-8, and a little text.
HOSTILE = st.sampled_from(
    [b",", b";", b'"', b"\n", b"\r", b"=", b"{", b"}", b"[", b"]", b":", b"\x00", b"\xff",
     b"\xef\xbb\xbf", b"a", b"gp-ashdown", b"2024-01-01", b" ", b"\\", b"|"]
)  # fmt: skip
HEAP_CAP = 32 * 1024 * 1024  # for inputs of at most a few tens of KiB


def _read_all(feed_file: FeedFile) -> int:
    """Rows read, or -1 when the file is refused as a whole (the only error allowed)."""
    try:
        check_file(feed_file)
        return sum(len(chunk) for chunk in read_chunks(feed_file, 1000))
    except FeedFileError:
        return -1


def _peak_of(feed_file: FeedFile) -> int:
    tracemalloc.start()
    try:
        _read_all(feed_file)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(HOSTILE, max_size=400), repeat=st.integers(1, 50), header=st.booleans())
def test_hostile_csv_is_read_or_refused_within_the_cap(
    tmp_path_factory: object, body: list[bytes], repeat: int, header: bool
) -> None:
    path = Path(tmp_path_factory.mktemp("csv")) / "events.csv"  # type: ignore[attr-defined]
    path.write_bytes((HEADER + b"\n" if header else b"") + b"".join(body) * repeat)
    assert _peak_of(FeedFile(path, "events", "csv")) < HEAP_CAP


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.lists(HOSTILE, max_size=400), depth=st.integers(0, 5000))
def test_hostile_json_lines_are_read_or_refused_within_the_cap(
    tmp_path_factory: object, body: list[bytes], depth: int
) -> None:
    path = Path(tmp_path_factory.mktemp("jsonl")) / "events.jsonl"  # type: ignore[attr-defined]
    nested = b'{"agency": "gp-ashdown", "x": ' + b"[" * depth + b"]" * depth + b"}\n"
    path.write_bytes(b"".join(body) + b"\n" + nested)
    feed_file = FeedFile(path, "events", "jsonl")
    assert _read_all(feed_file) >= 1  # a JSON Lines file is never refused whole
    assert _peak_of(feed_file) < HEAP_CAP


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.one_of(st.none(), st.text(max_size=50), st.binary(max_size=50)), max_size=50
    ),
    garbage=st.binary(max_size=200),
)
def test_hostile_parquet_is_read_or_refused_within_the_cap(
    tmp_path_factory: object, values: list[str | bytes | None], garbage: bytes
) -> None:
    directory = Path(tmp_path_factory.mktemp("parquet"))  # type: ignore[attr-defined]
    texts = [v if not isinstance(v, bytes) else v.decode("latin-1") for v in values]
    table = pa.table(
        {
            "agency": pa.array(texts, pa.string()),
            "event_id": pa.array(texts, pa.string()),
            "event_date": pa.array(texts, pa.string()),
            "concern_code": pa.array(texts, pa.string()),
            "summary": pa.array([v if isinstance(v, bytes) else None for v in values], pa.binary()),
            "information_type": pa.array(texts, pa.string()),
            "people": pa.array(texts, pa.string()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    good = directory / "events.parquet"
    good.write_bytes(buffer.getvalue())
    assert _read_all(FeedFile(good, "events", "parquet")) == len(values)
    broken = directory / "broken.events.parquet"
    broken.write_bytes(buffer.getvalue()[: len(garbage)] + garbage)
    assert _peak_of(FeedFile(broken, "events", "parquet")) < HEAP_CAP


ADDRESS_SPACE_CAP = 3 * 1024 * 1024 * 1024  # the whole process: interpreter, polars, pyarrow

_LARGE_HOSTILE_FILES = textwrap.dedent(
    """
    import resource, sys
    from pathlib import Path
    resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
    from fullpicture.imports.readers import FeedFile, FeedFileError, check_file, read_chunks
    out = Path(sys.argv[1])
    header = sys.argv[2].encode() + b"\\n"
    files = {{
        "bomb.events.csv": header + b";\\n=\\r;=\\n\\r=;" * 100_000,  # 1 MB of separators
        "line.events.csv": header + b"a" * 8_000_000,  # one 8 MB line
        "quote.events.csv": header + b'"' + b"x\\n" * 1_000_000,  # a quote never closed
        "nested.events.jsonl": b"[" * 1_000_000 + b"\\n" + b"{{}}\\n",
        "line.events.jsonl": b'{{"a": "' + b"a" * 8_000_000 + b'"}}\\n{{}}\\n',
    }}
    for name, content in files.items():
        path = out / name
        path.write_bytes(content)
        fmt = "csv" if name.endswith(".csv") else "jsonl"
        try:
            check_file(FeedFile(path, "events", fmt))
            rows = sum(len(chunk) for chunk in read_chunks(FeedFile(path, "events", fmt), 50_000))
        except FeedFileError as exc:
            rows = -1
        print(name, rows)
    """
)


def test_large_hostile_files_are_read_or_refused_under_an_address_space_cap(
    tmp_path: Path,
) -> None:
    script = _LARGE_HOSTILE_FILES.format(cap=ADDRESS_SPACE_CAP)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), HEADER.decode()],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = dict(line.split() for line in done.stdout.splitlines())
    assert rows["line.events.csv"] == "-1" and rows["quote.events.csv"] == "-1"
    assert rows["nested.events.jsonl"] == "2" and rows["line.events.jsonl"] == "2"
    assert json.loads(json.dumps(rows))  # every file answered
