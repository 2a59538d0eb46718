#!/usr/bin/env bash
# Builds site/deploy/Dockerfile as it is and runs the image, on a machine
# with no Docker engine and no container registry (CI's): Debian's podman
# (with runc) builds and runs it, and the two base images the Dockerfile
# names are made here under their own names instead of pulled:
#   debian:bookworm-slim  a minimal Debian 12 root file system (debootstrap
#                         from Debian's package mirror), imported;
#   rust:1-bookworm       that image plus gcc and this machine's own Rust
#                         toolchain (the one CI builds with), laid out as
#                         the official image lays it out (CARGO_HOME
#                         /usr/local/cargo, cargo and rustc on the PATH),
#                         trusting this machine's own certificate
#                         authorities (/usr/local/share/ca-certificates:
#                         here, the network's egress proxy signs with one).
# The build itself fetches crates from crates.io and packages from Debian,
# as it would anywhere. Then the image is checked as an operator would use
# it: it seeds and serves the demo shop as user 10001 (not root), answers
# /healthz, /readyz and shop pages, passes its HEALTHCHECK, reports what
# `check --deploy` finds unsafe, runs as app server + worker on this
# machine's PostgreSQL and Redis, and exits 0 on SIGTERM.
#
#   site/deploy/image-check.sh        (as root; about 8 minutes, most of it
#                                      the release build inside the image)
set -euo pipefail
cd "$(dirname "$0")/../.."

work="${SHOP_IMAGE_WORK:-/var/tmp/shop-image}"
mkdir -p "$work"
say() { printf -- '-- %s\n' "$*"; }

missing=()
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# This machine runs in a container itself: crun refuses its hybrid cgroup
# layout and podman's default rlimits exceed the hard limits here, so
# runc, and limits within those allowed.
nofile="$(ulimit -Hn)"
{ [ "$nofile" = unlimited ] || ((nofile > 16384)); } && nofile=16384
cat >"$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=16384:16384"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"

if ! podman image exists docker.io/library/debian:bookworm-slim; then
  say "debian:bookworm-slim from Debian's packages (debootstrap, minbase)"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$work"/rootfs/var/cache/apt/archives/*.deb "$work"/rootfs/var/lib/apt/lists/*
  tar -C "$work/rootfs" -c . \
    | podman import --change 'CMD ["bash"]' - docker.io/library/debian:bookworm-slim
  rm -rf "$work/rootfs"
fi

if ! podman image exists docker.io/library/rust:1-bookworm; then
  say "rust:1-bookworm: that image, gcc, and this machine's Rust toolchain"
  sysroot="$(rustc --print sysroot)"
  cat >"$work/rust.Containerfile" <<'EOF'
FROM docker.io/library/debian:bookworm-slim
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       gcc libc6-dev make ca-certificates git >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /usr/local/rustup/toolchains/stable /usr/local/cargo/bin \
    && cp -a /toolchain/bin /toolchain/lib /usr/local/rustup/toolchains/stable/ \
    && if ls /hostca/*.crt >/dev/null 2>&1; then \
         cp /hostca/*.crt /usr/local/share/ca-certificates/ && update-ca-certificates >/dev/null; \
       fi \
    && for tool in cargo rustc rustdoc; do \
         ln -s /usr/local/rustup/toolchains/stable/bin/$tool /usr/local/cargo/bin/$tool; \
       done \
    && cargo --version
EOF
  mkdir -p /usr/local/share/ca-certificates
  podman build -q --pull=never --network host -v "$sysroot":/toolchain:ro \
    -v /usr/local/share/ca-certificates:/hostca:ro \
    -f "$work/rust.Containerfile" -t docker.io/library/rust:1-bookworm "$work" >/dev/null
fi

say "podman build -f site/deploy/Dockerfile -t demo-shop ."
start=$SECONDS
podman build --format docker --pull=never --network host -f site/deploy/Dockerfile -t demo-shop . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; exit 1; }
say "built in $((SECONDS - start)) s; image size $(podman image inspect demo-shop --format '{{.Size}}' | awk '{ printf "%.0f MB", $1 / 1e6 }')"

fail() { echo "image check FAILED: $*" >&2; podman logs --tail 30 "$name" 2>&1 | sed 's/^/   /' >&2 || true; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # url
  for _ in $(seq 1 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  return 1
}
# No systemd here to time HEALTHCHECKs: podman says so on every start and
# stop (the check itself is run by hand below).
quiet() { grep -v 'systemd connection' >&2 || true; }
ctr() { podman run "$@" 2> >(quiet); }
names=()
cleanup() { for n in "${names[@]}"; do podman rm -f "$n" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

say "the demo shop in the image (SQLite in its volume, seeded)"
port="$(free_port)"
name=shop-image-demo
names+=("$name")
podman rm -f "$name" >/dev/null 2>&1 || true
ctr -d --name "$name" --network host -e SHOP_BIND="127.0.0.1:$port" demo-shop serve >/dev/null
base="http://127.0.0.1:$port"
wait_for "$base/healthz" || fail "no answer on /healthz"
wait_for "$base/readyz" || fail "not ready"
[ "$(podman exec "$name" id -u)" = 10001 ] || fail "the server does not run as user 10001"
home="$(curl -fsS "$base/")" || fail "the home page"
grep -q 'class="card-link"' <<<"$home" || fail "the home page shows no products"
curl -fsS -o /dev/null "$base/products/" || fail "the product list"
css="$(grep -o '/static/[^"]*\.css' <<<"$home" | head -1)"
[ -n "$css" ] && curl -fsS -o /dev/null "$base$css" || fail "the stylesheet ($css)"
podman healthcheck run "$name" || fail "HEALTHCHECK (site check)"
say "/, /products/, /healthz, /readyz and a static file answer; runs as uid 10001; HEALTHCHECK passes"
if podman exec "$name" site check --deploy >"$work/deploy-check.txt" 2>&1; then
  fail "check --deploy passed the demo's defaults"
fi
grep -q SECRET_KEY "$work/deploy-check.txt" || fail "check --deploy did not name SECRET_KEY"
say "check --deploy refuses the demo's defaults ($(grep -c . "$work/deploy-check.txt") lines)"
podman stop -t 30 "$name" >/dev/null 2> >(quiet)
[ "$(podman inspect "$name" --format '{{.State.ExitCode}}')" = 0 ] || fail "SIGTERM did not end it cleanly"
say "SIGTERM: stopped, exit code 0"

say "app server + worker containers on this machine's PostgreSQL and Redis"
db="shop_image_check"
psql -h 127.0.0.1 -U postgres -d postgres -q -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
env_args=(-e "DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db" -e "REDIS_URL=redis://127.0.0.1:6379/0"
  -e "REDIS_KEY_PREFIX=image-check:")
name=shop-image-migrate
names+=("$name")
ctr --name "$name" --network host "${env_args[@]}" demo-shop migrate >/dev/null \
  || fail "migrate"
ctr --name shop-image-seed --network host "${env_args[@]}" demo-shop seed-demo --products 50 >/dev/null \
  || { name=shop-image-seed; fail "seed-demo"; }
names+=(shop-image-seed)
port="$(free_port)"
name=shop-image-app
names+=("$name")
ctr -d --name "$name" --network host "${env_args[@]}" -e SHOP_BIND="127.0.0.1:$port" demo-shop >/dev/null
name=shop-image-worker
names+=("$name")
ctr -d --name "$name" --network host "${env_args[@]}" demo-shop worker >/dev/null
base="http://127.0.0.1:$port"
name=shop-image-app
wait_for "$base/readyz" || fail "the app server on PostgreSQL is not ready"
ready="$(curl -fsS "$base/readyz")"
grep -qi redis <<<"$ready" || fail "/readyz does not report Redis: $ready"
# Read whole, then searched: `curl | grep -q` fails under pipefail when
# grep stops reading first (curl then dies of SIGPIPE).
list="$(curl -fsS "$base/products/")" || fail "the product list on PostgreSQL"
grep -q 'class="card-link"' <<<"$list" || fail "the product list on PostgreSQL shows no products"
sleep 2
name=shop-image-worker
[ "$(podman inspect "$name" --format '{{.State.Running}}')" = true ] || fail "the worker stopped"
podman stop -t 30 shop-image-worker shop-image-app >/dev/null 2> >(quiet)
for n in shop-image-worker shop-image-app; do
  name=$n
  [ "$(podman inspect "$n" --format '{{.State.ExitCode}}')" = 0 ] || fail "$n did not exit 0 on SIGTERM"
done
psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db"
say "migrate, seed-demo, serve (ready, Redis reported) and worker ran; both exit 0 on SIGTERM"
echo "image check: passed"
