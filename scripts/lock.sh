#!/usr/bin/env bash
# Regenerate the lock files from requirements/*.in: dev.txt is a freeze of a venv built from
# dev.in; hub.txt is hub.in resolved with dev.txt as constraints (the same versions).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --upgrade pip
"$tmp/venv/bin/pip" install -q -r requirements/dev.in
{ echo "# Pinned test and tooling environment: pip freeze of a venv built from dev.in (make lock)."
  "$tmp/venv/bin/pip" freeze; } > requirements/dev.txt
"$tmp/venv/bin/pip" install -q --dry-run --ignore-installed -r requirements/hub.in \
  -c requirements/dev.txt --report "$tmp/hub.json"
"$tmp/venv/bin/python" - "$tmp/hub.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
pins = sorted((i["metadata"]["name"].lower(), i["metadata"]["version"]) for i in report["install"])
with open("requirements/hub.txt", "w") as f:
    f.write("# Pinned runtime of the hub: hub.in resolved with dev.txt as constraints (make lock).\n")
    f.writelines(f"{name}=={version}\n" for name, version in pins)
PY
echo "requirements/dev.txt and requirements/hub.txt regenerated"
