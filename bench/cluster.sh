#!/usr/bin/env bash
# bench/cluster.sh — creates and reads per second through nginx with 1, 2
# and 3 api instances on one PostgreSQL (bench/cluster/main.go does the work).
#
#   bench/cluster.sh                       # 1,2,3 instances, 10 s per scenario
#   INSTANCES=1,3 DURATION=5s bench/cluster.sh
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in go wrk nginx; do
  command -v "$tool" >/dev/null || { echo "cluster.sh: $tool is missing (apt-get install -y wrk nginx-light)" >&2; exit 1; }
done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/loam-cluster.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
go build -o "$TMP/loam" ./cmd/loam
go build -o "$TMP/cluster" ./bench/cluster
"$TMP/cluster" -loam "$TMP/loam" -instances "${INSTANCES:-1,2,3}" -duration "${DURATION:-10s}" \
  -c "${CONNECTIONS:-64}" -t "${THREADS:-2}" -records "${RECORDS:-10000}" \
  -pg "${PGURL:-postgres://postgres@127.0.0.1:5432}"
