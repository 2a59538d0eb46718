#!/usr/bin/env bash
# The admin and the storefront at scale: a million products and 200,000
# orders, on SQLite and on PostgreSQL, served by the release build with the
# catalogue cache off (every count, page and search is paid), measured by
# one logged-in client (wrk -t1 -c1), as a staff member uses the admin and
# a shopper browses, filters and searches. Reports p50/p95/p99 latency, requests/s and
# the server's peak memory for each page. Not a test: it asserts nothing.
#
#   site/benches/admin.sh [sqlite|postgres|both|clean]  (default: both)
#
# Environment: PRODUCTS (1000000), ORDERS (200000), CUSTOMERS (2000),
# DURATION (10s), PG_URL (postgres://postgres@127.0.0.1:5432).
# The seeded data is kept and reused: SQLite's in site/benches/results/
# scale-sqlite, PostgreSQL's in the database shop_million (about 3 GB),
# marked seeded by site/benches/results/scale-postgres. Delete those to
# seed again, and drop shop_million when done (`site/benches/admin.sh
# clean` does both). Results: site/benches/results/admin-*.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WHICH="${1:-both}"
PRODUCTS="${PRODUCTS:-1000000}"
ORDERS="${ORDERS:-200000}"
CUSTOMERS="${CUSTOMERS:-2000}"
DURATION="${DURATION:-10s}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432}"
OUT="$HERE/results"; mkdir -p "$OUT"
PORT=8020
PASSWORD="bench password for the admin"

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v psql >/dev/null || { apt-get update -qq && apt-get install -y -qq postgresql-client; }

if [[ "$WHICH" == clean ]]; then
  rm -rf "$OUT/scale-sqlite" "$OUT/scale-postgres"
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS shop_million"
  exit 0
fi

echo "# building the shop (release)"
(cd "$ROOT" && cargo build --release -p site -q)
BIN="$ROOT/target/release/site"

LUA="$OUT/percentiles.lua"
cat >"$LUA" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.2f %.2f %.2f %.1f %d %d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6),
    summary.requests, summary.errors.status))
end
EOF

wait_up() { for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "server at $1 did not come up" >&2; return 1; }

# Logs in as the bench's staff user; prints the Cookie header value.
login() {
  local jar="$OUT/cookies.txt" base="http://127.0.0.1:$PORT"
  rm -f "$jar"
  local page token
  page="$(curl -s -c "$jar" -b "$jar" "$base/accounts/login/")"
  token="$(printf '%s' "$page" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"$//')"
  curl -s -o /dev/null -c "$jar" -b "$jar" -H "Origin: $base" \
    --data-urlencode "csrf_token=$token" --data-urlencode "email=bench@example.com" \
    --data-urlencode "password=$PASSWORD" "$base/accounts/login/"
  awk '$6 ~ /^(sessionid|csrftoken)$/ { printf "%s%s=%s", sep, $6, $7; sep="; " }' "$jar"
}

run_backend() {
  local backend="$1" var="$OUT/scale-$1" url
  mkdir -p "$var"
  case "$backend" in
    sqlite) url="sqlite://$var/shop.sqlite3" ;;
    postgres)
      url="$PG_URL/shop_million"
      psql "$PG_URL/postgres" -qc "SELECT 1" >/dev/null
      ;;
  esac
  if [[ ! -f "$var/seeded" ]]; then
    echo "# seeding $backend: $PRODUCTS products, $ORDERS orders"
    if [[ "$backend" == postgres ]]; then
      psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS shop_million" -c "CREATE DATABASE shop_million"
    else
      rm -f "$var"/shop.sqlite3*
    fi
    local started=$SECONDS
    SHOP_VAR_DIR="$var" DATABASE_URL="$url" RUST_LOG=warn "$BIN" seed-demo \
      --products "$PRODUCTS" --categories 50 --orders "$ORDERS" --customers "$CUSTOMERS"
    echo "$((SECONDS - started))" >"$var/seed-seconds"
    printf '%s\n' "$PASSWORD" | SHOP_VAR_DIR="$var" DATABASE_URL="$url" "$BIN" createsuperuser \
      --email bench@example.com --password-stdin
    touch "$var/seeded"
  fi

  SHOP_VAR_DIR="$var" DATABASE_URL="$url" SHOP_CATALOGUE_CACHE_SECONDS=0 RUST_LOG=warn \
    "$BIN" serve --no-seed --bind "127.0.0.1:$PORT" >"$OUT/admin-$backend-server.log" 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  wait_up "http://127.0.0.1:$PORT/products/"
  local cookie; cookie="$(login)"
  # A category, and a department (categories below it), of the demo's.
  local CATEGORY=outdoor DEPARTMENT=outdoor-sport

  local report="$OUT/admin-$backend.md"
  {
    echo "## $backend: $PRODUCTS products, $ORDERS orders (seeded in $(cat "$var/seed-seconds") s)"
    echo
    echo "| page | p50 ms | p95 ms | p99 ms | req/s |"
    echo "|---|---:|---:|---:|---:|"
  } >"$report"
  local pages=(
    "admin: products, first page|/admin/products/product/"
    "admin: products, page 1000|/admin/products/product/?page=1000"
    "admin: products, one category|/admin/products/product/?category=7"
    "admin: products, search \"bamboo lamp\"|/admin/products/product/?q=bamboo+lamp"
    "admin: products, sorted by price|/admin/products/product/?o=price"
    "admin: products, a month's drill-down|/admin/products/product/?year=2025&month=6"
    "admin: orders, first page|/admin/orders/order/"
    "admin: orders, page 1000|/admin/orders/order/?page=1000"
    "admin: orders, paid|/admin/orders/order/?status=paid"
    "admin: orders, search \"customer17\"|/admin/orders/order/?q=customer17"
    "admin: orders, sorted by total|/admin/orders/order/?o=-total"
    "admin: dashboard|/admin/"
    "shop: product list|/products/"
    "shop: search \"bamboo lamp\"|/products/?q=bamboo+lamp"
    "shop: search \"bamboo\"|/products/?q=bamboo"
    "shop: search, a typo (\"bamboi\")|/products/?q=bamboi"
    "shop: search, sorted by price|/products/?q=lamp&sort=price"
    "shop: sorted by name, page 500|/products/?sort=name&page=500"
    "shop: sorted by price, page 500|/products/?sort=price&page=500"
    "shop: the last page|/products/?page=999999"
    "shop: in stock only|/products/?in_stock=1"
    "shop: in stock only, page 500|/products/?in_stock=1&page=500"
    "shop: priced 20 to 50|/products/?min_price=20&max_price=50"
    "shop: a category|/products/category/$CATEGORY/"
    "shop: a category, by price, page 50|/products/category/$CATEGORY/?sort=price&page=50"
    "shop: a department (categories below it)|/products/category/$DEPARTMENT/"
    "shop: shoes in black, size 42|/products/category/shoes/?colour=black&size=42"
    "shop: a product page|/products/1234/"
  )
  for entry in "${pages[@]}"; do
    local name="${entry%%|*}" path="${entry#*|}"
    local status
    # Product pages answer from their slug's URL (the id alone redirects).
    local moved
    moved="$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path")"
    [[ -n "$moved" && "$path" == /products/1234/ ]] && path="/products/${moved##*/products/}"
    status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path")"
    if [[ "$status" != 200 ]]; then
      echo "| $name | HTTP $status | | | |" >>"$report"
      continue
    fi
    local line
    line="$(wrk -t1 -c1 -d"$DURATION" -s "$LUA" -H "Cookie: $cookie" "http://127.0.0.1:$PORT$path" | grep '^RESULT')"
    read -r _ p50 p95 p99 rps _ non2xx <<<"$line"
    echo "| $name | $p50 | $p95 | $p99 | $rps |" >>"$report"
    echo "$backend: $name: p95 $p95 ms"
  done
  local peak; peak="$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$pid/status" 2>/dev/null || echo '?')"
  echo >>"$report"
  echo "Server peak RSS: $peak MiB." >>"$report"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  trap - EXIT
  cat "$report"
}

case "$WHICH" in
  sqlite|postgres) run_backend "$WHICH" ;;
  both) run_backend sqlite; run_backend postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both|clean]" >&2; exit 2 ;;
esac
