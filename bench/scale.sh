#!/usr/bin/env bash
# bench/scale.sh — does a filtered, sorted page cost the same at 10 000 and
# at 1 000 000 rows? See bench/README.md ("Scale").
#
#   bench/scale.sh                          # SQLite and PostgreSQL, 10k and 1M rows
#   STORES=sqlite SIZES="10000 100000" bench/scale.sh
#
# Environment (defaults in brackets):
#   STORES       stores to measure                  [sqlite postgres]
#   SIZES        row counts                         [10000 1000000]
#   DURATION     wrk duration per request kind      [5s]
#   CONNECTIONS  wrk connections (1: plain latency) [1]
#   PGURL        PostgreSQL server, no database     [postgres://postgres@127.0.0.1:5432]
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH="$ROOT/bench"
STORES=${STORES-sqlite postgres}
SIZES=${SIZES:-10000 1000000}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-1}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PGURL=${PGURL%/}
EMAIL=bench@example.com
PASSWORD=bench-password-1234

log() { printf '%s\n' "$*" >&2; }
die() { log "scale.sh: $*"; exit 1; }
for tool in go wrk curl python3; do command -v "$tool" >/dev/null || die "$tool is missing"; done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/loam-scale.XXXXXX")
PID=
PGDB=
cleanup() {
  [[ -n $PID ]] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  [[ -n $PGDB ]] && psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building loam and bulk into $TMP"
go build -o "$TMP/loam" ./cmd/loam
go build -o "$TMP/bulk" ./bench/bulk

COLLECTION_JSON='{"name":"items","type":"base",
 "fields":[{"name":"status","type":"select","values":["s0","s1","s2","s3","s4","s5","s6","s7","s8","s9"]},
           {"name":"n","type":"number","integer":true},
           {"name":"title","type":"text"}],
 "indexes":[{"name":"items_status_created","fields":["status","created"]}],
 "rules":{"list":"","view":"","create":"","update":"","delete":""}}'
# status = "s3" holds a tenth of the rows; the page is ordered newest first.
Q='filter=status%20%3D%20%22s3%22&sort=-created&perPage=20'

# measure NAME PATH: wrk on one request; prints "p50 p99 rps".
measure() {
  local out="$TMP/wrk.txt" line
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/path.lua" "$URL" -- "$2" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
  line=$(grep '^BENCH ' "$out") || { cat "$out" >&2; die "no figures for $1"; }
  awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
         if (v["non2xx"] + v["sockerr"] > 0) { print "errors" > "/dev/stderr"; exit 1 }
         printf "%s %s %.0f\n", v["p50"], v["p99"], v["rps"] }' <<<"$line"
}

echo "## Scale: a filtered, sorted page of 20 at each size"
echo
echo "- $(go version | cut -d' ' -f3-), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ' (dirty)'), $(nproc) cores"
echo "- wrk -t1 -c$CONNECTIONS -d$DURATION; p50 / p99 in ms; \`filter=status = \"s3\"\` (a tenth of the rows), \`sort=-created\`, \`perPage=20\`; index on (status, created)"
echo
echo "| store | rows | page 1, skipTotal | middle page by cursor | middle page by offset | page 1 with totalItems |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for store in $STORES; do
  for size in $SIZES; do
    port=$((18190 + RANDOM % 500))
    URL="http://127.0.0.1:$port"
    dir="$TMP/$store-$size"
    mkdir -p "$dir"
    args=(--http "127.0.0.1:$port" --dir "$dir")
    bulkargs=(-sqlite "$dir/data.db")
    if [[ $store == postgres ]]; then
      PGDB="loam_scale_$$_$size"
      psql -q "$PGURL/postgres?sslmode=disable" -c "CREATE DATABASE \"$PGDB\"" >/dev/null
      args+=(--db "$PGURL/$PGDB?sslmode=disable")
      bulkargs=(-postgres "$PGURL/$PGDB?sslmode=disable")
    fi
    "$TMP/loam" superuser create "${args[@]:2}" "$EMAIL" "$PASSWORD" >/dev/null 2>&1 || die "superuser create failed"
    "$TMP/loam" serve "${args[@]}" >"$dir/serve.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do curl -fsS -o /dev/null "$URL/api/health" 2>/dev/null && break; sleep 0.1; done
    tok=$(curl -fsS -H 'Content-Type: application/json' -d "{\"identity\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
      "$URL/api/collections/_superusers/auth/password" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    curl -fsS -o /dev/null -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' -d "$COLLECTION_JSON" "$URL/api/collections"
    log "$store, $size rows: seeding"
    "$TMP/bulk" "${bulkargs[@]}" -n "$size" >&2
    mid=$((size / 10 / 20 / 2))
    base="/api/collections/items/records?$Q"
    cursor=$(curl -fsS "$URL$base&skipTotal=1&page=$mid" | python3 -c 'import json,sys; print(json.load(sys.stdin)["nextCursor"])')
    log "$store, $size rows: measuring (middle page $((mid + 1)))"
    first=$(measure first "$base&skipTotal=1")
    bycursor=$(measure cursor "$base&skipTotal=1&cursor=$cursor")
    byoffset=$(measure offset "$base&skipTotal=1&page=$((mid + 1))")
    total=$(measure total "$base")
    cell() { awk '{printf "%s / %s", $1, $2}' <<<"$1"; }
    echo "| $store | $size | $(cell "$first") | $(cell "$bycursor") | $(cell "$byoffset") | $(cell "$total") |"
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
    if [[ -n $PGDB ]]; then psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null; PGDB=; fi
  done
done
