"""The data dictionary of a dataset, read from its manifest."""

from __future__ import annotations

import os
import textwrap

from hdss_data.dataset import Dataset, load


def _fields_text(fields: tuple[dict, ...], width: int) -> list[str]:
    if not fields:
        return ["    (no schema in the manifest)"]
    name_w = max(len(str(f.get("name", ""))) for f in fields)
    type_w = max(len(str(f.get("type", ""))) for f in fields)
    lines = []
    for f in fields:
        head = f"    {f.get('name', ''):<{name_w}}  {f.get('type', ''):<{type_w}}  "
        desc = f.get("description") or f.get("title") or ""
        wrapped = textwrap.wrap(desc, max(20, width - len(head))) or [""]
        lines.append(head + wrapped[0])
        lines += [" " * len(head) + w for w in wrapped[1:]]
    return lines


def data_dictionary(
    root: str | os.PathLike | Dataset | None = None, table: str | None = None, width: int = 100
) -> str:
    """The data dictionary as text: every table (or one), its columns, types and meaning."""
    dataset = root if isinstance(root, Dataset) else load(root, check_files=False)
    title = dataset.manifest.get("title") or dataset.name
    lines = [
        f"{title} — version {dataset.version} ({dataset.sensitivity})",
        f"at {dataset.path}",
        "",
    ]
    names = [table] if table else sorted(dataset.tables)
    for name in names:
        info = dataset.table(name)
        rows = f", {info.rows:,} rows" if info.rows is not None else ""
        key = f", key ({', '.join(info.primary_key)})" if info.primary_key else ""
        lines.append(f"{name}{rows}{key}")
        for text in (info.title, info.description):
            lines += ["  " + w for w in textwrap.wrap(text, width - 2)] if text else []
        lines += _fields_text(info.fields, width)
        lines.append("")
    return "\n".join(lines)


def describe(root: str | os.PathLike | Dataset | None = None, table: str | None = None) -> None:
    """Print the data dictionary of the dataset at ``root`` (or of one ``table``)."""
    print(data_dictionary(root, table))
