# Runs oracle.sql (given on the command line, placeholders filled) with DuckDB; prints
# {"sql_seconds": …, "scopes": {scope: {figure: value}}} as JSON.
import json
import sys
import time

import duckdb

sql = open(sys.argv[1]).read()
con = duckdb.connect()
started = time.time()
statements = [s for s in sql.split(";") if s.strip() and not all(
    line.strip().startswith("--") or not line.strip() for line in s.splitlines())]
for s in statements[:-1]:
    con.execute(s)
cur = con.execute(statements[-1])
columns = [c[0] for c in cur.description]
rows = cur.fetchall()
elapsed = time.time() - started
scopes = {r[0]: dict(zip(columns[1:], r[1:])) for r in rows}
print(json.dumps({"sql_seconds": elapsed, "scopes": scopes}))
