#!/usr/bin/env bash
# Scale-out load test: the shop as one app server, then as two, behind
# Debian's nginx, on one PostgreSQL and one Redis, with a `site worker`
# beside them. The same nginx front in both, so only the number of app
# servers changes. Per configuration and round:
#   - the catalogue (list, detail, category) with ../shared/bench/load.sh
#     (wrk -t2 -c32 -d15s), and
#   - checkout: site/benches/checkout_load.py, guests placing orders
#     through every step (16 at once, 20 s).
#
#   site/benches/scale_out.sh [ROUNDS]          (default 2)
#
# Needs PostgreSQL (DATABASE_URL's server; default the local one, database
# shop_scale_out, created and seeded once with 10,000 products) and Redis
# (REDIS_URL, default the local one); installs wrk and nginx if missing.
# Results: site/benches/results/scale_out.tsv, checkout.tsv, per-run logs
# and scale_out.md. Not a test: it asserts nothing. On a machine with fewer
# cores than servers + nginx + load generator, a second server cannot add
# throughput; the figures say what this machine measured.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="${BENCH_DIR:-$ROOT/../shared/bench}"
ROUNDS="${1:-2}"
OUT="$HERE/results"; mkdir -p "$OUT"
TSV="$OUT/scale_out.tsv"; CHECKOUT_TSV="$OUT/checkout.tsv"
PG_SERVER="${PG_SERVER:-postgres://postgres@127.0.0.1:5432}"
export DATABASE_URL="${DATABASE_URL:-$PG_SERVER/shop_scale_out}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export REDIS_KEY_PREFIX="bench:"
export SECRET_KEY="${SECRET_KEY:-scale-out-bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz-0123}"
export SHOP_BANK_ACCOUNT="Demo Shop Ltd, IBAN GB33 BUKB 2020 1555 5555 55"
export RUST_LOG=warn
[[ -d "$BENCH" ]] || { echo "no reference bench at $BENCH (set BENCH_DIR)" >&2; exit 1; }

printf 'label\tpage\treq_s\tp50_ms\tp99_ms\trequests\tnon2xx\tsockerr\tpeak_rss_mib\tpeak_pss_mib\tmem_samples\tbytes\tsrv_cpu_pct\twrk_cpu_pct\tother_cpu_pct\tforeign_run_pct\tforeign_cpu_pct\tnice\n' >"$TSV"
printf 'label\torders\torders_s\torder_p50_ms\torder_p99_ms\trequest_p99_ms\trefused\terrors\n' >"$CHECKOUT_TSV"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
NGINX="$(command -v nginx || true)"; [[ -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
[[ -n "$NGINX" ]] || { apt-get update -qq && apt-get install -y -qq nginx-light; NGINX=/usr/sbin/nginx; }
redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""
pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start

echo "# building the shop (release)"
(cd "$ROOT" && cargo build --release -p site -q)
SITE="$ROOT/target/release/site"
VAR="$OUT/scale_var"; mkdir -p "$VAR"

if ! psql "$DATABASE_URL" -tAc 'SELECT 1' >/dev/null 2>&1; then
  psql "$PG_SERVER/postgres" -qc 'CREATE DATABASE shop_scale_out'
fi
have="$(psql "$DATABASE_URL" -tAc 'SELECT COUNT(*) FROM products_product' 2>/dev/null || echo 0)"
if [[ "$have" -lt 10000 ]]; then
  echo "# seeding 10,000 products in $DATABASE_URL"
  SHOP_VAR_DIR="$VAR" "$SITE" seed-demo --products 10000 --categories 50
fi
CATEGORY="$(psql "$DATABASE_URL" -tAc 'SELECT slug FROM products_category ORDER BY id OFFSET 6 LIMIT 1')"
# Orders the last run placed would sell the catalogue out: fresh stock.
psql "$DATABASE_URL" -qc 'UPDATE products_product SET stock = 1000000'

wait_up() { for _ in $(seq 1 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "no answer from $1" >&2; return 1; }
PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap stop_all EXIT

nginx_conf() {  # FRONT_PORT UPSTREAM_PORT...
  local front="$1"; shift
  local servers=""; for p in "$@"; do servers+="server 127.0.0.1:$p; "; done
  cat <<EOF
worker_processes 1; pid $VAR/nginx.pid; error_log stderr warn; daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  upstream shop { $servers keepalive 64; }
  server {
    listen 127.0.0.1:$front;
    location / {
      proxy_pass http://shop;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host:\$server_port;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
EOF
}

FRONT=8100
for r in $(seq 1 "$ROUNDS"); do
  for n in 1 2; do
    ports=(); for i in $(seq 1 "$n"); do ports+=($((FRONT + i))); done
    for p in "${ports[@]}"; do
      SHOP_VAR_DIR="$VAR/s$p" "$SITE" serve --no-jobs --no-seed --bind "127.0.0.1:$p" >"$OUT/scale-server-$p.log" 2>&1 &
      PIDS+=($!)
    done
    SHOP_VAR_DIR="$VAR/worker" "$SITE" worker >"$OUT/scale-worker.log" 2>&1 &
    PIDS+=($!)
    for p in "${ports[@]}"; do wait_up "http://127.0.0.1:$p/products/"; done
    nginx_conf "$FRONT" "${ports[@]}" >"$VAR/nginx.conf"
    "$NGINX" -c "$VAR/nginx.conf" -p "$VAR" -e stderr &
    PIDS+=($!)
    wait_up "http://127.0.0.1:$FRONT/products/"
    label="servers$n-run$r"
    echo ">>> $label"
    # Product pages live under their slug; load.sh appends DETAIL_ID to /products/.
    DETAIL="$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$FRONT/products/1234/" | sed -E 's#^.*/products/##; s#/$##')"
    LABEL="$label" RESULTS_TSV="$TSV" CATEGORY_SLUG="$CATEGORY" DETAIL_ID="$DETAIL" "$BENCH/load.sh" "http://127.0.0.1:$FRONT" >"$OUT/$label.txt" 2>&1 || true
    tail -4 "$OUT/$label.txt"
    row="$(python3 "$HERE/checkout_load.py" "http://127.0.0.1:$FRONT" --shoppers 16 --seconds 20 2>"$OUT/$label-checkout.err")"
    printf '%s\t%s\n' "$label" "$row" | tee -a "$CHECKOUT_TSV"
    stop_all
    sleep 2
  done
done

python3 - "$TSV" "$CHECKOUT_TSV" <<'EOF' | tee "$OUT/scale_out.md"
import csv, statistics as st, sys
from collections import defaultdict
pages = defaultdict(list)
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    n = r["label"].split("-run")[0]
    pages[(n, r["page"])].append((float(r["req_s"]), float(r["p99_ms"])))
checkout = defaultdict(list)
for r in csv.DictReader(open(sys.argv[2]), delimiter="\t"):
    checkout[r["label"].split("-run")[0]].append(r)
med = lambda xs: st.median(xs) if xs else float("nan")
runs = max((len(v) for v in pages.values()), default=0)
print(f"Medians of {runs} runs; nginx in front of one or two app servers, PostgreSQL, Redis, a worker, all on one machine.\n")
print("| page | 1 server req/s | 1 server p99 ms | 2 servers req/s | 2 servers p99 ms |")
print("|---|---:|---:|---:|---:|")
for page in ("list", "detail", "category"):
    one, two = pages[("servers1", page)], pages[("servers2", page)]
    print(f"| {page} | {med([x[0] for x in one]):,.0f} | {med([x[1] for x in one]):.1f} | "
          f"{med([x[0] for x in two]):,.0f} | {med([x[1] for x in two]):.1f} |")
for n in ("servers1", "servers2"):
    rows = checkout[n]
    f = lambda k: med([float(r[k]) for r in rows])
    print(f"| checkout, {n[-1]} server{'s' if n[-1] != '1' else ''} | {f('orders_s'):.1f} orders/s | "
          f"order p99 {f('order_p99_ms'):.0f} ms | request p99 {f('request_p99_ms'):.1f} ms | "
          f"{sum(int(r['errors']) for r in rows)} errors |")
EOF
