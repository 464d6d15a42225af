"""The promotion contract: every table and column a notebook reads exists in the
restricted dataset's schema (its Frictionless ``datapackage.json``).

The check is static, and DuckDB itself does the SQL part. The SQL held in the notebook's
string literals (queries through ``hdss_data.open_dataset``) and its ``.table("name")``
calls are parsed by DuckDB and bound (PREPARE, never run), cell by cell in notebook order,
against *empty* tables of the restricted schema in an in-memory database that cannot touch
the file system. DuckDB's binder therefore resolves CTEs, subqueries, quoted names and
aliases, and names the table or column it cannot find. Views and tables the notebook
creates are made (tables as views: nothing is executed) so later cells see them.

A string passed to ``con.sql``/``con.execute`` that DuckDB cannot parse is a problem (what
it reads cannot be checked). Errors that are not about names (types, unknown functions)
end the check of that statement without a problem: the run would meet them on any data.

Files read directly (``read_parquet('...')``, ``from 'x.parquet'``) are rewritten before
binding: a path to a table's files in the restricted dataset (``f"{data_root}/bef/*.parquet"``
or ``/data/restricted/<name>/bef/...``) becomes that table; any other path is a problem.

Data frames of the notebook that DuckDB reads by their Python name, and frames registered
with ``con.register``, have no schema the check can know: they become open placeholders
that take whatever column is asked of them, so only the dataset's own tables are held to
the manifest. A miss is reported by name with the table it was expected in, so the
researcher can fix the code in the sandbox before anything reaches real data.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import duckdb

# A string is SQL when it starts with a statement keyword written as SQL is (all lower or
# all upper case); "Select the persons from ..." in a print() is prose.
SQL_HINT = re.compile(
    r"^\s*(?:(?:with|select|from|create|insert|copy|describe|summarize)|"
    r"(?:WITH|SELECT|FROM|CREATE|INSERT|COPY|DESCRIBE|SUMMARIZE))\b"
)
REGISTERED = re.compile(
    r"\.(?:register|create_view|to_view)\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]"
)
TABLE_CALL = re.compile(r"\.(?:table|view)\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]")
# Calls whose first argument DuckDB runs as SQL. ``.query`` is left out: pandas'
# DataFrame.query takes a Python expression.
SQL_CALLS = frozenset({"sql", "execute", "executemany"})

# A value formatted into an f-string inside a SQL string literal stays visible between these
# marks, so f"read_parquet('{data_root}/bef/*.parquet')" reads as the dataset root and then
# a table's files. A value outside quotes becomes 0 (a number, the usual case).
VALUE_OPEN, VALUE_CLOSE = "\u2983", "\u2984"
FORMATTED_ROOT = re.compile(f"^{VALUE_OPEN}[^{VALUE_CLOSE}]*{VALUE_CLOSE}/")
RESTRICTED_MOUNT = "/data/restricted"  # where a promotion run sees the dataset

# Table functions that read files. A path into a table of the dataset becomes that table for
# the row readers; for the others (CSV, JSON, metadata, ...) an open placeholder.
ROW_READERS = frozenset({"read_parquet", "parquet_scan"})
FILE_READERS = ROW_READERS | frozenset(
    """
read_csv read_csv_auto sniff_csv read_json read_json_auto read_json_objects
read_json_objects_auto read_ndjson read_ndjson_auto read_ndjson_objects read_text read_blob
read_xlsx read_ipc read_avro parquet_metadata parquet_schema parquet_file_metadata
parquet_kv_metadata parquet_bloom_probe glob iceberg_scan delta_scan st_read sqlite_scan
""".split()
)
# Frictionless field types as DuckDB column types (a field without a type is a string).
DUCKDB_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "time": "TIME",
    "year": "INTEGER",
    "duration": "INTERVAL",
}
CHECKER_CONFIG = {
    "enable_external_access": False,  # no file is ever opened while checking
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "python_enable_replacements": False,  # no Python variable of the checker is a table
    "threads": 1,
}
OPEN_COLUMN = "__hdss_open__"  # the one column an open placeholder starts with
PREPARED = "__hdss_contract__"
MAX_REPAIRS = 50  # placeholders and columns added while binding one statement
# Query parameters ($name, ?) and the columns of data frames have no type the check can know:
# they are bound as NULLs. Where a NULL leaves a call ambiguous (year($d), $start + interval,
# coalesce(frame.onset, '9999-12-31')) binding stops there, and left as parameters DuckDB
# would silently defer binding the whole statement. So these types are tried, one parameter
# or frame column at a time, then for all parameters at once.
TYPE_GUESSES = ("DATE", "BIGINT", "DOUBLE", "VARCHAR", "TIMESTAMP", "INTERVAL")

# DuckDB's error messages (its own wording, not SQL) name what the binder could not find.
MISSING_TABLE = re.compile(r'Table with name "?(.+?)"? does not exist')
MISSING_QUALIFIED = re.compile(
    r'(?:Table|Values list) "(.+?)" does not have a column named "(.+?)"'
)
MISSING_COLUMN = re.compile(
    r'Referenced column "(.+?)" not found in FROM clause|'
    r'Column "(.+?)" does not exist on (?:left|right) side of join'
)
FILE_ACCESS = re.compile(r'Cannot access file "(.*?)"')
NO_LOCATION = 2**64 - 1


@dataclass
class Problem:
    kind: str  # "table", "column", "path" or "sql"
    name: str
    where: str  # cell id or number
    detail: str

    def to_json(self) -> dict[str, str]:
        return self.__dict__.copy()


@dataclass
class ContractReport:
    notebook: str
    dataset: str
    version: str
    tables: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok:
            return (
                f"{self.notebook}: reads {len(self.tables)} table(s) and "
                f"{len(self.columns)} column(s), all in {self.dataset} {self.version}"
            )
        lines = [
            f"{self.notebook}: {len(self.problems)} reference(s) not in the restricted "
            f"dataset {self.dataset} {self.version}:"
        ]
        lines += [f"  - {p.kind} {p.name} ({p.where}): {p.detail}" for p in self.problems]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "notebook": self.notebook,
            "dataset": self.dataset,
            "version": self.version,
            "ok": self.ok,
            "tables": self.tables,
            "columns": self.columns,
            "problems": [p.to_json() for p in self.problems],
            "summary": self.summary(),
        }


@dataclass(frozen=True)
class SqlText:
    """A string of a code cell that DuckDB may run."""

    text: str
    direct: bool = False  # passed straight to con.sql/execute: a parse error is a problem
    dynamic: bool = False  # an f-string with values outside string literals


def schema_of(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """``{table: {column, ...}}`` from a Frictionless data package."""
    return {table: set(columns) for table, columns in _schema_types(manifest).items()}


def _schema_types(manifest: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``{table: {column: DuckDB type}}`` from a Frictionless data package."""
    out: dict[str, dict[str, str]] = {}
    for res in manifest.get("resources") or []:
        fields = ((res.get("schema") or {}).get("fields")) or []
        out[str(res.get("name", "")).lower()] = {
            str(f.get("name", "")).lower(): DUCKDB_TYPES.get(str(f.get("type")), "VARCHAR")
            for f in fields
        }
    return out


def _table_files(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """``{table: [relative path of each file]}`` as the manifest lists them."""
    out: dict[str, list[str]] = {}
    for res in manifest.get("resources") or []:
        paths = res.get("path") or []
        out[str(res.get("name", "")).lower()] = [paths] if isinstance(paths, str) else paths
    return out


def python_names(source: str) -> set[str]:
    """Names the cell binds in Python (DuckDB reads a data frame variable as a table)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id.lower())
        elif isinstance(node, ast.arg):
            names.add(node.arg.lower())
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name.lower())
    return names


def sql_strings(source: str) -> list[str]:
    """The string literals of a code cell that look like SQL or are run as SQL."""
    return [t.text for t in _sql_texts(source)]


def _parse_cell(source: str) -> ast.Module | None:
    """The cell's Python, read past IPython: ``%time code`` is the code, while cell magics
    (``%%time``) and shell lines (``!ls``) are left out."""
    try:
        return ast.parse(source)
    except SyntaxError:
        pass
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        indent = line[: len(line) - len(stripped)]
        if stripped.startswith("%%") or stripped.startswith("!"):
            line = indent + "pass"
        elif stripped.startswith("%"):
            line = indent + (stripped.split(None, 1)[1:] or ["pass"])[0]
        lines.append(line)
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _formatted(node: ast.JoinedStr) -> SqlText:
    """An f-string as SQL: a value inside quotes stays visible, a value outside becomes 0."""
    out: list[str] = []
    dynamic = False
    for part in node.values:
        if isinstance(part, ast.Constant):
            out.append(str(part.value))
            continue
        before = "".join(out)
        in_string = before.count("'") % 2 == 1
        if in_string or before.count('"') % 2 == 1:
            expr = re.sub(r"['\"]", "", ast.unparse(part.value))
            out.append(VALUE_OPEN + expr + VALUE_CLOSE)
        else:
            out.append(" 0 ")
        dynamic = dynamic or not in_string
    return SqlText("".join(out), dynamic=dynamic)


def _sql_texts(source: str) -> list[SqlText]:
    """The cell's SQL candidates in source order (order matters: views, then their use)."""
    tree = _parse_cell(source)
    if tree is None:  # not Python: fall back to the quoted text in the cell
        found = re.findall(
            r'"""(.*?)"""|\'\'\'(.*?)\'\'\'|"([^"\n]*)"|\'([^\'\n]*)\'', source, re.S
        )
        return [SqlText(t) for t in ("".join(f) for f in found) if SQL_HINT.search(t)]
    nodes = list(ast.walk(tree))
    direct = {
        id(n.args[0])
        for n in nodes
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in SQL_CALLS
        and n.args
    }
    parts = {id(v) for n in nodes if isinstance(n, ast.JoinedStr) for v in n.values}
    found: list[tuple[tuple[int, int], SqlText]] = []
    for node in nodes:
        if id(node) in parts:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = SqlText(node.value)
        elif isinstance(node, ast.JoinedStr):
            text = _formatted(node)
        else:
            continue
        if id(node) in direct:
            text = SqlText(text.text, direct=True, dynamic=text.dynamic)
        if text.direct or SQL_HINT.search(text.text):
            found.append(((node.lineno, node.col_offset), text))
    return [text for _, text in sorted(found, key=lambda item: item[0])]


def code_cells(notebook: dict[str, Any]) -> list[tuple[str, str]]:
    cells = []
    for i, cell in enumerate(notebook.get("cells") or []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        cells.append((str(cell.get("id") or f"cell {i + 1}"), src))
    return cells


def _notebook_sql(cells: list[tuple[str, str]]) -> tuple[list[tuple[str, SqlText]], set[str]]:
    """Every SQL text in notebook order, and the names of the notebook's own frames."""
    statements: list[tuple[str, SqlText]] = []
    frames: set[str] = set()
    for where, source in cells:
        frames |= python_names(source)
        frames.update(n.lower() for n in REGISTERED.findall(source))
        for name in TABLE_CALL.findall(source):
            statements.append((where, SqlText(f"select * from {_ident(name)}", direct=True)))
        statements += [(where, text) for text in _sql_texts(source)]
    return statements, frames


def check_notebook(
    notebook: dict[str, Any] | str | bytes, manifest: dict[str, Any], name: str = "notebook"
) -> ContractReport:
    """Check one notebook (parsed JSON or its text) against one dataset manifest."""
    if isinstance(notebook, (str, bytes)):
        notebook = json.loads(notebook)
    report = ContractReport(
        notebook=name,
        dataset=str(manifest.get("name", "")),
        version=str(manifest.get("version", "")),
    )
    statements, frames = _notebook_sql(code_cells(notebook))
    binder = _Binder(manifest)
    try:
        binder.frames = frames | binder.created_names(text for _, text in statements)
        for where, text in statements:
            binder.check(where, text)
    finally:
        binder.close()
    report.problems = list(binder.problems.values())
    report.tables = sorted(binder.tables)
    report.columns = sorted(binder.columns)
    return report


# -- DuckDB helpers ----------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shown(text: str) -> str:
    """A name for the report: formatted values written back as ``{expression}``."""
    text = text.replace(VALUE_OPEN, "{").replace(VALUE_CLOSE, "}")
    return " ".join(text.split())


def _excerpt(sql: str, width: int = 60) -> str:
    text = _shown(sql)
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class _Token:
    start: int  # byte offsets, as DuckDB counts
    end: int
    kind: Any  # duckdb.token_type
    text: str

    def word(self) -> str:
        return self.text.lower() if self.kind == duckdb.token_type.keyword else ""


def _tokens(sql: str) -> list[_Token]:
    """DuckDB's tokens of ``sql`` (comments left out)."""
    src = sql.encode()
    try:
        raw = duckdb.tokenize(sql)
    except duckdb.Error:
        return []
    out = []
    for i, (start, kind) in enumerate(raw):
        end = raw[i + 1][0] if i + 1 < len(raw) else len(src)
        piece = src[start:end].rstrip()
        if kind != duckdb.token_type.comment:
            out.append(_Token(start, start + len(piece), kind, piece.decode(errors="replace")))
    return out


def _after_as(tokens: list[_Token], start: int) -> int | None:
    """The index of the token after the first ``AS`` outside parentheses, from ``start``."""
    depth = 0
    for i in range(start, len(tokens)):
        tok = tokens[i]
        if tok.kind == duckdb.token_type.operator:
            depth += tok.text.count("(") - tok.text.count(")")
        elif depth == 0 and tok.word() == "as":
            return i + 1 if i + 1 < len(tokens) else None
    return None


def _create_kind(tokens: list[_Token]) -> int | None:
    """The index of the object keyword of a CREATE statement (``view``, ``table``, ...)."""
    for i, tok in enumerate(tokens[1:], 1):
        if tok.word() not in ("or", "replace", "temp", "temporary", "persistent"):
            return i
    return None


def _created_name(tokens: list[_Token], kind: int) -> str:
    """The name a CREATE statement makes (last part of a dotted name, lower case)."""
    words: list[str] = []
    for tok in tokens[kind + 1 :]:
        if tok.word() in ("if", "not", "exists"):
            continue
        if tok.word() == "as" or tok.text.startswith("("):
            break
        words.append(tok.text)
    last = "".join(words).split(".")[-1]
    return last.strip('"').replace('""', '"').lower()


def _walk(node: Any) -> Iterator[dict]:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _string_constant(expr: dict) -> str | None:
    if expr.get("class") != "CONSTANT":
        return None
    literal = expr.get("literal") or {}
    if literal.get("kind") == "STRING":
        return str(literal.get("text"))
    value = expr.get("value") or {}  # older DuckDB releases
    return str(value["value"]) if value.get("type", {}).get("id") == "VARCHAR" else None


def _node_paths(node: dict) -> list[str] | None:
    """The constant path(s) a file reference reads, or None if they are computed."""
    if node["type"] == "BASE_TABLE":
        return [str(node.get("table_name", ""))]
    function = node.get("function") or {}
    args = function.get("arguments") or function.get("children") or []
    if not args:
        return None
    first = args[0].get("expression", args[0])
    if (text := _string_constant(first)) is not None:
        return [text]
    if first.get("function_name") in ("list_value", "array_value"):
        items = first.get("arguments") or first.get("children") or []
        texts = [_string_constant(item.get("expression", item)) for item in items]
        if texts and all(t is not None for t in texts):
            return [str(t) for t in texts]
    return None


def _alias(node: dict) -> str:
    """The ``AS alias(columns)`` a replaced table reference must keep."""
    alias = node.get("alias") or ""
    columns = node.get("column_name_alias") or []
    out = f" AS {_ident(alias)}" if alias else ""
    if alias and columns:
        out += "(" + ", ".join(_ident(c) for c in columns) + ")"
    return out


def _with_parameters(query: str, info: _QueryInfo, types: dict[str, str]) -> str:
    """``query`` with each parameter replaced by a NULL of the type given for it (or none)."""
    spans = sorted(
        (
            (start, end, types.get(name))
            for name, found in info.parameters.items()
            for start, end in found
        ),
        reverse=True,
    )
    src = query.encode()
    for start, end, kind in spans:
        value = f"CAST(NULL AS {kind})" if kind else "NULL"
        src = src[:start] + value.encode() + src[end:]
    return src.decode()


def _about_types(error: Exception) -> bool:
    """A binder error that is not about a missing name (an ambiguous or mistyped call)."""
    message = str(error)
    return isinstance(error, duckdb.BinderException) and not (
        MISSING_QUALIFIED.search(message) or MISSING_COLUMN.search(message)
    )


@dataclass
class _QueryInfo:
    """What one query refers to, from DuckDB's parse tree."""

    tables: list[str] = field(default_factory=list)  # names in FROM (tables, views, CTEs)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> name it stands for
    columns: set[str] = field(default_factory=set)
    files: list[dict] = field(default_factory=list)  # file reads: table functions, 'paths'
    parameters: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # byte spans


def _query_info(tree: dict, src: bytes) -> _QueryInfo:
    info = _QueryInfo()
    for node in _walk(tree):
        kind = node.get("type")
        alias = str(node.get("alias") or "").lower()
        if kind == "BASE_TABLE":
            if src[node.get("query_location", 0) :][:1] == b"'":
                info.files.append(node)  # FROM 'file.parquet'
                continue
            name = str(node.get("table_name", "")).lower()
            info.tables.append(name)
            info.aliases[alias or name] = name
        elif kind == "TABLE_FUNCTION":
            name = str((node.get("function") or {}).get("function_name", "")).lower()
            if name in FILE_READERS:
                info.files.append(node)
            if alias:
                info.aliases[alias] = ""
        elif kind == "SUBQUERY" and alias:
            info.aliases[alias] = alias
        elif node.get("class") == "PARAMETER" and node.get("query_location") != NO_LOCATION:
            start = int(node["query_location"])
            span = (start, start + int(node.get("query_location_length", 0)))
            info.parameters.setdefault(str(node.get("identifier")), []).append(span)
        elif node.get("class") == "COLUMN_REF" and node.get("column_names"):
            info.columns.add(str(node["column_names"][-1]).lower())
        if node.get("using_columns"):
            info.columns.update(str(c).lower() for c in node["using_columns"])
    return info


class _Binder:
    """Empty tables of the restricted schema in an in-memory DuckDB that binds SQL in order.

    Nothing is executed but CREATE statements (views over empty tables), and the database
    cannot open files: a path that slips past the rewriting stops at a permission error.
    """

    def __init__(self, manifest: dict[str, Any]):
        self.name = str(manifest.get("name", ""))
        self.schema = _schema_types(manifest)
        self.files = _table_files(manifest)
        self.all_columns = {c for columns in self.schema.values() for c in columns}
        self.frames: set[str] = set()  # names the notebook makes (Python, registered, SQL)
        self.created: set[str] = set()  # views the notebook has made so far
        self.open: dict[str, list[str]] = {}  # placeholder -> the columns asked of it
        self.open_derived: dict[str, set[str]] = {}  # notebook view -> placeholders it reads
        self.added: dict[str, set[str]] = {}  # missing columns added to go on binding
        self.guessed: dict[tuple[str, str], str] = {}  # (placeholder, column) -> type
        self.problems: dict[tuple[str, str], Problem] = {}
        self.tables: dict[str, str] = {}
        self.columns: dict[str, str] = {}
        self.types = {c: t for columns in self.schema.values() for c, t in columns.items()}
        self.con = duckdb.connect(":memory:", config=CHECKER_CONFIG)
        for table, columns in self.schema.items():
            if not table:
                continue
            cols = ", ".join(f"{_ident(c)} {t}" for c, t in columns.items() if c) or "_ VARCHAR"
            self.con.execute(f"CREATE TABLE {_ident(table)} ({cols})")
        self.con.execute("SET lock_configuration = true")

    def close(self) -> None:
        self.con.close()

    # -- reading the notebook's SQL ------------------------------------------------------

    def created_names(self, texts: Iterable[SqlText]) -> set[str]:
        """Names any CREATE statement of the notebook makes (a view used before it is made,
        or one that does not bind, is the notebook's own and not a dataset table)."""
        names = set()
        for text in texts:
            for statement in self._statements(text.text):
                if statement.type == duckdb.StatementType.CREATE:
                    tokens = _tokens(statement.query)
                    if (kind := _create_kind(tokens)) is not None:
                        names.add(_created_name(tokens, kind))
        return names

    def _statements(self, sql: str) -> list:
        try:
            return self.con.extract_statements(sql)
        except duckdb.Error:
            return []

    def check(self, where: str, text: SqlText) -> None:
        """Parse one SQL text and bind each of its statements."""
        try:
            statements = self.con.extract_statements(text.text)
        except duckdb.ParserException as e:
            if text.direct and not text.dynamic:
                self._syntax_error(where, text.text, e)
            return
        except duckdb.Error:
            return  # e.g. mixed parameter styles: not something the schema decides
        for statement in statements:
            try:
                self._statement(where, statement, text)
            except duckdb.Error as e:  # not expected: refuse rather than let it through
                self._problem(
                    "sql",
                    _excerpt(statement.query),
                    where,
                    f"the check could not bind this SQL ({str(e).splitlines()[0]})",
                )

    def _syntax_error(self, where: str, sql: str, error: Exception) -> None:
        first = str(error).splitlines()[0].removeprefix("Parser Error: ")
        self._problem(
            "sql",
            _excerpt(sql),
            where,
            f"DuckDB cannot parse this SQL ({first}), so the tables and columns it reads "
            "cannot be checked; fix it in the sandbox",
        )

    def _statement(self, where: str, statement: Any, text: SqlText) -> None:
        kind, query = statement.type, statement.query
        if kind == duckdb.StatementType.CREATE:
            self._create(where, query)
        elif kind == duckdb.StatementType.COPY:
            self._copy(where, query)
        elif kind == duckdb.StatementType.EXPLAIN:
            tokens = _tokens(query)
            skip = 2 if len(tokens) > 1 and tokens[1].word() == "analyze" else 1
            if len(tokens) > skip:
                rest = query.encode()[tokens[skip].start :].decode()
                self.check(where, SqlText(rest, text.direct, text.dynamic))
        elif kind in (
            duckdb.StatementType.SELECT,
            duckdb.StatementType.INSERT,
            duckdb.StatementType.MULTI,
        ):
            self._prepare(where, query)
        # SET, PRAGMA, ATTACH, INSTALL, ...: not run, and they read no table of the dataset

    def _prepare(self, where: str, query: str) -> None:
        """Bind a query without running it (PREPARE)."""
        query, info = self._rewrite(where, query)
        if self._bind_query(where, f"PREPARE {PREPARED} AS ", query, info):
            self.con.execute(f"DEALLOCATE {PREPARED}")
        self._record(where, info)

    def _create(self, where: str, query: str) -> None:
        """Make the view or table a CREATE statement makes (a table as a view of its query)."""
        tokens = _tokens(query)
        kind = _create_kind(tokens)
        if kind is None:
            return
        what = tokens[kind].word()
        if what not in ("view", "table", "macro", "function", "type", "sequence", "schema"):
            return
        start = _after_as(tokens, kind) if what in ("view", "table") else None
        if start is None:  # CREATE TABLE t (a INT, ...), macros, types: made as written
            self._bind(where, query, _QueryInfo())
            return
        src = query.encode()
        body, info = self._rewrite(where, src[tokens[start].start :].decode())
        head = src[: tokens[kind].start] + b"VIEW" + src[tokens[kind].end : tokens[start].start]
        name = _created_name(tokens, kind)
        if self._bind_query(where, head.decode(), body, info):
            self.created.add(name)
            self.open.pop(name, None)
            if sources := self._open_sources(info.tables):
                self.open_derived[name] = set(sources)
            else:
                self.open_derived.pop(name, None)
        self._record(where, info)

    def _copy(self, where: str, query: str) -> None:
        """COPY (query) TO ..., COPY table TO ...: check what is read, never write.
        COPY table FROM 'file' reads a file: it must be one of the dataset's."""
        tokens = _tokens(query)
        src = query.encode()
        words = [t.word() for t in tokens]
        if "from" in words and "to" not in words:
            after = tokens[words.index("from") + 1 :]
            path = after[0] if after else None
            if path is not None and path.kind == duckdb.token_type.string_const:
                text = path.text[1:-1].replace("''", "'")
                if self.table_of_path(text) is None:
                    self._outside(where, text)
            return
        if len(tokens) > 2 and tokens[1].text.startswith("("):
            depth = 0
            for tok in tokens[1:]:
                if tok.kind == duckdb.token_type.operator:
                    depth += tok.text.count("(") - tok.text.count(")")
                if depth == 0:
                    inner = src[tokens[1].start + 1 : tok.end - 1].decode()
                    self._prepare(where, inner)
                    return
        if "to" in words:
            name = src[tokens[1].start : tokens[words.index("to")].start].decode()
            self._prepare(where, f"select * from {name}")

    # -- file paths ----------------------------------------------------------------------

    def _rewrite(self, where: str, query: str) -> tuple[str, _QueryInfo]:
        """Files read by path become the tables they name, or placeholders (and problems)."""
        info = self._parse_tree(query)
        if info is None:
            return query, _QueryInfo()
        src = query.encode()
        edits = []
        for node in info.files:
            start = node.get("query_location", NO_LOCATION)
            length = node.get("query_location_length", 0)
            if start != NO_LOCATION and length:
                edits.append((start, start + length, node))
        last = len(src) + 1
        for start, end, node in sorted(edits, key=lambda e: e[0], reverse=True):
            if end <= last:  # nested or overlapping references: the outer one wins
                src = src[:start] + self._file_table(where, node).encode() + src[end:]
                last = start
        query = src.decode()
        return query, ((self._parse_tree(query) or info) if edits else info)

    def _parse_tree(self, query: str) -> _QueryInfo | None:
        """DuckDB's parse tree of a query (SELECT statements only; None for the others)."""
        try:
            row = self.con.execute("SELECT json_serialize_sql(?)", [query]).fetchone()
        except duckdb.Error:
            return None
        tree = json.loads(row[0]) if row else {"error": True}
        return None if tree.get("error") else _query_info(tree, query.encode())

    def _file_table(self, where: str, node: dict) -> str:
        """What replaces one file reference: the table it names, or a placeholder."""
        function = str((node.get("function") or {}).get("function_name", "")).lower()
        paths = _node_paths(node)
        table = None
        if paths is None:
            self._problem(
                "path",
                f"{function}(...)",
                where,
                "the path is not a constant string, so the check cannot tell which "
                "table of the restricted dataset it reads",
            )
        else:
            tables = {self.table_of_path(p) for p in paths}
            for path in (p for p in paths if self.table_of_path(p) is None):
                self._outside(where, path)
            table = tables.pop() if len(tables) == 1 else None
        if table is not None:
            self.tables.setdefault(table, where)
        if table is None or not (function in ROW_READERS or node["type"] == "BASE_TABLE"):
            table = self._placeholder(f"__hdss_file_{len(self.open)}__")
        return _ident(table) + _alias(node)

    def table_of_path(self, path: str) -> str | None:
        """The table whose files ``path`` (a file or glob) reads, if it is in the dataset.

        The dataset's root is written as a formatted value (``{data_root}/bef/x.parquet``)
        or as its mount in a promotion run (``/data/restricted/<name>/bef/x.parquet``).
        """
        mount = f"{RESTRICTED_MOUNT}/{self.name}/"
        if m := FORMATTED_ROOT.match(path):
            rest = path[m.end() :]
        elif path.startswith(mount):
            rest = path[len(mount) :]
        else:
            return None
        parts = rest.split("/")
        if len(parts) < 2 or any(p in ("", ".", "..") or VALUE_OPEN in p for p in parts):
            return None
        table = parts[0].lower()
        if table not in self.schema:
            return None
        files = self.files.get(table) or []
        patterns = {rest, rest.replace("**/", "")}
        if files and not any(fnmatch.fnmatchcase(f, p) for f in files for p in patterns):
            return None
        return table

    def _outside(self, where: str, path: str) -> None:
        self._problem(
            "path",
            _shown(path),
            where,
            f"not a file of a table in the restricted dataset {self.name}; read its "
            "tables as the views of hdss_data.open_dataset(data_root), or by path as "
            'f"{data_root}/<table>/..."',
        )

    # -- binding and repairing -----------------------------------------------------------

    def _bind_query(self, where: str, head: str, query: str, info: _QueryInfo) -> bool:
        """Bind ``head + query``: parameters and frame columns as NULLs, else typed guesses.

        A frame column's guess that lets the statement bind is kept for later statements.
        """
        kept = dict(self.guessed)
        for variant in self._type_variants(info):
            self._guess_columns({**kept, **{k: t for k, t in variant.items() if k[0] != "$"}})
            parameters = {k[1]: t for k, t in variant.items() if k[0] == "$"}
            error = self._bind(where, head + _with_parameters(query, info, parameters), info)
            if error is None:
                return True
            if not _about_types(error):
                break
        self._guess_columns(kept)
        return False

    def _type_variants(self, info: _QueryInfo) -> Iterator[dict[tuple[str, str], str]]:
        """All NULLs, then one typed guess at a time (the frame columns as they are by then)."""
        yield {}
        parameters = [("$", name) for name in sorted(info.parameters)]
        columns = [
            (table, column)
            for table in dict.fromkeys(info.tables)
            if table in self.open
            for column in self.open[table]
            if column not in self.types and (table, column) not in self.guessed
        ]
        for slot in parameters + columns:
            for kind in TYPE_GUESSES:
                yield {slot: kind}
        if len(parameters) > 1:
            for kind in TYPE_GUESSES:
                yield dict.fromkeys(parameters, kind)

    def _guess_columns(self, guesses: dict[tuple[str, str], str]) -> None:
        """Set the guessed types of frame columns, remaking the placeholders that change."""
        changed = {key[0] for key, _ in set(guesses.items()) ^ set(self.guessed.items())}
        self.guessed = guesses
        for table in changed:
            if table in self.open:
                self._placeholder(table)

    def _bind(self, where: str, sql: str, info: _QueryInfo) -> duckdb.Error | None:
        """Run ``sql`` (a PREPARE or a CREATE) until it binds, reporting what is missing.

        Returns None once it binds, else the error it stopped at.
        """
        error = None
        for _ in range(MAX_REPAIRS):
            try:
                self.con.execute(sql)
                return None
            except duckdb.Error as e:
                error = e
                if not self._try_repair(where, e, info):  # True only when something changed
                    return e
        return error

    def _try_repair(self, where: str, error: Exception, info: _QueryInfo) -> bool:
        try:
            return self._repair(where, error, info)
        except duckdb.Error:  # a placeholder or column that cannot be made: give up
            return False

    def _repair(self, where: str, error: Exception, info: _QueryInfo) -> bool:
        """Report what ``error`` says is missing and make it exist; False to give up.

        Errors that are not about the schema (types, functions, parameters) end the check
        of the statement without a problem: the run would meet them on any data.
        """
        message = str(error)
        if isinstance(error, duckdb.PermissionException):
            if m := FILE_ACCESS.search(message):
                table = self.table_of_path(m.group(1))
                if table is None:
                    self._outside(where, m.group(1))
                else:
                    self.tables.setdefault(table, where)
            return False
        if isinstance(error, duckdb.CatalogException) and (m := MISSING_TABLE.search(message)):
            return self._missing_table(where, m.group(1))
        if not isinstance(error, duckdb.BinderException):
            return False
        if m := MISSING_QUALIFIED.search(message):
            return self._missing_qualified(where, m.group(1).lower(), m.group(2).lower(), info)
        if m := MISSING_COLUMN.search(message):
            return self._missing_column(where, (m.group(1) or m.group(2)).lower(), info)
        return False

    def _missing_table(self, where: str, name: str) -> bool:
        """A table that is not there: a problem unless the notebook makes it (a frame, a
        registered frame, a view made later); a placeholder either way, to bind on."""
        key = name.lower()
        if VALUE_OPEN in key or key in self.open:
            return False
        if key not in self.frames:
            self._problem(
                "table",
                key,
                where,
                "no such table in the restricted dataset"
                f" (it has: {', '.join(sorted(self.schema)) or 'none'})",
            )
        self._placeholder(key)
        return True

    def _missing_qualified(self, where: str, qual: str, column: str, info: _QueryInfo) -> bool:
        """``qual.column`` where ``qual`` lacks the column: named after the table it is."""
        if VALUE_OPEN in qual + column:
            return False
        target = info.aliases.get(qual, qual)
        if target in self.open and column not in self.open[target]:
            self._placeholder(target, column)
            return True
        if self._is_dataset_table(target) and column not in self.schema[target]:
            self._problem(
                "column",
                f"{target}.{column}",
                where,
                f"{target} has no column {column} in the restricted schema",
            )
            return self._add_column(target, column)
        if self._widen_open(info, column):
            return True
        made = target or qual  # a view, CTE or subquery of the notebook
        self._problem(
            "column",
            f"{made}.{column}",
            where,
            f"{made}, made by the notebook's SQL from the restricted tables, has no "
            f"column {column}",
        )
        return False

    def _missing_column(self, where: str, column: str, info: _QueryInfo) -> bool:
        """An unqualified column no table in scope has: a frame's, else a problem."""
        if VALUE_OPEN in column:
            return False  # a name formatted into the SQL: not knowable before the run
        if self._widen_open(info, column):
            return True
        sources = sorted({t for t in info.tables if self._is_dataset_table(t)})
        shown = sources or sorted(set(info.tables))
        self._problem(
            "column",
            column,
            where,
            f"no column {column} in {', '.join(shown) or 'the query'} of the restricted schema",
        )
        lacking = [
            t
            for t in sources
            if column not in self.schema[t] and column not in self.added.get(t, ())
        ]
        return self._add_column(lacking[0], column) if lacking else False

    def _is_dataset_table(self, name: str) -> bool:
        return name in self.schema and name not in self.created and name not in self.open

    def _open_sources(self, tables: list[str]) -> list[str]:
        """The placeholders ``tables`` read, directly or through the notebook's views."""
        found: dict[str, None] = {}
        for table in tables:
            if table in self.open:
                found[table] = None
            found.update(dict.fromkeys(sorted(self.open_derived.get(table, ()))))
        return list(found)

    def _widen_open(self, info: _QueryInfo, column: str) -> bool:
        """Give a placeholder the column (frames have any column the code asks for).

        False once every placeholder the statement reads has it: the column is then
        missing where no frame could supply it.
        """
        for table in self._open_sources(info.tables):
            if column not in self.open[table]:
                self._placeholder(table, column)
                return True
        return False

    def _add_column(self, table: str, column: str) -> bool:
        """Add a reported missing column to an empty table, to bind on and find the next."""
        if column in self.added.setdefault(table, set()):
            return False
        self.added[table].add(column)
        self.con.execute(f'ALTER TABLE {_ident(table)} ADD COLUMN {_ident(column)} "NULL"')
        return True

    def _placeholder(self, name: str, column: str | None = None) -> str:
        """An open placeholder: a view of NULLs with every column asked of it so far."""
        columns = self.open.setdefault(name, [])
        if column is not None and column not in columns:
            columns.append(column)
        select = [f"NULL AS {_ident(OPEN_COLUMN)}"]
        for c in columns:
            kind = self.guessed.get((name, c)) or self.types.get(c)
            select.append(
                f"CAST(NULL AS {kind}) AS {_ident(c)}" if kind else f"NULL AS {_ident(c)}"
            )
        self.con.execute(f"CREATE OR REPLACE VIEW {_ident(name)} AS SELECT {', '.join(select)}")
        self.open_derived.pop(name, None)
        return name

    # -- the report ----------------------------------------------------------------------

    def _problem(self, kind: str, name: str, where: str, detail: str) -> None:
        self.problems.setdefault((kind, name), Problem(kind, name, where, detail))

    def _record(self, where: str, info: _QueryInfo) -> None:
        for table in info.tables:
            if self._is_dataset_table(table):
                self.tables.setdefault(table, where)
        for column in info.columns & self.all_columns:
            self.columns.setdefault(column, where)
