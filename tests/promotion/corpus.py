"""The adversarial corpus of the airlock: outboxes that each disclose through one channel.

Every case builds an outbox (relative path -> bytes) from one value: the disclosing value
makes the attack, a safe value makes its twin, which must pass. So each case shows both
that the channel is read and that what fires is the disclosure, not noise in the channel.
Cases without a safe twin (a compressed file has none) say so with ``safe=None``.

The cases name the channel they use; ``rule`` is the rule that must fire, ``status`` the
least severe outcome accepted (a block is also "caught" where a flag is expected).
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Outbox = dict[str, bytes]
PNR = "R92CW9282A"  # shaped like the generator's pseudonymised person ids


@dataclass(frozen=True)
class Case:
    name: str
    channel: str
    rule: str
    make: Callable[[Any], Outbox]
    bad: Any
    safe: Any = None  # None: no safe twin
    status: str = "flag"
    twin_rules: frozenset[str] = frozenset()  # what its safe twin may still show (a figure)


# -- notebooks --------------------------------------------------------------------------------


def notebook(*cells: dict, metadata: dict | None = None) -> bytes:
    meta = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.2"},
    }
    meta.update(metadata or {})
    return json.dumps(
        {"cells": list(cells), "metadata": meta, "nbformat": 4, "nbformat_minor": 5}
    ).encode()


def code(source: str = "result", *outputs: dict, metadata: dict | None = None, **extra) -> dict:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": metadata or {},
        "source": source,
        "outputs": list(outputs),
        **extra,
    }


def markdown(source: str, **extra) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source, **extra}


def raw(source: str) -> dict:
    return {"cell_type": "raw", "metadata": {}, "source": source}


def stream(text: str, name: str = "stdout") -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def display(data: dict, metadata: dict | None = None) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def result(data: dict) -> dict:
    return {"output_type": "execute_result", "execution_count": 1, "data": data, "metadata": {}}


def error(ename: str, evalue: str) -> dict:
    return {
        "output_type": "error",
        "ename": ename,
        "evalue": evalue,
        "traceback": [f"\x1b[0;31m{ename}\x1b[0m: {evalue}"],
    }


def nb_outbox(*cells: dict, name: str = "analysis.ipynb", **kw) -> Outbox:
    return {name: notebook(*cells, **kw)}


def frame_text(n: Any) -> str:
    """A pandas DataFrame as text/plain shows it: the index 0, 1, 2 is not a count."""
    return f"  region  deaths\n0  North    {n:>4}\n1  South     812\n2   East     640\n3   West     577"


def frame_html(n: Any, tag: str = "table") -> str:
    t = tag
    return (
        f"<div><{t} border='1' class='dataframe'><thead><tr><th></th><th>region</th>"
        f"<th>deaths</th></tr></thead><tbody><tr><th>0</th><td>North</td><td>{n}</td></tr>"
        f"<tr><th>1</th><td>South</td><td>812</td></tr><tr><th>2</th><td>East</td>"
        f"<td>640</td></tr></tbody></{t}></div>"
    )


# -- figures ----------------------------------------------------------------------------------


def png(text: str = "", trailer: bytes = b"") -> bytes:
    """A 1x1 PNG, with a tEXt chunk holding ``text`` and ``trailer`` after its end."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    out += chunk(b"tEXt", b"Software\x00Matplotlib version3.10.0, https://matplotlib.org/")
    if text:
        out += chunk(b"tEXt", b"Comment\x00" + text.encode("latin-1"))
    return out + chunk(b"IDAT", idat) + chunk(b"IEND", b"") + trailer


def svg(label: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">'
        f"<!-- {label} --><text x='1' y='20'>{label}</text></svg>"
    ).encode()


# -- tables -----------------------------------------------------------------------------------


def csv_outbox(text: str, name: str = "table.csv") -> Outbox:
    return {name: text.encode()}


def rows_file(start: int, count: int) -> bytes:
    """Row-level records (age, sex, a date, days in hospital), ``count`` of them, no ids."""
    lines = ["age,sex,admitted,days"]
    for i in range(start, start + count):
        lines.append(f"{20 + i % 70},{1 + i % 2},2015-{1 + i % 12:02d}-{1 + i % 28:02d},{100 + i}")
    return ("\n".join(lines) + "\n").encode()


def record(i: int) -> str:
    """One person's record printed as a line (no value below the threshold)."""
    return f"{1000 + i} {3000 + 7 * i} 2015-{1 + i % 12:02d}-{1 + i % 28:02d} {5000 + i}\n"


def split_rows(files: int) -> Outbox:
    """600 records split in ``files`` files of one header (600 is over the 500 allowed)."""
    per = 600 // files
    return {f"part_{k:02d}.csv": rows_file(k * per, per) for k in range(files)}


def printed_records(count: int, cells: int = 1) -> Outbox:
    """``count`` records printed line by line, over ``cells`` cells."""
    per = count // cells
    out = []
    for k in range(cells):
        text = "".join(record(i) for i in range(k * per, (k + 1) * per))
        out.append(code(f"print_rows({k})", stream(text)))
    return nb_outbox(*out)


def lines_files(per_file: int) -> Outbox:
    def lines(k: int) -> bytes:
        return "".join(record(i) for i in range(k * per_file, (k + 1) * per_file)).encode()

    return {"a.txt": lines(0), "b.txt": lines(1)}


def widget_state(n: Any) -> dict:
    grid = {
        "model_module": "ipydatagrid",
        "model_name": "DataGridModel",
        "state": {
            "_data": {
                "data": [
                    {"index": 0, "region": "North", "deaths": n},
                    {"index": 1, "region": "South", "deaths": 812},
                ],
                "schema": {"fields": [{"name": "region"}, {"name": "deaths"}]},
            }
        },
    }
    return {
        "widgets": {
            "application/vnd.jupyter.widget-state+json": {
                "state": {"3f2a9c1e8b7d4e6fa0b1c2d3e4f5a6b7": grid},
                "version_major": 2,
                "version_minor": 0,
            }
        }
    }


ZERO_WIDTH = "\u200b\u200c\u200d"


def hidden(text: str) -> str:
    """``text`` with a payload in zero-width characters (one per bit)."""
    bits = "".join(f"{b:08b}" for b in b"3")
    return text + "".join(ZERO_WIDTH[int(b)] for b in bits)


# -- the corpus -------------------------------------------------------------------------------

CASES: list[Case] = [
    # notebook outputs of every kind
    Case(
        "html-upper-case-table",
        "text/html",
        "small-count",
        lambda n: nb_outbox(code("df", result({"text/html": frame_html(n, "TABLE")}))),
        3,
        300,
    ),
    Case(
        "markdown-output-table",
        "text/markdown",
        "small-count",
        lambda n: nb_outbox(
            code(
                "md", display({"text/markdown": f"| region | deaths |\n|---|---|\n| North | {n} |"})
            )
        ),
        3,
        300,
    ),
    Case(
        "json-output",
        "application/json",
        "small-count",
        lambda n: nb_outbox(
            code("j", display({"application/json": {"region": ["N", "S"], "deaths": [n, 812]}}))
        ),
        3,
        300,
    ),
    Case(
        "latex-output",
        "text/latex",
        "small-count",
        lambda n: nb_outbox(
            code(
                "t",
                display(
                    {
                        "text/latex": "\\begin{tabular}{lr}\\toprule\nregion & deaths \\\\\n"
                        f"\\midrule\nNorth & {n} \\\\\nSouth & 812 \\\\\n\\bottomrule\n"
                        "\\end{tabular}"
                    }
                ),
            )
        ),
        3,
        300,
    ),
    Case(
        "dataframe-text-plain",
        "text/plain",
        "small-count",
        lambda n: nb_outbox(code("df", result({"text/plain": frame_text(n)}))),
        3,
        300,
    ),
    Case(
        "dict-repr",
        "text/plain",
        "small-count",
        lambda n: nb_outbox(
            code("s", result({"text/plain": f"{{'deaths': {n}, 'persons': 912}}"}))
        ),
        3,
        300,
    ),
    Case(
        "markdown-cell-written-by-code",
        "markdown cell",
        "small-number-in-text",
        lambda n: nb_outbox(markdown(f"## Result\n\nDeaths on Læsø in 2015: {n}")),
        3,
        300,
    ),
    Case(
        "raw-cell-csv",
        "raw cell",
        "small-count",
        lambda n: nb_outbox(raw(f"region,deaths\nNorth,{n}\nSouth,812\n")),
        3,
        300,
    ),
    Case(
        "notebook-metadata",
        "notebook metadata",
        "small-count",
        lambda n: nb_outbox(code("x"), metadata={"results": {"deaths": n, "persons": 912}}),
        3,
        300,
    ),
    Case(
        "cell-metadata",
        "cell metadata",
        "small-count",
        lambda n: nb_outbox(code("x", metadata={"tally": {"north": n, "south": 812}})),
        3,
        300,
    ),
    Case(
        "output-metadata",
        "output metadata",
        "small-count",
        lambda n: nb_outbox(code("x", display({"text/plain": "ok"}, {"counts": {"deaths": n}}))),
        3,
        300,
    ),
    Case(
        "widget-state-grid",
        "widget state",
        "widget-state",
        lambda n: nb_outbox(code("grid"), metadata=widget_state(n)),
        3,
    ),
    Case(
        "stdout-n-colon",
        "stdout",
        "small-number-in-text",
        lambda n: nb_outbox(code("print", stream(f"Læsø n:{n}\n"))),
        3,
        300,
    ),
    Case(
        "stdout-float",
        "stdout",
        "small-number-in-text",
        lambda n: nb_outbox(code("print", stream(f"deaths in Læsø 2015 {n}\n"))),
        "3.0",
        "300.0",
    ),
    Case(
        "stdout-negative",
        "stdout",
        "small-number-in-text",
        lambda n: nb_outbox(code("print", stream(f"change in deaths on Læsø: {n}\n"))),
        -3,
        -300,
    ),
    Case(
        "stdout-spelled-out",
        "stdout",
        "small-number-in-text",
        lambda n: nb_outbox(code("print", stream(f"on Læsø {n} patients died\n"))),
        "three",
        "many",
    ),
    Case(
        "stderr",
        "stderr",
        "small-number-in-text",
        lambda n: nb_outbox(code("warn", stream(f"warning: Læsø has {n} cases\n", "stderr"))),
        3,
        300,
    ),
    Case(
        "full-width-digits",
        "stdout",
        "small-number-in-text",
        lambda n: nb_outbox(code("print", stream(f"deaths on Læsø: {n}\n"))),
        "\uff13",  # a full-width 3
        "\uff13\uff10\uff10",
    ),
    Case(
        "error-message",
        "error",
        "person-id",
        lambda v: nb_outbox(code("lookup", error("KeyError", f"'{v}'"))),
        PNR,
        "region",
        "block",
    ),
    Case(
        "unknown-mime-type",
        "application/vnd.plotly.v1+json",
        "unknown-output-type",
        lambda mime: nb_outbox(code("fig", display({mime: {"data": [{"x": [1, 2]}]}}))),
        "application/vnd.plotly.v1+json",
        "application/json",
        "block",
    ),
    Case(
        "html-attribute",
        "text/html",
        "small-number-in-text",
        lambda n: nb_outbox(code("h", display({"text/html": f"<p title='{n} deaths'>Læsø</p>"}))),
        3,
        300,
    ),
    Case(
        "html-comment",
        "text/html",
        "person-id",
        lambda v: nb_outbox(code("h", display({"text/html": f"<p>ok</p><!-- {v} -->"}))),
        PNR,
        "region",
        "block",
    ),
    Case(
        "cell-id",
        "cell id",
        "person-id",
        lambda v: nb_outbox(code("x", id=v)),
        PNR,
        "a1b2c3d4",
        "block",
    ),
    Case(
        "hidden-characters",
        "markdown cell",
        "hidden-characters",
        lambda text: nb_outbox(markdown(text)),
        hidden("All results are in the tables."),
        "All results are in the tables.",
        "block",
    ),
    Case(
        "png-text-chunk",
        "image/png",
        "person-id",
        lambda v: nb_outbox(
            code("plot", display({"image/png": base64.b64encode(png(v)).decode()}))
        ),
        f"first patient {PNR}",
        "",
        twin_rules=frozenset({"figure"}),
    ),
    Case(
        "printed-rows-across-cells",
        "stdout (many cells)",
        "row-level",
        lambda n: printed_records(n, cells=6),
        600,
        120,
        "block",
    ),
    Case(
        "printed-dump",
        "stdout",
        "row-level",
        printed_records,
        600,
        120,
        "block",
    ),
    # table files
    Case(
        "count-in-first-column",
        "CSV, first column",
        "small-count",
        lambda n: csv_outbox(f",region\n{n},North\n812,South\n640,East\n"),
        3,
        300,
    ),
    Case(
        "count-column-not-on-a-list",
        "CSV, column name",
        "small-count",
        lambda n: csv_outbox(f"region,deaths_per_year\nNorth,{n}\nSouth,812\n"),
        3,
        300,
    ),
    Case(
        "count-column-by-values",
        "CSV, column values",
        "small-count",
        lambda n: csv_outbox(f"region,xq\nNorth,{n}\nSouth,812\nEast,640\n"),
        3,
        300,
    ),
    Case(
        "one-non-integer-cell",
        "CSV, column values",
        "small-count",
        lambda n: csv_outbox(f"region,xq\nNorth,{n}\nSouth,812\nEast,640\nWest,7.5\n"),
        3,
        300,
    ),
    Case(
        "rate-with-population",
        "CSV, rate",
        "small-rate",
        lambda r: csv_outbox(f"region,rate_per_1000,population\nNorth,{r},6000\n"),
        0.5,
        5.0,
    ),
    Case(
        "percentage-with-denominator",
        "CSV, percentage",
        "small-percentage",
        lambda p: csv_outbox(f"region,pct,total\nNorth,{p},150\n"),
        2.0,
        20.0,
    ),
    Case(
        "count-with-percentage-rest",
        "CSV, n (p%)",
        "small-percentage",
        lambda p: csv_outbox(f"group,Men\nvaccinated,{3000 * p // 100:.0f} ({p}%)\n"),
        99.9,
        60.0,
    ),
    Case(
        "ids-in-header-row",
        "CSV, header row",
        "person-id",
        lambda v: csv_outbox(f"measure,{v[0]},{v[1]}\nage,54,61\n"),
        (PNR, "B11AC2345D"),
        ("North", "South"),
        "block",
    ),
    Case(
        "lower-case-ids",
        "CSV, values",
        "person-id",
        lambda v: csv_outbox(f"who,age\n{v[0]},54\n{v[1]},61\n"),
        (PNR.lower(), "b11ac2345d"),
        ("north", "south"),
        "block",
    ),
    Case(
        "hashed-ids",
        "CSV, values",
        "person-id",
        lambda v: csv_outbox(f"who,age\n{v},54\n"),
        "d41d8cd98f00b204e9800998ecf8427e",
        "north",
        "block",
    ),
    Case(
        "cpr-number-in-text",
        "stdout",
        "person-id",
        lambda v: nb_outbox(code("print", stream(f"Patient {v} was admitted.\n"))),
        "010190-1234",
        "in Aarhus",
        "block",
    ),
    Case(
        "semicolon-separated",
        "CSV, semicolons",
        "small-count",
        lambda n: csv_outbox(f"region;antal;andel\nNord;{n};0,5\nSyd;812;99,5\n"),
        3,
        300,
    ),
    Case(
        "tab-separated",
        "TSV",
        "small-count",
        lambda n: {"table.tsv": f"region\tdeaths\nNorth\t{n}\nSouth\t812\n".encode()},
        3,
        300,
    ),
    Case(
        "rows-split-across-files",
        "many small files",
        "row-level-across-files",
        split_rows,
        10,
        1,  # one file of 600 rows is row-level too: its safe twin is a smaller one below
        "block",
    ),
    Case(
        "printed-lines-across-files",
        "text files",
        "row-level-across-files",
        lines_files,
        300,
        100,
        "block",
    ),
    Case(
        "min-max",
        "CSV, minimum and maximum",
        "min-max",
        lambda col: csv_outbox(f"region,n,{col}\nNorth,120,99\n"),
        "max_age",
        "median_age",
    ),
    Case(
        "describe-min-row",
        "CSV, describe()",
        "min-max",
        lambda label: csv_outbox(f",age\ncount,120\nmean,54.1\n{label},18\n"),
        "min",
        "50%",
    ),
    Case(
        "statistic-of-few",
        "CSV, median",
        "statistic-small",
        lambda n: csv_outbox(f"region,patients,median_age\nNorth,{n},54\nSouth,812,61\n"),
        3,
        300,
    ),
    Case(
        "fraction",
        "CSV, fraction",
        "small-count",
        lambda n: csv_outbox(f"region,died\nNorth,{n}/120\nSouth,80/812\n"),
        3,
        30,
    ),
    Case(
        "count-in-header",
        "CSV, header",
        "small-count",
        lambda n: csv_outbox(f"measure,Treated (n={n}),Untreated (n=812)\nage,54,61\n"),
        3,
        300,
    ),
    Case(
        "html-file",
        "HTML file",
        "small-count",
        lambda n: {"table.html": frame_html(n).encode()},
        3,
        300,
    ),
    Case(
        "markdown-file",
        "markdown file",
        "small-count",
        lambda n: {"table.md": f"| region | deaths |\n|---|---|\n| North | {n} |\n".encode()},
        3,
        300,
    ),
    Case(
        "json-file-records",
        "JSON file",
        "small-count",
        lambda n: {
            "table.json": json.dumps(
                [{"region": "N", "deaths": n}, {"region": "S", "deaths": 812}]
            ).encode()
        },
        3,
        300,
    ),
    Case(
        "latex-file",
        "LaTeX file",
        "small-count",
        lambda n: {
            "table.tex": (
                "\\begin{tabular}{lr}\nregion & deaths \\\\\n\\hline\n"
                f"North & {n} \\\\\nSouth & 812 \\\\\n\\end{{tabular}}\n"
            ).encode()
        },
        3,
        300,
    ),
    Case(
        "svg-figure-text",
        "SVG figure",
        "person-id",
        lambda v: {"figure.svg": svg(v)},
        PNR,
        "Deaths by region",
        "block",
        twin_rules=frozenset({"figure"}),
    ),
    Case(
        "png-after-end",
        "PNG file",
        "binary",
        lambda trailer: {"figure.png": png(trailer=trailer)},
        b"region,deaths\nNorth,3\n",
        b"",
        "block",
        twin_rules=frozenset({"figure"}),
    ),
    Case(
        "id-in-file-name",
        "file name",
        "person-id",
        lambda v: {f"{v}.csv": b"region,deaths\nNorth,812\nSouth,640\n"},
        PNR,
        "deaths",
        "block",
    ),
    Case(
        "compressed-file",
        "gzip file",
        "compressed",
        lambda name: {name: __import__("gzip").compress(b"region,deaths\nNorth,3\n")},
        "table.csv.gz",
        None,
        "block",
    ),
    Case(
        "zip-named-csv",
        "zip named .csv",
        "compressed",
        lambda data: {"table.csv": data},
        b"PK\x03\x04" + b"\x00" * 40,
        None,
        "block",
    ),
    Case(
        "parquet-named-csv",
        "binary named .csv",
        "binary",
        lambda data: {"table.csv": data},
        b"PAR1\x15\x04\x15\x10\x00\x00" + bytes(range(64)),
        None,
        "block",
    ),
]

BY_NAME = {c.name: c for c in CASES}


def safe_twin(case: Case) -> Outbox | None:
    """The case's safe twin (same channel, safe value), or None."""
    if case.safe is None:
        return None
    if case.name == "rows-split-across-files":
        return {f"part_{k:02d}.csv": rows_file(k * 40, 40) for k in range(10)}
    return case.make(case.safe)


# Safe aggregates as ordinary notebooks and files show them: each must pass as it is.
SAFE: dict[str, Outbox] = {
    "counts-by-sex": {"persons_by_sex.csv": b"koen,n\n1,480\n2,512\n"},
    "cross-table": {
        "mi.csv": b"age_group,1995-1999,2000-2004,Total\n<50,935,904,1839\n50-64,900,953,1853\n"
        b"Total,1835,1857,3692\n"
    },
    "suppressed-cells": {"t.csv": b"age_group,n\n<50,x\n50-64,<5\n65-79,731\n"},
    "semicolons-and-decimal-commas": {
        "t.csv": b"kommune;antal;andel\nAarhus;1234;12,5\nOdense;812;8,1\n"
    },
    "incidence-table": {
        "incidence.csv": b"sex,age_group,cases,person_years,per_1000,lower,upper\n"
        b"Men,0-19,17,81734.18,0.21,0.12,0.33\nWomen,80+,229,20584.44,11.12,9.73,12.66\n"
    },
    "table-one": {
        "table1.csv": b'variable,level,Men,Women\nPersons,,"25,609","26,436"\n'
        b'Age group,18-39,"8,855 (34.6%)","8,742 (33.1%)"\n'
        b'"Age, years",median (IQR),48 (34-63),50 (35-65)\n'
    },
    "summary-dict": nb_outbox(
        code(
            "summary",
            result(
                {
                    "text/plain": "{'persons': 52045,\n 'deaths': 5624,\n 'person_years': 428019.1,\n"
                    " 'incidence_per_1000': 5.3,\n 'cases': 2268}"
                }
            ),
        )
    ),
    "dataframe-with-index": nb_outbox(
        code("df", result({"text/plain": frame_text(300), "text/html": frame_html(300)}))
    ),
    "value-counts": nb_outbox(
        code("s", result({"text/plain": "koen\n1    25609\n2    26436\nName: count, dtype: int64"}))
    ),
    "prose-with-dates-and-codes": nb_outbox(
        code(
            "print",
            stream(
                "52,045 adults resident in Denmark on 2015-01-01; data end 2023-12-31\n"
                "8,232 people with type 2 diabetes; look-back window 2010-01-01 to 2020-01-01\n"
                "koen  integer  Sex: 1 man, 2 woman\nThe register changed on 1 March 2019.\n"
                "<Figure size 700x600 with 1 Axes>\n"
            ),
        )
    ),
    "course-style-markdown": nb_outbox(
        markdown(
            "# 01 · Building a study population\n\n1. open the registers,\n2. take everyone\n\n"
            "## 2. Laboratory values\n\nHbA1c was reported in percent; mmol/mol = 10.929 × (% − 2.15)."
        )
    ),
    "json-records": {
        "t.json": json.dumps([{"region": "N", "n": 812}, {"region": "S", "n": 640}]).encode()
    },
    "many-small-tables": {
        f"t{k}.csv": "".join([f"group_{k},n\n"] + [f"g{i},{100 + i}\n" for i in range(20)]).encode()
        for k in range(30)
    },
}
