#!/usr/bin/env bash
# Regenerates conformance/odcs/expected.json: the verdict of check-jsonschema (PyPI, Python's
# `jsonschema`) on every ODCS example of conformance/odcs against the official JSON Schema its
# apiVersion names — valid or not, and the path of every error. socle-data's tests compare
# Socle's own validation with it per file and per path.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v check-jsonschema >/dev/null || python3 -m pip install --quiet check-jsonschema
schemas=crates/socle-data/schema
python3 - "$schemas" <<'PY'
import json, pathlib, re, subprocess, sys
schemas = pathlib.Path(sys.argv[1])
out = {}
for f in sorted(pathlib.Path("conformance/odcs").rglob("*.odcs.yaml")):
    text = f.read_text()
    m = re.search(r'^apiVersion:\s*"?(v3\.\d\.\d)"?', text, re.M)
    version = m.group(1) if m else None
    schema = schemas / ("odcs-json-schema-v3.1.0.json" if version == "v3.1.0" else "odcs-json-schema-v3.0.2.json")
    r = subprocess.run(["check-jsonschema", "-o", "json", "--schemafile", str(schema), str(f)],
                       capture_output=True, text=True)
    report = json.loads(r.stdout)
    paths = sorted({e["path"] for e in report["errors"]})
    out[str(f.relative_to("conformance/odcs"))] = {"apiVersion": version, "valid": report["status"] == "ok", "errors": paths}
pathlib.Path("conformance/odcs/expected.json").write_text(json.dumps(out, indent=2) + "\n")
PY
echo "wrote conformance/odcs/expected.json"
