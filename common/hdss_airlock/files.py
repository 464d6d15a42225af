"""One outbox file: its name, size, type and encoding, then the rules of its format."""

from __future__ import annotations

import re

from . import ids
from .documents import check_figure, check_html, check_json, check_latex, check_markdown
from .formats import read_csv, sniff
from .model import BLOCK, FLAG, FileReport, Position, Settings
from .notebook import check_notebook
from .scope import Scope
from .tables import check_table
from .text import check_text, normal

COMPRESSED = (
    ".gz",
    ".zip",
    ".bz2",
    ".xz",
    ".zst",
    ".7z",
    ".rar",
    ".tar",
    ".tgz",
    ".tbz2",
    ".lz4",
    ".z",
    ".lzma",
    ".br",
)
BINARY = (
    ".parquet", ".feather", ".arrow", ".ipc", ".pkl", ".pickle", ".npy", ".npz", ".h5", ".hdf5",
    ".sqlite", ".sqlite3", ".db", ".duckdb", ".xlsx", ".xls", ".xlsm", ".docx", ".doc", ".pptx",
    ".odt", ".ods", ".sav", ".dta", ".rds", ".rdata", ".rda", ".sas7bdat", ".mat", ".joblib", ".bin", ".dat",
)  # fmt: skip
FIGURE_TYPES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".pdf": "pdf"}
MAGIC = [
    (b"\x1f\x8b", "gzip-compressed"),
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"(\xb5/\xfd", "zstd-compressed"),
    (b"7z\xbc\xaf'\x1c", "a 7z archive"),
    (b"Rar!", "a rar archive"),
    (b"\x04\x22\x4d\x18", "lz4-compressed"),
]
BINARY_MAGIC = [
    (b"PAR1", "Parquet"),
    (b"ARROW1", "Arrow"),
    (b"SQLite format 3\x00", "SQLite"),
    (b"\x93NUMPY", "NumPy"),
    (b"\x89HDF", "HDF5"),
    (b"\x7fELF", "a program"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
]
# A file name as the airlock accepts it (the service's promotion.paths.PART_RE).
NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._ -]{0,127}$")


def check_file(
    path: str,
    data: bytes,
    cfg: Settings,
    sha256: str = "",
    *,
    authored: frozenset[str] | None = None,
) -> FileReport:
    """The report for one outbox file (its path relative to the outbox, and its bytes).

    ``authored``: :func:`.notebook.authored_cells` of the notebooks that were run; their
    own cells in an executed notebook are then not read as outputs. Without it every
    markdown and raw cell is read as output (code cells for ids and row-level data)."""
    report = FileReport(path=path, size=len(data), sha256=sha256)
    scope = Scope(report, cfg, Position(part="file"), authored)
    _name(path, scope.at(part="name"))
    if len(data) > cfg.max_file_bytes:
        scope.add(
            "too-large", BLOCK, f"{len(data):,} bytes, over the limit of {cfg.max_file_bytes:,}"
        )
        return report
    lower = path.lower()
    ext = "." + lower.rsplit(".", 1)[-1] if "." in lower.rsplit("/", 1)[-1] else ""
    for magic, what in MAGIC:
        if data.startswith(magic) and ext not in (".xlsx", ".docx", ".pptx", ".odt", ".ods"):
            scope.add(
                "compressed", BLOCK, f"the file is {what}: compressed files cannot be checked"
            )
            return report
    if ext in COMPRESSED or lower.endswith((".tar.gz", ".tar.bz2", ".tar.xz")):
        scope.add("compressed", BLOCK, "a compressed file or archive cannot be checked")
        return report
    if ext in BINARY:
        scope.add(
            "binary",
            BLOCK,
            "binary content: only text tables, notebooks and figures leave the secure environment",
        )
        return report
    if ext in FIGURE_TYPES:
        check_figure(FIGURE_TYPES[ext], data, scope.at(part="figure"))
        return _finish(report, scope)
    for magic, what in BINARY_MAGIC:
        if data.startswith(magic):
            scope.add("binary", BLOCK, f"binary content ({what}), whatever its name says")
            return report
    text = decode(data, scope)
    if text is None:
        return report
    if ext == ".svg":
        check_figure("svg", text, scope.at(part="figure"))
    elif ext == ".ipynb":
        check_notebook(text, scope)
    elif ext in (".csv", ".tsv"):
        s = scope.at(part="table")
        text = normal(text, s)
        delimiter = sniff(text, "\t" if ext == ".tsv" else None)
        header, rows = read_csv(text, delimiter, cfg.max_table_rows)
        check_table(header, rows, s)
    elif ext == ".json":
        check_json(text, scope.at(part="json"))
    elif ext in (".html", ".htm"):
        _free_text(check_html(text, scope.at(part="text")), scope)
    elif ext in (".md", ".markdown"):
        _free_text(check_markdown(text, scope.at(part="text")), scope)
    elif ext == ".tex":
        _free_text(check_latex(text, scope.at(part="text")), scope)
    elif ext in (".txt", ".log", ".text", ""):
        s = scope.at(part="text")
        spans = check_text(text, s)
        from .documents import _prose_words

        _free_text(_prose_words(normal(text, s), spans), scope)
    else:
        scope.add(
            "unknown-type", BLOCK, "unknown file type: write tables as .csv, figures as .png/.svg"
        )
    return _finish(report, scope)


def _name(path: str, scope: Scope) -> None:
    """A file's name can carry a value too: a person id in it blocks."""
    kind = ids.find(path.replace("/", " "), hashes=True)
    if kind:
        scope.add("person-id", BLOCK, f"the file name holds {kind}")


def decode(data: bytes, scope: Scope) -> str | None:
    """The text of a file: UTF-8 (with or without a BOM), or UTF-16 with a BOM. Anything
    else blocks: binary content, or text in an unknown encoding."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        controls = sum(1 for b in data[:65536] if b < 32 and b not in (9, 10, 12, 13))
        if b"\x00" in data[:65536] or controls > len(data[:65536]) // 100:
            scope.add(
                "binary",
                BLOCK,
                "binary content: only text tables, notebooks and figures leave the secure environment",
            )
        else:
            scope.add(
                "encoding", BLOCK, "text in an unknown encoding (not UTF-8): save it as UTF-8"
            )
        return None
    if "\x00" in text:
        scope.add("binary", BLOCK, "binary content (NUL bytes)")
        return None
    return text


def _free_text(words: int, scope: Scope) -> None:
    if words:
        scope.add(
            "free-text",
            FLAG,
            f"{words} words of free text cannot be checked for small counts by a program: a person must read them",
        )


def _finish(report: FileReport, scope: Scope) -> FileReport:
    """Rows of one shape added up over the whole file (a table split in pieces, records
    printed line by line)."""
    limit = scope.cfg.max_table_rows
    for key, shape in report.shapes.items():  # type: ignore[attr-defined]
        if len(shape.rows) > limit and not (key[0] == "lines" and len(key[1]) < 3):
            what = "printed lines" if key[0] == "lines" else "table rows"
            report.add(
                "row-level",
                BLOCK,
                f"{len(shape.rows)} distinct {what} of one shape, more than the {limit} an "
                "aggregate may have: looks like row-level data",
                shape.where,
            )
    return report
