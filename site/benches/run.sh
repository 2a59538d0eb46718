#!/usr/bin/env bash
# Load benchmark: the shop's release build beside the two reference servers
# of ../shared/bench (Django + gunicorn, and a bare actix+diesel+tera
# ceiling), the same three pages, the same data shape, in one run; the
# shop twice (its catalogue cache on, as it ships, and off), and a search.
#
#   site/benches/run.sh [ROUNDS]        (default 3 rounds, alternating servers)
#
# Needs ../shared/bench next to the repository. Installs wrk and the Django
# reference's virtualenv if missing. Results: site/benches/results/
# (results.tsv, per-run logs, summary.md). Not a test: it asserts nothing.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
ROUNDS="${1:-3}"
OUT="$HERE/results"; mkdir -p "$OUT"
TSV="$OUT/results.tsv"
# load.sh appends rows; the header is ours to write (as run_all.sh does).
printf 'label\tpage\treq_s\tp50_ms\tp99_ms\trequests\tnon2xx\tsockerr\tpeak_rss_mib\tpeak_pss_mib\tmem_samples\tbytes\tsrv_cpu_pct\twrk_cpu_pct\tother_cpu_pct\tforeign_run_pct\tforeign_cpu_pct\tnice\n' >"$TSV"
NICE="${NICE:-0}"
[[ -d "$BENCH" ]] || { echo "no reference bench at $BENCH (set BENCH_DIR)" >&2; exit 1; }

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

echo "# building the shop (release)"
(cd "$ROOT" && cargo build --release -p site -q)
SHOP_BIN="$ROOT/target/release/site"

echo "# reference servers"
if [[ ! -x "$BENCH/.venv/bin/gunicorn" ]]; then
  python3 -m venv "$BENCH/.venv" && "$BENCH/.venv/bin/pip" install -q -r "$BENCH/requirements.txt"
fi
if [[ ! -f "$BENCH/django_ref/db.sqlite3" ]]; then
  (cd "$BENCH/django_ref" && ../.venv/bin/python manage.py migrate -v0 && ../.venv/bin/python manage.py seed)
fi
export ACTIX_BIN="${ACTIX_BIN:-${TMPDIR:-/tmp}/actix_limit_target/release/actix_limit}"
[[ -x "$ACTIX_BIN" ]] || (cd "$BENCH/actix_limit" && CARGO_TARGET_DIR="${TMPDIR:-/tmp}/actix_limit_target" cargo build --release -q)

echo "# the shop's data: seed-demo --products 10000 --categories 50 (same shape)"
SHOP_VAR="$OUT/var"
if [[ ! -f "$SHOP_VAR/shop.sqlite3" ]]; then
  rm -rf "$SHOP_VAR"
  SHOP_VAR_DIR="$SHOP_VAR" "$SHOP_BIN" seed-demo --products 10000 --categories 50
fi
# The category page of the 7th category, like the reference's category-07.
SHOP_CATEGORY="${SHOP_CATEGORY:-outdoor}"

wait_up() { for _ in $(seq 1 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "server at $1 did not come up" >&2; return 1; }
stop_pid() { kill "$1" 2>/dev/null || true; for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done; kill -9 "$1" 2>/dev/null || true; }

# "1234/<slug>": where /products/1234/ redirects.
detail_of() { curl -s -o /dev/null -w '%{redirect_url}' "$1/products/1234/" | sed -E 's#^.*/products/##; s#/$##'; }

start() {
  case "$1" in
    django)
      (cd "$BENCH/django_ref" && exec nice -n "$NICE" "$BENCH/.venv/bin/gunicorn" shop.wsgi:application \
          --workers 4 --bind 127.0.0.1:8001 --error-logfile "$OUT/gunicorn.log" >/dev/null 2>&1) &
      PID=$!; URL=http://127.0.0.1:8001; CAT=category-07 ;;
    actix)
      cp "$BENCH/django_ref/db.sqlite3" "$BENCH/actix_limit/db.sqlite3"
      (cd "$BENCH/actix_limit" && exec nice -n "$NICE" "$ACTIX_BIN" >"$OUT/actix_limit.log" 2>&1) &
      PID=$!; URL=http://127.0.0.1:8002; CAT=category-07 ;;
    shop|uncached)
      # Sessions, CSRF, security headers and the cart badge are all on;
      # request logging is at warn so stdout is not what is measured.
      # "uncached" turns the catalogue cache off: every page reads and
      # renders everything afresh.
      local ttl=5
      [[ "$1" == uncached ]] && ttl=0
      (cd "$ROOT" && SHOP_VAR_DIR="$SHOP_VAR" SHOP_CATALOGUE_CACHE_SECONDS="$ttl" RUST_LOG=warn exec nice -n "$NICE" "$SHOP_BIN" serve --no-seed --bind 127.0.0.1:8003 >"$OUT/$1.log" 2>&1) &
      PID=$!; URL=http://127.0.0.1:8003; CAT="$SHOP_CATEGORY" ;;
  esac
  wait_up "$URL/products/"
}

# A search (the references have none), measured like load.sh's pages:
# one row in the same TSV (memory columns left empty).
LUA="$OUT/percentiles.lua"
cat >"$LUA" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.requests, summary.errors.status))
end
EOF
search_load() {
  local line
  line="$(nice -n "$NICE" wrk -t2 -c32 -d15s -s "$LUA" "$URL/products/?q=${SEARCH_WORDS:-table+lamp}" | grep '^RESULT')"
  read -r _ rps p50 p99 n non2xx <<<"$line"
  printf '%s\tsearch\t%s\t%s\t%s\t%s\t%s\t0\t\t\t\t\t\t\t\t\t\t%s\n' "$1" "$rps" "$p50" "$p99" "$n" "$non2xx" "$NICE" >>"$TSV"
  echo "search: $rps req/s, p99 $p99 ms"
}

for r in $(seq 1 "$ROUNDS"); do
  for which in django actix shop uncached; do
    start "$which"
    label="$which-run$r"
    echo ">>> $label (pid $PID)"
    # The shop's product pages live under their slug (/products/1234/ redirects):
    # load.sh appends DETAIL_ID to /products/, so it can carry the slug.
    DETAIL="1234"
    if [[ "$which" == shop || "$which" == uncached ]]; then DETAIL="$(detail_of "$URL")"; fi
    LABEL="$label" RESULTS_TSV="$TSV" CATEGORY_SLUG="$CAT" DETAIL_ID="$DETAIL" nice -n "$NICE" "$BENCH/load.sh" "$URL" "$PID" >"$OUT/$label.txt" 2>&1 || true
    tail -5 "$OUT/$label.txt"
    if [[ "$which" == shop || "$which" == uncached ]]; then search_load "$label"; fi
    stop_pid "$PID"
    sleep 2
  done
done

python3 "$HERE/summarize.py" "$TSV" | tee "$OUT/summary.md"
