#!/usr/bin/env bash
# Gives a clone `conntop` and `conntopd` commands: writes two launchers into a bin directory on
# PATH, each an `exec` of the pinned deno (scripts/setup.sh --print-deno) running this clone's
# source with exactly the permissions the built binaries have (scripts/_build/launcher.ts reads
# them from scripts/_build/commands.ts) and no deno banner. Run it once; again after a pull that
# changed the permissions (the launchers say so).
#
# A file this script did not write (no marker line) is never replaced without --force and never
# removed. Each launcher is written to a temporary file in the bin directory and renamed over the
# target, so a link planted there is replaced, never written through.
#
# Usage: scripts/link.sh [--bin-dir DIR] [--force] [--uninstall] [-h|--help]

set -euo pipefail

PROG=link.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(dirname -- "$SCRIPT_DIR")
MARKER='# conntop-launcher: written by scripts/link.sh'
PROGRAMS=(conntop conntopd)

usage() {
  cat <<EOF
Usage: scripts/link.sh [OPTION]...
Put 'conntop' and 'conntopd' commands on PATH that run this clone
($REPO_DIR) with the pinned deno and the permissions the release binaries have.

  --bin-dir DIR  write the launchers into DIR, which must exist (default: as
                 root /usr/local/bin, on sudo's secure_path so that
                 'sudo conntop' works; else ~/.local/bin, created if missing)
  --force        replace files in the way that this script did not write
  --uninstall    remove the launchers this script wrote (others are kept)
  -h, --help     show this help and exit

Runs scripts/setup.sh first (which installs what running conntop needs when
run as root). Exit status: 0 done, 1 failure (a file in the way, setup or
writing failed), 2 bad usage.
EOF
}

die() {
  printf '%s: %s\n' "$PROG" "$1" >&2
  exit 1
}

usage_error() {
  printf "%s: %s (try '%s --help')\n" "$PROG" "$1" "$PROG" >&2
  exit 2
}

note() {
  printf '%s: %s\n' "$PROG" "$1" >&2
}

bin_dir=
force=0
uninstall=0
while (($# > 0)); do
  case $1 in
    --bin-dir=*)
      bin_dir=${1#*=}
      [[ -n $bin_dir ]] || usage_error "Option '--bin-dir' needs a directory"
      shift
      ;;
    --bin-dir)
      (($# >= 2)) && [[ -n $2 ]] || usage_error "Option '--bin-dir' needs a directory"
      bin_dir=$2
      shift 2
      ;;
    --force)
      force=1
      shift
      ;;
    --uninstall)
      uninstall=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    -*) usage_error "Unknown option '$1'" ;;
    *) usage_error "Unexpected argument '$1'" ;;
  esac
done

if [[ -z $bin_dir ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    bin_dir=/usr/local/bin
  else
    [[ -n ${HOME:-} ]] || die "HOME is not set: give the directory with --bin-dir"
    bin_dir=$HOME/.local/bin
    ((uninstall)) || mkdir -p -- "$bin_dir" || die "Cannot create bin directory '$bin_dir'"
  fi
fi
[[ -d $bin_dir ]] || usage_error "Bin directory '$bin_dir' does not exist"
bin_dir=$(cd -- "$bin_dir" && pwd -P)

# ours FILE: whether FILE is a regular file (not a link) carrying the marker as its second line.
ours() {
  [[ -f $1 && ! -L $1 ]] && [[ $(sed -n 2p -- "$1" 2>/dev/null) == "$MARKER" ]]
}

if ((uninstall)); then
  for p in "${PROGRAMS[@]}"; do
    f=$bin_dir/$p
    if ours "$f"; then
      rm -f -- "$f" || die "Cannot remove '$f'"
      note "removed $f"
    elif [[ -e $f || -L $f ]]; then
      note "warning: kept '$f': scripts/link.sh did not write it"
    fi
  done
  exit 0
fi

# Refuse before doing anything when a file is in the way.
for p in "${PROGRAMS[@]}"; do
  f=$bin_dir/$p
  if [[ -e $f || -L $f ]] && ! ours "$f" && ((force == 0)); then
    die "'$f' is in the way and was not written by scripts/link.sh: remove it, or use --force to replace it"
  fi
done

deno=$(bash "$SCRIPT_DIR/setup.sh" --print-deno) || die "scripts/setup.sh failed (exit code $?)"
[[ $deno == /* && -x $deno ]] || die "scripts/setup.sh did not report a usable deno binary (got '$deno')"

# The npm packages (GeoIP reader, schema validator) go into this user's deno cache now, while a
# network is expected, so that the first run of a launcher needs none.
(cd "$REPO_DIR" && "$deno" cache --quiet --config deno.json main.ts src/conntopd.ts \
  src/collector/worker.ts src/enrich/service.ts src/engine/serve.ts) ||
  die "Cannot fetch conntop's dependencies into deno's cache (exit code $?)"

tmp=
trap '[[ -z $tmp ]] || rm -f -- "$tmp"' EXIT

for p in "${PROGRAMS[@]}"; do
  f=$bin_dir/$p
  # mktemp creates the file exclusively (O_EXCL) with mode 0600, in the target's directory so
  # that the rename below is atomic.
  tmp=$(mktemp "$bin_dir/.$p.link-XXXXXX") || die "Cannot create a temporary file in '$bin_dir'"
  "$deno" run --quiet --no-prompt --config "$REPO_DIR/deno.json" --allow-read="$REPO_DIR" \
    "$SCRIPT_DIR/_build/launcher.ts" "$p" "$deno" "$REPO_DIR" >"$tmp" ||
    die "Cannot write the launcher of $p into '$tmp'"
  chmod 755 -- "$tmp" || die "Cannot set the mode of '$tmp'"
  mv -f -T -- "$tmp" "$f" || die "Cannot rename '$tmp' to '$f'"
  tmp=
  note "wrote $f"
done

case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) note "note: $bin_dir is not on your PATH: add it (e.g. PATH=\"$bin_dir:\$PATH\" in ~/.profile) or run $bin_dir/conntop" ;;
esac
if [[ $(id -u) -ne 0 ]]; then
  note "note: 'sudo conntop' does not look in $bin_dir (sudo's secure_path): run 'sudo $bin_dir/conntop', or run this script as root"
else
  # Users other than root cannot run a deno under /root: they link for themselves.
  if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$deno" 2>/dev/null; then
    note "note: other users cannot run $deno: each runs scripts/link.sh for their own ~/.local/bin"
  fi
fi
