#!/usr/bin/env bash
# Renders every built-in golden path with the built socle binary (a dry run: no repository, no
# registration, no deploy), then checks that what a developer gets really works:
#   - both CI files of every path against their schemas (check-jsonschema's vendored
#     github-workflows and gitlab-ci schemas);
#   - the Rust service builds and passes its own tests (cargo);
#   - the Python service passes its tests (pytest, in a virtualenv) when python3 -m venv works;
#   - the TypeScript service builds and passes its tests when npm is available.
# Usage: scripts/check-golden-paths.sh [path/to/socle]
set -euo pipefail
cd "$(dirname "$0")/.."
socle=$(realpath "${1:-target/debug/socle}")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The owner and system the services are created for: the guardrails step checks they exist.
mkdir -p "$out/catalog"
cat > "$out/catalog/catalog-info.yaml" <<'YAML'
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-a
spec:
  type: team
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: shop
spec:
  owner: team-a
YAML
"$socle" catalog ingest "$out/catalog" --data-dir "$out/data" --log warn >/dev/null
render() { # template dir
  "$socle" template run "$1" --dry-run --no-input --output-dir "$out/$2" --data-dir "$out/data" --log warn \
    --set name=orders-api --set "description=Takes orders" --set owner=group:default/team-a \
    --set system=shop --set lifecycle=production --set database=true \
    --set repoUrl=https://github.com/acme/orders-api
}
render rust-axum-service rust
render python-fastapi-service python
render typescript-node-service ts
for p in rust python ts; do
  check-jsonschema --builtin-schema vendor.github-workflows "$out/$p/.github/workflows/ci.yaml"
  check-jsonschema --builtin-schema vendor.gitlab-ci "$out/$p/.gitlab-ci.yml"
done
echo "== the rendered workloads pass the built-in guardrails"
for p in rust python ts; do
  "$socle" policy eval "$out/$p/score.yaml" --log warn
done
echo "== the Rust golden path builds and passes its tests"
(cd "$out/rust" && CARGO_TARGET_DIR="$out/target" cargo test --quiet 2>&1 | tail -n 5)
if python3 -m venv "$out/venv" >/dev/null 2>&1; then
  echo "== the Python golden path passes its tests"
  "$out/venv/bin/pip" install --quiet --disable-pip-version-check -r "$out/python/requirements.txt" -r "$out/python/requirements-dev.txt"
  (cd "$out/python" && "$out/venv/bin/python" -m pytest -q 2>&1 | tail -n 3)
else
  echo "python3 -m venv is not available: Python golden path not run"
fi
if command -v npm >/dev/null 2>&1; then
  echo "== the TypeScript golden path builds and passes its tests"
  (cd "$out/ts" && npm install --silent --no-audit --no-fund >/dev/null && npm run --silent build && npm test --silent 2>&1 | tail -n 5)
else
  echo "npm is not available: TypeScript golden path not run"
fi
echo "golden paths: ok"
