#!/usr/bin/env bash
# Regenerates conformance/data-test/files/expected.json: datacontract-cli's verdict on every
# check of files/orders.odcs.yaml on each of its servers (CSV, JSON Lines) and of
# files/orders-parquet.odcs.yaml on its Parquet server, on the data files
# rendered from data/*.in (`@AGO 5h@` becomes the UTC time five hours ago, so freshness has a
# passing and a failing side on any day; the Parquet file is the rendered CSV with the typed
# columns PARQUET_COLUMNS names, written by DuckDB here and by the parquet crate in the test).
# socle-data-files' corpus test renders the same files and compares Socle's verdicts with these,
# check by check.
#   DATACONTRACT=/opt/dcli/bin/datacontract bash scripts/data-test-files-expected.sh
# (datacontract-cli from PyPI: pip install "datacontract-cli[csv,parquet]==1.2.8")
set -euo pipefail
here="$(cd "$(dirname "$0")/../conformance/data-test/files" && pwd)"
dc=${DATACONTRACT:-datacontract}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here"/*.odcs.yaml "$work"/
mkdir -p "$work/data"
python3 - "$here/data" "$work/data" <<'PY'
import datetime, os, re, sys
src, dst = sys.argv[1], sys.argv[2]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
def ago(m):
    return (now - datetime.timedelta(hours=int(m.group(1)))).strftime("%Y-%m-%dT%H:%M:%SZ")
for name in os.listdir(src):
    if name.endswith(".in"):
        text = open(os.path.join(src, name)).read()
        open(os.path.join(dst, name[:-3]), "w").write(re.sub(r"@AGO (\d+)h@", ago, text))
PY
cd "$work"
# DuckDB comes with datacontract-cli: the Python next to it.
py="$(dirname "$(command -v "$dc")")/python"
"$py" - <<'PY'
import duckdb
cols = {"order_id": "VARCHAR", "customer_email": "VARCHAR", "status": "VARCHAR", "amount": "DOUBLE",
        "qty": "BIGINT", "placed_at": "TIMESTAMPTZ", "country": "VARCHAR"}
duckdb.sql("SET TimeZone = 'UTC'")
duckdb.sql(f"COPY (SELECT * FROM read_csv('data/orders.csv', header = true, columns = {cols})) "
           "TO 'data/orders.parquet' (FORMAT parquet)")
PY
for server in csv json; do
  "$dc" test orders.odcs.yaml --server "$server" --output "$work/$server.json" --output-format json >/dev/null 2>&1 || true
done
"$dc" test orders-parquet.odcs.yaml --server parquet --output "$work/parquet.json" --output-format json >/dev/null 2>&1 || true
version=$("$dc" --version | tail -n1)
python3 - "$work" "$version" "$here/expected.json" <<'PY'
import json, os, sys
work, version, target = sys.argv[1], sys.argv[2], sys.argv[3]
servers = {}
for server in ("csv", "json", "parquet"):
    run = json.load(open(os.path.join(work, server + ".json")))
    servers[server] = [
        {"key": c["key"], "type": c.get("type"), "result": c["result"], "name": c.get("name"),
         "reason": c.get("reason")}
        for c in run["checks"]
    ]
json.dump({"tool": f"datacontract-cli {version}", "contract": "orders.odcs.yaml; parquet: orders-parquet.odcs.yaml", "servers": servers},
          open(target, "w"), indent=1)
open(target, "a").write("\n")
PY
echo "expected.json: $(python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print({k: len(v) for k, v in d["servers"].items()})' "$here/expected.json") checks"
