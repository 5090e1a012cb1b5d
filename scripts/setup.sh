#!/usr/bin/env bash
# Installs what conntop needs to run (and, with --dev, to be tested and benchmarked); into the
# project directory it writes only the generated GeoIP data (data/geoip/, from .cache/geodata/):
#   - Debian packages, by default only what conntop and conntopd run or load: libnetfilter-conntrack3
#     (the library conntop loads through FFI), libmaxminddb0 (GeoIP through FFI), nftables (`nft`:
#     --track and the flowtable check) and iproute2 (`ip`: restoring sysctls in a namespace);
#   - with --dev, also the tools of the tests and the benchmark: the reference tools the tests
#     compare against (conntrack), the tools they use to drop privileges or read the kernel
#     (libcap2-bin, util-linux, procps, python3), mmdb-bin (mmdblookup, the GeoIP reference),
#     dnsmasq-base (the tests' own DNS server), tmux (the UI tests' terminal), openssl (the server
#     tests' TLS certificates), man-db and groff-base (the man page checks), bash-completion, zsh
#     and fish (the completion tests), systemd (systemd-analyze checks the conntopd unit), gcc and
#     gcc-aarch64-linux-gnu with both C libraries' headers (ffi/abi.ts is checked against the
#     x86_64 and aarch64 headers; a stand-in library is compiled), and the peers the benchmark
#     compares with: iptstate, netsniff-ng (flowtop) and time (GNU time);
#   - Deno, pinned to exactly DENO_VERSION, from the npm registry into a cache directory;
#   - the embedded GeoIP data (scripts/geodata.ts: pinned npm packages, checked by sha512), when
#     missing. After changing the pinned versions, run `deno task geodata` yourself.
#
# Idempotent and quick: when everything is already there it prints nothing and touches nothing.
# Progress goes to stderr; on failure the last line on stderr starts with "setup: ".
#
# Usage: scripts/setup.sh [--dev] [--print-deno]
#   --dev          also install the test and benchmark tools (scripts/run.sh passes it for the
#                  test, bench and ok tasks; .ci/run runs those)
#   --print-deno   print the path of the deno binary on stdout (the only line on stdout)
#
# Environment:
#   CONNTOP_DENO_DIR   where Deno is installed
#                      (default: ${XDG_CACHE_HOME:-$HOME/.cache}/conntop/deno-$DENO_VERSION)
set -euo pipefail

readonly DENO_VERSION=2.9.6
# What running conntop and conntopd needs (test/scripts/setup_packages_test.ts derives it from
# their --allow-run lists and FFI libraries).
readonly PACKAGES=(
  libnetfilter-conntrack3
  libmaxminddb0
  nftables
  iproute2
)
# What the tests and the benchmark call besides (the same test maps every program they name to
# its package).
readonly DEV_PACKAGES=(
  conntrack
  libcap2-bin
  util-linux
  procps
  python3
  tmux
  mmdb-bin
  dnsmasq-base
  openssl
  man-db
  groff-base
  bash-completion
  zsh
  fish
  systemd
  gcc
  libc6-dev
  gcc-aarch64-linux-gnu
  libc6-dev-arm64-cross
  iptstate
  netsniff-ng
  time
)

print_deno=false
dev=false
for arg in "$@"; do
  case "$arg" in
    --print-deno) print_deno=true ;;
    --dev) dev=true ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
      exit 0
      ;;
    *)
      echo "setup: unknown argument '$arg' (expected --dev, --print-deno or --help)" >&2
      exit 2
      ;;
  esac
done

log() { echo "setup: $*" >&2; }
die() {
  echo "setup: $*" >&2
  exit 1
}

# Runs a command with its output kept in a temporary log; on failure the log's tail is shown so
# that the one "setup: " line that follows has its cause right above it.
run_logged() {
  local out rc=0
  out=$(mktemp "${TMPDIR:-/tmp}/conntop-setup.XXXXXX")
  "$@" >"$out" 2>&1 || rc=$?
  if ((rc != 0)); then
    tail -n 20 "$out" >&2
  fi
  rm -f "$out"
  return "$rc"
}

# --- Debian packages ---------------------------------------------------------------------------

wanted=("${PACKAGES[@]}")
if $dev; then
  wanted+=("${DEV_PACKAGES[@]}")
fi

missing_packages() {
  local pkg status
  for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
    [[ "$status" == ii* ]] || printf '%s\n' "$pkg"
  done
}

apt_updated=false
apt_install() {
  if ! $apt_updated; then
    log "running apt-get update"
    run_logged env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
      die "apt-get update failed (exit code $?)"
    apt_updated=true
  fi
  log "installing Debian packages: $*"
  run_logged env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "$@" ||
    die "apt-get install failed for '$*' (exit code $?)"
}

if command -v dpkg-query >/dev/null 2>&1; then
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} > 0)); then
    if [[ $(id -u) -ne 0 ]]; then
      die "missing Debian packages '${missing[*]}': run as root to install them (sudo $0)"
    fi
    apt_install "${missing[@]}"
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) || die "Debian packages still missing after install: '${missing[*]}'"
  fi
else
  # Not Debian: we cannot install, but the tools may be there; check what conntop really calls
  # (and, with --dev, the main tools of the tests).
  tools=(nft ip)
  if $dev; then
    tools+=(conntrack capsh setpriv sysctl python3 tmux mmdblookup dnsmasq openssl)
  fi
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 ||
      die "'$tool' not found and dpkg-query is missing: install it with your package manager"
  done
fi

# --- Deno ----------------------------------------------------------------------------------------

deno_dir=${CONNTOP_DENO_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/conntop/deno-$DENO_VERSION}
deno_bin=$deno_dir/node_modules/.bin/deno

deno_ok() {
  local version
  version=$("$deno_bin" --version 2>/dev/null | head -n 1) || return 1
  [[ "$version" == "deno $DENO_VERSION" || "$version" == "deno $DENO_VERSION "* ]]
}

if ! deno_ok; then
  if ! command -v npm >/dev/null 2>&1; then
    if command -v dpkg-query >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
      apt_install npm
    else
      die "npm not found: install Node.js and npm to fetch deno@$DENO_VERSION"
    fi
  fi
  mkdir -p "$deno_dir" || die "cannot create Deno directory '$deno_dir'"
  log "installing deno@$DENO_VERSION from npm into $deno_dir"
  # Run from inside the target so npm never picks up a package.json or .npmrc of the project.
  (cd "$deno_dir" && run_logged npm install --no-audit --no-fund --save-exact \
    --prefix "$deno_dir" "deno@$DENO_VERSION") ||
    die "npm install deno@$DENO_VERSION into '$deno_dir' failed (exit code $?)"
  deno_ok || die "deno at '$deno_bin' does not report version $DENO_VERSION after npm install"
fi

if $print_deno; then
  printf '%s\n' "$deno_bin"
fi

# --- Embedded GeoIP data ------------------------------------------------------------------------

# data/geoip/ holds the GeoIP data conntop ships (generated, gitignored but for ATTRIBUTION.md);
# scripts/geodata.ts downloads the pinned packages from the npm registry and converts them.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
geodata_missing=false
for f in country.mmdb asn-ranges.bin ATTRIBUTION.md manifest.json; do
  [[ -f "$repo_root/data/geoip/$f" ]] || geodata_missing=true
done
if $geodata_missing; then
  log "fetching the embedded GeoIP data into $repo_root/data/geoip"
  (cd "$repo_root" && run_logged "$deno_bin" run -q --allow-net=registry.npmjs.org \
    --allow-read=. --allow-write=data/geoip,.cache/geodata scripts/geodata.ts --quiet) ||
    die "fetching the embedded GeoIP data failed (exit code $?): run 'deno task geodata' to see why"
fi
