"""``hdss-dataset``: generate, verify, describe and list synthetic register datasets."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hdss_common.catalog import CatalogError, Sensitivity, scan

from hdss_registers.dictionary import markdown
from hdss_registers.generate import DEFAULT_NAME, SIZES, Request, generate, steady_heap
from hdss_registers.publish import MARKER, PublishError
from hdss_registers.verify import VerifyError, resolve_version, verify


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be 0 or more, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hdss-dataset", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="generate and publish a dataset version")
    g.add_argument(
        "--size",
        required=True,
        choices=list(SIZES),
        help="tiny (~1,000 persons), small (~100,000) or full (5,000,000)",
    )
    g.add_argument("--seed", required=True, type=_seed, help="random seed (0 or more)")
    g.add_argument("--out", required=True, type=Path, help="dataset root; one root per sensitivity")
    g.add_argument("--name", default=DEFAULT_NAME, help=f"dataset name (default {DEFAULT_NAME})")
    g.add_argument(
        "--sensitivity",
        default="synthetic",
        choices=[s.value for s in Sensitivity],
        help="restricted makes the twin that stands in for real data",
    )
    g.add_argument("--persons", type=int, help="override the number of persons of --size")
    g.add_argument("--jobs", type=int, help="worker processes (default: CPUs, at most 4)")
    v = sub.add_parser("verify", help="recheck checksums, row counts and keys")
    v.add_argument("path", type=Path, help="a version directory or a dataset directory")
    v.add_argument("--no-keys", action="store_true", help="check files only, skip keys")
    d = sub.add_parser("dictionary", help="print the markdown data dictionary")
    d.add_argument("path", type=Path, help="a version directory or a dataset directory")
    ls = sub.add_parser("list", help="print the catalogue of a dataset root")
    ls.add_argument("root", type=Path)
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def cmd_generate(a) -> int:
    req = Request(
        size=a.size,
        seed=a.seed,
        out=a.out,
        name=a.name,
        sensitivity=Sensitivity(a.sensitivity),
        persons=a.persons,
        jobs=a.jobs,
    )
    steady_heap()
    path = generate(req)
    print(path)
    return 0


def cmd_verify(a) -> int:
    version, problems, manifest = verify(a.path, keys=not a.no_keys)
    if problems:
        for p in problems:
            print(f"BROKEN {version}/{p}", file=sys.stderr)
        print(f"hdss-dataset verify: {len(problems)} problem(s) in {version}", file=sys.stderr)
        return 1
    files = sum(len(r["files"]) for r in manifest["resources"])
    rows = sum(r["rows"] for r in manifest["resources"])
    print(
        f"OK {version}: {files} files, {rows:,} rows, checksums"
        + ("" if a.no_keys else ", primary and foreign keys")
        + " verified"
    )
    return 0


def cmd_dictionary(a) -> int:
    version = resolve_version(a.path)
    sys.stdout.write(markdown(json.loads((version / "datapackage.json").read_text())))
    return 0


def cmd_list(a) -> int:
    marker = a.root / MARKER
    sens = Sensitivity(marker.read_text().strip()) if marker.is_file() else Sensitivity.SYNTHETIC
    entries = scan(a.root, sens)
    if a.json:
        print(
            json.dumps(
                [
                    {
                        "name": e.name,
                        "version": e.version,
                        "sensitivity": e.sensitivity.value,
                        "path": str(e.path),
                        "mount_path": e.mount_path,
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return 0
    print(f"{'name':<20} {'version':<36} {'sensitivity':<11} {'persons':>9}  mounted at")
    for e in entries:
        persons = e.manifest().get("provenance", {}).get("persons", "?")
        print(
            f"{e.name:<20} {e.version:<36} {e.sensitivity.value:<11} {persons:>9}  {e.mount_path}"
        )
    if not entries:
        print(f"(no datasets under {a.root})")
    return 0


COMMANDS = {
    "generate": cmd_generate,
    "verify": cmd_verify,
    "dictionary": cmd_dictionary,
    "list": cmd_list,
}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (PublishError, VerifyError, CatalogError) as exc:
        print(f"hdss-dataset {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
