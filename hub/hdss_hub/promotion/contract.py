"""The promotion contract: every table and column a notebook reads exists in the
restricted dataset's schema (its Frictionless ``datapackage.json``).

The check is static. It reads the SQL held in the notebook's string literals (DuckDB
queries through ``hdss_data.open_dataset``) and ``.table("name")`` calls, and treats as
defined everything the notebook makes itself: views and tables it creates, CTEs and
``as`` aliases. Whatever remains must be a table or column of the manifest. A miss is
reported by name with the table it was expected in, so the researcher can fix the code
in the sandbox before anything reaches real data.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

# A string is SQL when it starts with a statement keyword written as SQL is (all lower or
# all upper case); "Select the persons from ..." in a print() is prose.
SQL_HINT = re.compile(
    r"^\s*(?:(?:with|select|from|create|insert|copy|describe|summarize)|"
    r"(?:WITH|SELECT|FROM|CREATE|INSERT|COPY|DESCRIBE|SUMMARIZE))\b"
)
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
QUALIFIED = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)\b")
FROM_JOIN = re.compile(
    r"\b(?:from|join)\s+([A-Za-z_][A-Za-z0-9_]*)(?:\s+(?:as\s+)?"
    r"([A-Za-z_][A-Za-z0-9_]*))?",
    re.I,
)
CREATED = re.compile(
    r"\bcreate\s+(?:or\s+replace\s+)?(?:temp(?:orary)?\s+)?(?:view|table)\s+"
    r"(?:if\s+not\s+exists\s+)?([A-Za-z_][A-Za-z0-9_]*)",
    re.I,
)
CTE = re.compile(r"(?:\bwith\s+(?:recursive\s+)?|,\s*)([A-Za-z_][A-Za-z0-9_]*)\s+as\s*\(", re.I)
ALIAS = re.compile(r"\bas\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)
STRINGS = re.compile(r"'(?:[^']|'')*'")
QUOTED = re.compile(r'"([^"]+)"')
REGISTERED = re.compile(
    r"\.(?:register|create_view|to_view)\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]"
)
TABLE_CALL = re.compile(r"\.(?:table|view)\(\s*['\"]([A-Za-z_][A-Za-z0-9_]*)['\"]")

# SQL words (DuckDB dialect, lower case) that are never table or column names.
KEYWORDS = frozenset(
    """
all and any array as asc at between both by case cast collate columns create cross cube
current_date current_timestamp date day days default delete desc describe distinct double
drop else end except exclude exists extract false filter first following for from full
group grouping having hour hours if ilike in inner insert integer int interval intersect
into is join last lateral left like limit minute minutes month months natural not null
nulls offset on or order outer over partition pivot preceding qualify range recursive
replace right rollup row rows second seconds select semi anti set show some summarize
table temp temporary then time timestamp to true union unbounded unpivot update using
values varchar view when where window with within year years week weeks quarter bigint
smallint tinyint hugeint real float decimal numeric boolean bool text string blob uuid
struct map list try_cast regexp_matches asof positional only top dow doy epoch
""".split()
)

# Python/duckdb helpers whose names look like identifiers inside SQL strings.
FUNCTION_CALL = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)\s*\(")


@dataclass
class Problem:
    kind: str  # "table" or "column"
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


def schema_of(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """``{table: {column, ...}}`` from a Frictionless data package."""
    out: dict[str, set[str]] = {}
    for res in manifest.get("resources") or []:
        fields = ((res.get("schema") or {}).get("fields")) or []
        out[str(res.get("name", "")).lower()] = {str(f.get("name", "")).lower() for f in fields}
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
    """The string literals of a code cell that look like SQL (and ``.table()`` names)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        # IPython magics or a syntax error: fall back to the quoted text in the cell.
        found = re.findall(
            r'"""(.*?)"""|\'\'\'(.*?)\'\'\'|"([^"\n]*)"|\'([^\'\n]*)\'', source, re.S
        )
        texts = ["".join(t) for t in found]
    else:
        texts = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                texts.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                texts.append(
                    "".join(v.value if isinstance(v, ast.Constant) else " 0 " for v in node.values)
                )
    return [t for t in texts if SQL_HINT.search(t)]


def _clean(sql: str) -> str:
    sql = re.sub(r"--[^\n]*", " ", sql)
    sql = re.sub(r"/\*.*?\*/", " ", sql, flags=re.S)
    sql = STRINGS.sub(" '' ", sql)
    sql = re.sub(r"\b(extract|date_part)\s*\(\s*\w+\s+from\b", r"\1(", sql, flags=re.I)
    sql = re.sub(r"\bdistinct\s+from\b", "distinct ", sql, flags=re.I)
    return QUOTED.sub(lambda m: m.group(1) if WORD.fullmatch(m.group(1)) else " ", sql)


def code_cells(notebook: dict[str, Any]) -> list[tuple[str, str]]:
    cells = []
    for i, cell in enumerate(notebook.get("cells") or []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        cells.append((str(cell.get("id") or f"cell {i + 1}"), src))
    return cells


def check_notebook(
    notebook: dict[str, Any] | str | bytes, manifest: dict[str, Any], name: str = "notebook"
) -> ContractReport:
    """Check one notebook (parsed JSON or its text) against one dataset manifest."""
    if isinstance(notebook, (str, bytes)):
        notebook = json.loads(notebook)
    schema = schema_of(manifest)
    report = ContractReport(
        notebook=name,
        dataset=str(manifest.get("name", "")),
        version=str(manifest.get("version", "")),
    )
    all_columns = set().union(*schema.values()) if schema else set()
    cells = code_cells(notebook)
    # Pass 1: what the notebook defines itself (views, tables, CTEs, aliases).
    defined: set[str] = set()
    statements: list[tuple[str, str]] = []
    for where, source in cells:
        defined |= python_names(source)
        defined.update(n.lower() for n in REGISTERED.findall(source))
        for m in TABLE_CALL.finditer(source):
            statements.append((where, f"select * from {m.group(1)}"))
        for sql in sql_strings(source):
            sql = _clean(sql)
            statements.append((where, sql))
            defined.update(n.lower() for n in CREATED.findall(sql))
            defined.update(n.lower() for n in CTE.findall(sql))
            defined.update(n.lower() for n in ALIAS.findall(sql))
    tables: dict[str, str] = {}
    columns: dict[str, str] = {}
    for where, sql in statements:
        aliases: dict[str, set[str]] = {}
        sources: set[str] = set()
        for m in FROM_JOIN.finditer(sql):
            table, alias = m.group(1).lower(), (m.group(2) or "").lower()
            if sql[m.end(1) :].lstrip().startswith("(") or table in KEYWORDS:
                continue  # a table function such as read_parquet(...), or a subquery
            sources.add(table)
            if alias and alias not in KEYWORDS:
                aliases.setdefault(alias, set()).add(table)
            aliases.setdefault(table, set()).add(table)
            if table not in defined:
                tables.setdefault(table, where)
        functions = {m.group(1).lower() for m in FUNCTION_CALL.finditer(sql)}
        for m in QUALIFIED.finditer(sql):
            qual, col = m.group(1).lower(), m.group(2).lower()
            known = {t for t in aliases.get(qual, set()) if t in schema and t not in defined}
            if not known or col in defined:
                continue
            if not any(col in schema[t] for t in known):
                report.problems.append(
                    Problem(
                        "column",
                        f"{'/'.join(sorted(known))}.{col}",
                        where,
                        f"{' or '.join(sorted(known))} has no column {col} in the restricted schema",
                    )
                )
            columns.setdefault(col, where)
        # Unqualified names are checked only where every source is a table of the
        # dataset (no views, CTEs or subqueries of the notebook that could define them).
        if not sources or not all(t in schema and t not in defined for t in sources):
            continue
        if "(select" in re.sub(r"\s+", "", sql.lower()):
            continue
        visible = set().union(*(schema[t] for t in sources))
        bare = QUALIFIED.sub(" ", re.sub(r"[$:?]\w+", " ", sql))
        for m in WORD.finditer(bare):
            word = m.group(0).lower()
            if (
                word in KEYWORDS
                or word in functions
                or word in defined
                or word in aliases
                or word in schema
            ):
                continue
            if word not in visible:
                report.problems.append(
                    Problem(
                        "column",
                        word,
                        where,
                        f"no column {word} in {', '.join(sorted(sources))} of the restricted "
                        "schema",
                    )
                )
            columns.setdefault(word, where)
    for table, where in sorted(tables.items()):
        if table not in schema:
            report.problems.append(
                Problem(
                    "table",
                    table,
                    where,
                    "no such table in the restricted dataset"
                    f" (it has: {', '.join(sorted(schema)) or 'none'})",
                )
            )
    report.tables = sorted(t for t in tables if t in schema)
    report.columns = sorted(c for c in columns if c in all_columns)
    return report
