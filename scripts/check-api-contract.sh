#!/usr/bin/env bash
# The API against its own contract. Starts `socle serve --demo` on a free port, validates the
# OpenAPI document it publishes with openapi-spec-validator, then runs Schemathesis (pinned)
# against it twice — anonymously, and with the bootstrap admin token — with the checks
# not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance. Any failure fails the script.
# The admin run leaves out the operations that would revoke its own token or delete the demo's
# location (the rest of the run would then only see refusals).
# Usage: scripts/check-api-contract.sh [path/to/socle]
# SOCLE_CONTRACT_SECONDS: time budget of each Schemathesis run (default 75).
set -euo pipefail
cd "$(dirname "$0")/.."
socle=$(realpath "${1:-target/debug/socle}")
seconds=${SOCLE_CONTRACT_SECONDS:-75}
schemathesis_version=4.32.5
validator_version=0.9.0

# The Python tools in a virtual environment of their own (their dependencies would otherwise
# replace those of the other PyPI tools CI installs), created only when missing.
tools=${SOCLE_API_TOOLS:-$HOME/.cache/socle-api-tools}
if ! "$tools/bin/st" --version 2>/dev/null | grep -q "$schemathesis_version" ||
  ! [ -x "$tools/bin/openapi-spec-validator" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$schemathesis_version" "openapi-spec-validator==$validator_version"
fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$work" && exec "$socle" serve --demo --listen 127.0.0.1:0) >/dev/null 2>"$work/server.log" &
server=$!
for _ in $(seq 1 180); do
  grep -q "entities on http://" "$work/server.log" && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 1
done
base=$(grep -o "entities on http://[^ ]*" "$work/server.log" | head -n1 | sed 's/^entities on //')
token=$(grep -o 'socle_[0-9a-f]\{48\}' "$work/server.log" | head -n1)
if [ -z "$base" ] || [ -z "$token" ]; then
  echo "the demo server did not start (or printed no admin token):" >&2
  cat "$work/server.log" >&2
  exit 1
fi
echo "demo server at $base"

python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "$base/api/openapi.json" >"$work/openapi.json"
"$tools/bin/openapi-spec-validator" "$work/openapi.json"

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
common=(
  --url "$base" --checks "$checks" --max-time "$seconds" --workers 2 --seed 23
  --request-timeout 30 --suppress-health-check all
)
# JSON Lines bodies are sent as text (scripts/schemathesis_hooks.py).
export PYTHONPATH="$PWD/scripts${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS=schemathesis_hooks
# Schemathesis keeps a cache where it runs: in the scratch directory, not in the checkout.
run_st() { (cd "$work" && "$tools/bin/st" --no-color run openapi.json "${common[@]}" "$@"); }
# A run whose only problem is Schemathesis' own crash (CPython 3.11's `ast` is not thread-safe
# under --workers 2: "AST constructor recursion depth mismatch") is run once more; a failed
# check is never retried.
st() {
  run_st "$@" 2>&1 | tee "$work/st.log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && grep -q "Runtime Error" "$work/st.log" && ! grep -qE "^Failures:|[0-9]+ failed" "$work/st.log"; then
    echo "-- Schemathesis crashed (its runtime error, no failed check): running it once more"
    run_st "$@"
    return
  fi
  return "$rc"
}
status=0
echo "-- Schemathesis, anonymous"
st || status=1
echo "-- Schemathesis, admin token"
st --header "Authorization: Bearer $token" \
  --exclude-operation-id revoke_token --exclude-operation-id delete_location || status=1
if grep -q "panicked" "$work/server.log"; then
  echo "the server panicked:" >&2
  grep -A3 "panicked" "$work/server.log" | head -n 40 >&2
  status=1
fi
exit "$status"
