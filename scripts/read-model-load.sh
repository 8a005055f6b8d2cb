#!/bin/bash
# Times one full load of the read model, alone, over a store already written:
#   scripts/read-model-load.sh SOCLE_BINARY DATA_DIR
# e.g. after `socle-bench catalog --entities 1000000 --keep /tmp/keep`:
#   scripts/read-model-load.sh target/release/socle /tmp/keep/1000000/data
# Starts `socle serve` over DATA_DIR (a free loopback port, no refresh), waits for the
# "read model loaded" log line (its phases: entities, relations, sort, index), prints it and the
# process's peak RSS at that moment (VmHWM), then stops the server.
set -euo pipefail
bin=$1
data=$2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$bin" serve --data-dir "$data" --listen 127.0.0.1:0 --refresh-interval 0 \
    --log socle_app=info >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 1500); do
    grep -q "read model loaded" "$log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.2
done
hwm=$(grep VmHWM "/proc/$pid/status")
kill -INT "$pid"
wait "$pid" 2>/dev/null || true
sed 's/\x1b\[[0-9;]*m//g; s/.*socle_app[:a-z_]*: //' "$log" | grep "read model"
echo "$hwm"
