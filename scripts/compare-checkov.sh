#!/usr/bin/env bash
# Side by side: Socle's built-in guardrails vs Checkov (PyPI `checkov`, run offline) on the
# deliberately bad and the clean Kubernetes manifests of crates/socle-policy/tests/it/fixtures.
# For the Checkov checks the built-in pack maps, both must report the same set on the bad file and
# nothing on the clean one. Not part of CI (Checkov is a large install).
# Usage: scripts/compare-checkov.sh [path/to/socle]
set -euo pipefail
cd "$(dirname "$0")/.."
socle=${1:-target/debug/socle}
venv=${CHECKOV_VENV:-/tmp/checkov-venv}
[ -x "$venv/bin/checkov" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet checkov; }
mapped="CKV_K8S_8 CKV_K8S_9 CKV_K8S_10 CKV_K8S_11 CKV_K8S_12 CKV_K8S_13 CKV_K8S_14 CKV_K8S_16 CKV_K8S_17 CKV_K8S_18 CKV_K8S_19 CKV_K8S_20 CKV_K8S_22 CKV_K8S_23 CKV_K8S_28 CKV_K8S_35 CKV_K8S_37"
status=0
for f in bad clean; do
  file=crates/socle-policy/tests/it/fixtures/$f.yaml
  checkov=$("$venv/bin/checkov" -f "$file" --framework kubernetes -o json --quiet 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); d=d if isinstance(d,dict) else d[0]; print("\n".join(sorted({c["check_id"] for c in d["results"]["failed_checks"]})))' || true)
  # (socle exits 1 when it finds failures: that is expected here)
  ours=$({ "$socle" policy eval "$file" -o json --log warn || true; } | python3 -c 'import json,sys; print("\n".join(sorted({c for f in json.load(sys.stdin) for c in f.get("checkov", [])})))')
  a=$(for id in $mapped; do if grep -qx "$id" <<<"$checkov"; then echo "$id"; fi; done | sort | tr '\n' ' ')
  b=$(for id in $mapped; do if grep -qx "$id" <<<"$ours"; then echo "$id"; fi; done | sort | tr '\n' ' ')
  echo "$f: checkov=[${a% }] socle=[${b% }]"
  [ "$a" = "$b" ] || { echo "  MISMATCH on $f"; status=1; }
done
exit $status
