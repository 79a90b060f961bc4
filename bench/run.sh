#!/usr/bin/env bash
# bench/run.sh — Loam's load scenarios against the floor (bench/floor) and
# against `loam serve` on each store, with wrk. See bench/README.md.
#
#   bench/run.sh                          # floor, SQLite and PostgreSQL, 10 s per scenario
#   STORES=sqlite DURATION=5s bench/run.sh
#
# Environment (defaults in brackets):
#   STORES       stores to measure, space separated       [sqlite postgres]
#   DURATION     wrk duration per scenario                 [10s]
#   CONNECTIONS  wrk connections                           [64]
#   THREADS      wrk threads                               [2]
#   RECORDS      records seeded into the collection        [10000]
#   WARMUP       unrecorded wrk run before each target     [2s]  (0 to skip)
#   REPEAT       wrk runs per scenario; the median counts  [1]
#   PGURL        PostgreSQL server, without a database     [postgres://postgres@127.0.0.1:5432]
#   LOAM_ARGS    extra flags for `loam serve`, e.g. "--log-level warn"   []
#   KEEP         1 keeps the temp dir (server logs, raw wrk output)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BENCH="$ROOT/bench"

STORES=${STORES-sqlite postgres}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
RECORDS=${RECORDS:-10000}
WARMUP=${WARMUP:-2s}
REPEAT=${REPEAT:-1}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
PGURL=${PGURL%/}
EMAIL=bench@example.com
PASSWORD=bench-password-1234

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

for tool in go wrk curl; do
  command -v "$tool" >/dev/null || die "$tool is missing (wrk: apt-get install -y wrk)"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/loam-bench.XXXXXX")
PIDS=()
PGDBS=()

cleanup() {
  local pid db
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for db in "${PGDBS[@]}"; do
    psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [[ ${KEEP:-0} == 1 ]]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_server PID: end one server we started and forget it.
stop_server() {
  local pid=$1 rest=() p
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || rest+=("$p"); done
  PIDS=("${rest[@]}")
}

# free_port FROM: the first port from FROM on that nobody listens to.
free_port() {
  local p
  for ((p = $1; p < $1 + 200; p++)); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  die "no free port from $1"
}

# wait_http URL PID LOGFILE: wait until URL answers 200, or the server dies.
wait_http() {
  local url=$1 pid=$2 logfile=$3 i
  for ((i = 0; i < 300; i++)); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "server exited; its log:"; cat "$logfile" >&2
      die "server did not start"
    fi
    sleep 0.1
  done
  cat "$logfile" >&2
  die "$url did not answer in 30 s"
}

# ---------------------------------------------------------------- results
declare -A RES    # RES[scenario|target]="rps p50 p99 non2xx sockerr"
TARGETS=()
SCENARIOS=(get list-front list list-skipTotal list-filter create)
declare -A TITLE=(
  [get]="get-by-id (GET /records/{id}, random id of $RECORDS)"
  [list-front]="front list page (GET /records?page=1..10&perPage=30, with totalItems)"
  [list]="list page (GET /records?page=1..300&perPage=30, with totalItems)"
  [list-skipTotal]="list page, skipTotal=1 (no count)"
  [list-filter]="filtered, sorted list page (GET /records?filter=views >= V&sort=views&perPage=30&skipTotal=1, V random)"
  [create]="create (POST /records, JSON body)"
)

# bench SCENARIO TARGET URL SCRIPT [ARGS...]: run wrk REPEAT times and keep
# the figures of the run with the median requests/s.
bench() {
  local scenario=$1 target=$2 url=$3 script=$4; shift 4
  local out line lines="" i
  for ((i = 1; i <= REPEAT; i++)); do
    out="$TMP/wrk-$target-$scenario-$i.txt"
    if ((REPEAT > 1)); then log "  $target / $scenario ($DURATION, run $i of $REPEAT)"; else log "  $target / $scenario ($DURATION)"; fi
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s "$BENCH/$script" "$url" -- "$@" >"$out" 2>&1 ||
      { cat "$out" >&2; die "wrk failed for $target/$scenario"; }
    line=$(grep '^BENCH ' "$out" || true)
    [[ -n $line ]] || { cat "$out" >&2; die "no figures from wrk for $target/$scenario"; }
    lines+=$(awk '{
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        print v["rps"], v["p50"], v["p99"], v["non2xx"], v["sockerr"]
      }' <<<"$line")$'\n'
  done
  RES[$scenario|$target]=$(printf '%s' "$lines" | sort -n -k1,1 | awk -v n="$REPEAT" 'NR == int((n + 1) / 2)')
  local errors
  errors=$(awk '{print $4 + $5}' <<<"${RES[$scenario|$target]}")
  if [[ $errors != 0 ]]; then log "    warning: $errors requests failed or were not answered 2xx"; fi
}

warmup() {
  [[ $WARMUP == 0 || $WARMUP == 0s ]] && return 0
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -s "$BENCH/$2" "$1" -- "${@:3}" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- build
log "building floor, seed and loam into $TMP"
if [[ -n ${STORES// /} ]]; then
  go build -o "$TMP/loam" ./cmd/loam
fi
go build -o "$TMP/floor" ./bench/floor
go build -o "$TMP/seed" ./bench/seed

# ---------------------------------------------------------------- floor
run_floor() {
  local port url pid
  port=$(free_port 18099)
  url="http://127.0.0.1:$port"
  "$TMP/floor" -addr "127.0.0.1:$port" -n "$RECORDS" -ids "$TMP/floor-ids.txt" >"$TMP/floor.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "$url/api/health" "$pid" "$TMP/floor.log"
  log "floor on $url"
  TARGETS+=(floor)
  warmup "$url" get.lua "$TMP/floor-ids.txt"
  bench get floor "$url" get.lua "$TMP/floor-ids.txt"
  bench list-front floor "$url" list.lua pages=10
  bench list floor "$url" list.lua
  bench list-skipTotal floor "$url" list.lua skipTotal
  bench list-filter floor "$url" list.lua skipTotal "filter=$RECORDS"
  stop_server "$pid"
}

# ---------------------------------------------------------------- loam
COLLECTION_JSON='{"name":"posts","type":"base",
 "fields":[{"name":"title","type":"text"},
           {"name":"views","type":"number","integer":true},
           {"name":"published","type":"bool"}],
 "indexes":[{"name":"posts_views","fields":["views"]}],
 "rules":{"list":"","view":"","create":"","update":"","delete":""}}'

# ensure_postgres: PostgreSQL answers, starting the local cluster if needed.
ensure_postgres() {
  if psql -q "$PGURL/postgres?sslmode=disable" -c 'select 1' >/dev/null 2>&1; then return 0; fi
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >&2 || true
    local i
    for ((i = 0; i < 50; i++)); do
      psql -q "$PGURL/postgres?sslmode=disable" -c 'select 1' >/dev/null 2>&1 && return 0
      sleep 0.2
    done
  fi
  die "PostgreSQL does not answer at $PGURL"
}

run_loam() {
  local store=$1 port url pid token answer
  local -a where
  case $store in
    sqlite)
      mkdir -p "$TMP/sqlite"
      where=(--dir "$TMP/sqlite")
      ;;
    postgres)
      ensure_postgres
      local db="loam_bench_$$"
      psql -q "$PGURL/postgres?sslmode=disable" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
      psql -q "$PGURL/postgres?sslmode=disable" -c "CREATE DATABASE \"$db\"" >/dev/null
      PGDBS+=("$db")
      where=(--db "$PGURL/$db?sslmode=disable")
      ;;
    *) die "unknown store $store (sqlite or postgres)" ;;
  esac

  "$TMP/loam" superuser create "$EMAIL" "$PASSWORD" "${where[@]}" >"$TMP/superuser-$store.log" 2>&1 ||
    { cat "$TMP/superuser-$store.log" >&2; die "superuser create failed on $store"; }

  port=$(free_port 18090)
  url="http://127.0.0.1:$port"
  # shellcheck disable=SC2086 # LOAM_ARGS is split into flags on purpose
  "$TMP/loam" serve --http "127.0.0.1:$port" "${where[@]}" ${LOAM_ARGS:-} >"$TMP/loam-$store.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_http "$url/api/health" "$pid" "$TMP/loam-$store.log"
  log "loam ($store) on $url"

  answer=$(curl -sS -X POST "$url/api/collections/_superusers/auth/password" \
    -H 'Content-Type: application/json' \
    -d "{\"identity\":\"$EMAIL\",\"password\":\"$PASSWORD\"}")
  token=$(sed -n 's/.*"token" *: *"\([^"]*\)".*/\1/p' <<<"$answer")
  [[ -n $token ]] || die "no token from $store: $answer"

  answer=$(curl -sS -w '\n%{http_code}' -X POST "$url/api/collections" \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $token" -d "$COLLECTION_JSON")
  case ${answer##*$'\n'} in
    200 | 201) ;;
    *) die "create collection on $store: $answer" ;;
  esac

  if ! "$TMP/seed" -url "$url" -n "$RECORDS" -c 32 -out "$TMP/ids-$store.txt" 2>&1 | sed 's/^/  /' >&2; then
    die "seeding $store failed"
  fi

  # one sanity check before measuring: a seeded record answers 200 without a token
  curl -fsS -o /dev/null "$url/api/collections/posts/records/$(head -1 "$TMP/ids-$store.txt")" ||
    die "$store: a seeded record does not answer 200 without a token"

  TARGETS+=("$store")
  warmup "$url" get.lua "$TMP/ids-$store.txt"
  bench get "$store" "$url" get.lua "$TMP/ids-$store.txt"
  bench list-front "$store" "$url" list.lua pages=10
  bench list "$store" "$url" list.lua
  bench list-skipTotal "$store" "$url" list.lua skipTotal
  bench list-filter "$store" "$url" list.lua skipTotal "filter=$RECORDS"
  bench create "$store" "$url" create.lua # last: it grows the collection
  stop_server "$pid"
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
run_floor
for store in $STORES; do
  run_loam "$store"
done

# ---------------------------------------------------------------- report
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
echo "## Loam benchmark, $started"
echo
echo "- machine: $(nproc) cores${cpu:+, $cpu}, $(uname -sr)"
echo "- $(go version | cut -d' ' -f3-), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ' (dirty)')"
echo "- command: \`STORES=\"$STORES\" DURATION=$DURATION CONNECTIONS=$CONNECTIONS THREADS=$THREADS RECORDS=$RECORDS REPEAT=$REPEAT${LOAM_ARGS:+ LOAM_ARGS=\"$LOAM_ARGS\"} bench/run.sh\`"
echo "- wrk -t$THREADS -c$CONNECTIONS -d$DURATION, load generator on the same machine; latencies in ms"
echo
for scenario in "${SCENARIOS[@]}"; do
  floor=${RES[$scenario|floor]:-}
  rows=""
  for target in "${TARGETS[@]}"; do
    r=${RES[$scenario|$target]:-}
    [[ -n $r ]] || continue
    rows+=$(awk -v t="$target" -v f="${floor%% *}" '{
        pct = (f != "" && f > 0) ? sprintf("%.0f %%", 100 * $1 / f) : "-"
        printf "| %s | %.0f | %.2f | %.2f | %d | %s |\n", t, $1, $2, $3, $4 + $5, pct
      }' <<<"$r")$'\n'
  done
  [[ -n $rows ]] || continue
  echo "### ${TITLE[$scenario]}"
  echo
  echo "| target | req/s | p50 | p99 | errors | of floor |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  printf '%s' "$rows"
  echo
done
echo "Targets (DESIGN.md): get-by-id and list >= 60 % of floor; creates >= 5000/s on SQLite; p99 < 20 ms."
