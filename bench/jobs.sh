#!/usr/bin/env bash
# bench/jobs.sh — job throughput end to end (bench/jobs): no-op jobs enqueued
# in batches while the workers run, until the last completion is recorded,
# on Loam's queue and on River as the reference, on SQLite and PostgreSQL.
# See bench/README.md.
#
#   bench/jobs.sh
#   REPEAT=3 JOBS=100000 bench/jobs.sh
#   SYSTEMS=loam STORES=postgres bench/jobs.sh
#
# Environment (defaults in brackets):
#   SYSTEMS      loam, river or both                      [loam river]
#   STORES       sqlite, postgres or both                 [sqlite postgres]
#   JOBS         jobs per run                             [50000]
#   RIVER_SQLITE_JOBS  jobs per run of River on SQLite, which is slow  [10000]
#   BATCH        jobs per insert                          [1000]
#   WORKERS      handlers running at once                 [1000]
#   REPEAT       runs per cell; the table shows the median rate  [1]
#   PGURL        PostgreSQL server, without a database    [postgres://postgres@127.0.0.1:5432]
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

SYSTEMS=${SYSTEMS:-loam river}
STORES=${STORES:-sqlite postgres}
JOBS=${JOBS:-50000}
RIVER_SQLITE_JOBS=${RIVER_SQLITE_JOBS:-10000}
BATCH=${BATCH:-1000}
WORKERS=${WORKERS:-1000}
REPEAT=${REPEAT:-1}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PGURL=${PGURL%/}

log() { printf '%s\n' "$*" >&2; }
die() { log "jobs.sh: $*"; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/loam-jobs-bench.XXXXXX")
PGDB=""
cleanup() {
  if [[ -n $PGDB ]]; then
    psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building bench/jobs"
(cd bench/jobs && go build -o "$TMP/jobs" .)

# one SYSTEM STORE N: one run on a fresh database; prints its BENCH line.
one() {
  local system=$1 store=$2 n=$3 where
  case $store in
    sqlite)
      rm -f "$TMP"/run.db*
      where=(-path "$TMP/run.db")
      ;;
    postgres)
      PGDB="loam_jobs_bench_$$"
      psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null
      psql -q "$PGURL/postgres?sslmode=disable" -c "CREATE DATABASE \"$PGDB\"" >/dev/null
      where=(-url "$PGURL/$PGDB?sslmode=disable")
      ;;
    *) die "unknown store $store" ;;
  esac
  "$TMP/jobs" -system "$system" -store "$store" -jobs "$n" -batch "$BATCH" -workers "$WORKERS" "${where[@]}" 2>"$TMP/err.txt" |
    grep '^BENCH ' || { cat "$TMP/err.txt" >&2; die "$system on $store failed"; }
  if [[ -n $PGDB ]]; then
    psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS \"$PGDB\" WITH (FORCE)" >/dev/null
    PGDB=""
  fi
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load=$(cut -d' ' -f1-3 /proc/loadavg)
rows=""
for store in $STORES; do
  for system in $SYSTEMS; do
    n=$JOBS
    if [[ $system == river && $store == sqlite ]]; then n=$RIVER_SQLITE_JOBS; fi
    lines=""
    for ((i = 1; i <= REPEAT; i++)); do
      log "  $system / $store, $n jobs (run $i of $REPEAT)"
      lines+=$(one "$system" "$store" "$n" | awk '{
          for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
          print v["rate"], v["seconds"], v["insert_seconds"]
        }')$'\n'
    done
    median=$(printf '%s' "$lines" | sort -n -k1,1 | awk -v n="$REPEAT" 'NR == int((n + 1) / 2)')
    all=$(printf '%s' "$lines" | awk '{printf "%s%s", sep, $1; sep=", "}')
    rows+=$(awk -v s="$system" -v st="$store" -v n="$n" -v all="$all" \
      '{printf "| %s | %s | %d | %.0f | %.2f | %.2f | %s |", s, st, n, $1, $2, $3, all}' <<<"$median")$'\n'
  done
done

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
echo "## Job throughput, $started"
echo
echo "- machine: $(nproc) cores${cpu:+, $cpu}, $(uname -sr); load average before the run: $load"
echo "- $(go version | cut -d' ' -f3-), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty)'), River $(cd bench/jobs && go list -m -f '{{.Version}}' github.com/riverqueue/river)"
echo "- command: \`SYSTEMS=\"$SYSTEMS\" STORES=\"$STORES\" JOBS=$JOBS RIVER_SQLITE_JOBS=$RIVER_SQLITE_JOBS BATCH=$BATCH WORKERS=$WORKERS REPEAT=$REPEAT bench/jobs.sh\`"
echo
echo "| system | store | jobs | jobs/s (median) | seconds | enqueue seconds | every run's jobs/s |"
echo "| --- | --- | ---: | ---: | ---: | ---: | --- |"
printf '%s' "$rows"
