#!/usr/bin/env bash
# Renders every Score workload of conformance/score/ for both targets with the built
# socle binary: environment `local` (Compose, checked against the compose-spec JSON Schema with
# check-jsonschema) and `dev` (Kubernetes, checked with kubernetes-validate --strict; CRDs such as
# ExternalSecret or HTTPRoute have no bundled schema and are reported, not failed).
# Usage: scripts/check-rendered.sh [path/to/socle]
set -euo pipefail
cd "$(dirname "$0")/.."
socle=${1:-target/debug/socle}
corpus=conformance/score
out=$(mktemp -d)
platform=$(mktemp -d)
trap 'rm -rf "$out" "$platform"' EXIT
# The shipped configuration plus definitions for the specification sample's made-up types.
cp -r crates/socle-platform/defaults/. "$platform/"
cp scripts/conformance-platform/*.yaml "$platform/"
n=0
gen() { # name files...
  local name=$1; shift
  "$socle" workload generate "$@" --env local --seed 1 --platform "$platform" --data-dir "$out/data" --output-dir "$out/compose/$name" --log warn
  "$socle" workload generate "$@" --env dev --seed 1 --platform "$platform" --data-dir "$out/data" --output-dir "$out/k8s/$name" --log warn
  n=$((n + 1))
}
for dir in "$corpus"/compose-examples/*/; do
  name=$(basename "$dir")
  [ "$name" = expected ] && continue
  mapfile -t files < <(find "$dir" -maxdepth 1 -name 'score*.yaml' | sort)
  publish=()
  [ "$name" = 08-service-port-resource ] && publish=(--publish 8080:workload-a:80)
  [ "$name" = 07-overrides ] && publish=(--override-property 'containers.web.variables.DEBUG="true"')
  gen "$name" "${files[@]}" "${publish[@]}"
done
for f in "$corpus"/specification/*/score.yaml "$corpus"/resources/*/score.yaml; do
  gen "$(basename "$(dirname "$f")")-$(basename "$f" .yaml)" "$f"
done
# The specification's samples name a file (`source: file.txt`) that the corpus does not ship:
# render them from a copy with that file present.
samples=$(mktemp -d)
trap 'rm -rf "$out" "$platform" "$samples"' EXIT
cp "$corpus"/spec-samples/*.yaml "$samples/"
echo "sample content" > "$samples/file.txt"
for f in "$samples"/*.yaml; do
  gen "spec-samples-$(basename "$f" .yaml)" "$f"
done
check-jsonschema --builtin-schema vendor.compose-spec "$out"/compose/*/compose.yaml
echo "compose-spec: $n rendered projects valid"
mapfile -t manifests < <(find "$out/k8s" -name '*.yaml' | sort)
kubernetes-validate --strict --quiet "${manifests[@]}"
echo "kubernetes: ${#manifests[@]} manifests of $n rendered projects checked"
