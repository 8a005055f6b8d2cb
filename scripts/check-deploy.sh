#!/usr/bin/env bash
# Socle's own packaging: the Kustomize base deploy/kubernetes built with `kubectl kustomize`
# (Debian's kubernetes-client), every object validated with kubernetes-validate --strict (the
# ServiceMonitor is a Prometheus Operator CRD with no bundled schema: kubernetes-validate warns
# and skips it), and the whole output evaluated with Socle's built-in guardrails
# (`socle policy eval --fail-on-warn`: no deny, no warning). The Dockerfile is not built here
# (no container engine on CI). `socle-policy`'s tests/it/packaging.rs runs the same guardrails per file.
# Usage: scripts/check-deploy.sh [path/to/socle]
set -euo pipefail
cd "$(dirname "$0")/.."
socle=${1:-target/debug/socle}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
kubectl kustomize deploy/kubernetes > "$out/socle.yaml"
kinds=$(grep -c '^kind:' "$out/socle.yaml")
kubernetes-validate --strict --quiet "$out/socle.yaml"
echo "kubernetes-validate: $kinds objects of deploy/kubernetes valid (ServiceMonitor: CRD, skipped)"
"$socle" policy eval --fail-on-warn "$out/socle.yaml" --log warn
echo "guardrails: the built-in pack passes on deploy/kubernetes"
