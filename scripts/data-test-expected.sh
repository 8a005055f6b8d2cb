#!/usr/bin/env bash
# Regenerates conformance/data-test/expected.json: datacontract-cli's verdict on every check of
# every contract in conformance/data-test, on the fixture loaded into PostgreSQL (schema
# dq_corpus). socle-data-pg's corpus test compares Socle's verdicts with it, check by check.
#   DATACONTRACT=/opt/dcli/bin/datacontract bash scripts/data-test-expected.sh
# (datacontract-cli from PyPI: pip install "datacontract-cli[postgres]==1.2.8")
set -euo pipefail
cd "$(dirname "$0")/../conformance/data-test"
dc=${DATACONTRACT:-datacontract}
url=${PGURL:-postgres://postgres@127.0.0.1:5432/test}
psql "$url" -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS dq_corpus CASCADE; CREATE SCHEMA dq_corpus;"
PGOPTIONS="-c search_path=dq_corpus" psql "$url" -q -v ON_ERROR_STOP=1 -f fixture.sql
export DATACONTRACT_POSTGRES_USERNAME=${DATACONTRACT_POSTGRES_USERNAME:-postgres}
export DATACONTRACT_POSTGRES_PASSWORD=${DATACONTRACT_POSTGRES_PASSWORD:-unused}
out=$(mktemp -d)
for f in *.odcs.yaml; do
  "$dc" test "$f" --output "$out/$f.json" --output-format json >/dev/null 2>&1 || true
done
version=$("$dc" --version | tail -n1)
python3 - "$out" "$version" <<'PY'
import json, os, sys
out, version = sys.argv[1], sys.argv[2]
contracts = {}
for name in sorted(os.listdir(out)):
    run = json.load(open(os.path.join(out, name)))
    contracts[name[:-len(".json")]] = [
        {"key": c["key"], "type": c.get("type"), "result": c["result"], "name": c.get("name")}
        for c in run["checks"]
    ]
json.dump({"tool": f"datacontract-cli {version}", "contracts": contracts},
          open("expected.json", "w"), indent=1)
open("expected.json", "a").write("\n")
PY
psql "$url" -q -c "DROP SCHEMA dq_corpus CASCADE;"
echo "expected.json: $(python3 -c 'import json;d=json.load(open("expected.json"));print(sum(len(v) for v in d["contracts"].values()))') checks"
