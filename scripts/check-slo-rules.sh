#!/usr/bin/env bash
# Prometheus' own checker on the rules Socle generates: every SLO spec of Sloth's corpus
# (conformance/sloth, but the Go-plugin specs Socle refuses) and every golden path's slo.yaml
# (rendered with sample values) through `socle slo generate --rule-files`, then
# `promtool check rules` on each YAML document written (promtool reads one document per file).
set -euo pipefail
cd "$(dirname "$0")/.."
socle=${1:?usage: check-slo-rules.sh path/to/socle}
command -v promtool >/dev/null || { echo "promtool missing (Debian package prometheus)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

specs=(examples/slo.yaml deploy/slo/socle.yaml conformance/sloth/examples/*.yml)
for f in conformance/sloth/testdata/in-*.yaml; do
  case "$f" in *plugin*|*invalid*) continue ;; esac
  specs+=("$f")
done
mkdir -p "$work/golden"
for t in golden-paths/*/skeleton/slo.yaml; do
  name=$(basename "$(dirname "$(dirname "$t")")")
  sed -e 's/\${{ values.name }}/payments-api/g' -e 's/\${{ values.owner }}/team-payments/g' \
      -e 's/{% raw %}//g' -e 's/{% endraw %}//g' "$t" > "$work/golden/$name.yaml"
  specs+=("$work/golden/$name.yaml")
done

n=0
for spec in "${specs[@]}"; do
  out="$work/out/$n"
  "$socle" slo generate --rule-files "$spec" -d "$out" -o json >/dev/null
  for rules in "$out"/*.yaml; do
    (cd "$out" && csplit --quiet --elide-empty-files --prefix "doc-" "$rules" '/^---$/' '{*}')
  done
  for doc in "$out"/doc-*; do
    promtool check rules "$doc" >/dev/null || { echo "promtool refused rules of $spec:"; promtool check rules "$doc"; exit 1; }
  done
  n=$((n + 1))
done
echo "promtool check rules: the rules of $n SLO specs pass"
