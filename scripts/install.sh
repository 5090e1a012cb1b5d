#!/usr/bin/env bash
# Installs conntop's standalone binaries (from `deno task build`), their man pages, shell
# completions and the conntopd systemd unit under a prefix, or removes them again.
#
# Everything written is listed in PREFIX/share/conntop/install-manifest with its sha256, as are
# the directories the install had to create: a reinstall upgrades those files in place, and
# --uninstall removes exactly them (and the directories, when empty), keeping any file changed
# since. A file this script did not write is never overwritten without --force, and nothing
# outside the manifest is ever removed. Each file is written to a temporary file in its own
# directory and renamed over the target, so a reader sees the old file or the new one, never
# half of one. It never enables or starts the service.
#
# Usage: scripts/install.sh [--prefix DIR] [--destdir DIR] [--dist DIR] [--no-systemd]
#                           [--force] [--uninstall] [-h|--help]

set -euo pipefail

PROG=install.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(dirname -- "$SCRIPT_DIR")

usage() {
  cat <<EOF
Usage: scripts/install.sh [OPTION]...
Install conntop and conntopd (the binaries 'deno task build' makes), their man
pages, shell completions (bash, zsh, fish) and the conntopd systemd unit; or
remove what an earlier install wrote.

  --prefix DIR   install under DIR (default /usr/local): DIR/bin, DIR/share/man,
                 DIR/share/{bash-completion,zsh,fish}, DIR/lib/systemd/system
  --destdir DIR  stage the files under DIR (for packages); the paths written
                 into files stay those of --prefix
  --dist DIR     where the binaries and completions are (default:
                 $REPO_DIR/dist)
  --no-systemd   do not install the systemd unit
  --force        overwrite files in the way that this script did not write, or
                 that were changed since it wrote them (they are then in the
                 manifest: --uninstall removes them)
  --uninstall    remove the files listed in PREFIX/share/conntop/install-manifest
                 (keeping, with a warning, those changed since the install),
                 then the manifest, then the directories the install created
                 if they are empty
  -h, --help     show this help and exit

A reinstall upgrades the files of the earlier install in place. After an
install into the running system (no --destdir, systemd running), it runs
'systemctl daemon-reload'; it never enables or starts conntopd.

Exit status: 0 done (also when --uninstall kept changed files), 1 failure (a
missing binary or manifest, a file in the way, an I/O error), 2 bad usage.
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

warn() {
  printf '%s: warning: %s\n' "$PROG" "$1" >&2
}

# --- Options ---------------------------------------------------------------------------------

prefix=/usr/local
destdir=
dist=
no_systemd=0
force=0
uninstall=0
dist_given=0

while (($# > 0)); do
  opt=$1
  case $opt in
    --prefix=* | --destdir=* | --dist=*)
      name=${opt%%=*}
      value=${opt#*=}
      shift
      ;;
    --prefix | --destdir | --dist)
      (($# >= 2)) || usage_error "Option '$opt' needs a directory"
      name=$opt
      value=$2
      shift 2
      ;;
    --no-systemd | --force | --uninstall | -h | --help)
      name=$opt
      shift
      ;;
    -*) usage_error "Unknown option '$opt'" ;;
    *) usage_error "Unexpected argument '$opt'" ;;
  esac
  case $name in
    --prefix) prefix=$value ;;
    --destdir) destdir=$value ;;
    --dist)
      dist=$value
      dist_given=1
      ;;
    --no-systemd) no_systemd=1 ;;
    --force) force=1 ;;
    --uninstall) uninstall=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
  esac
  case $name in
    --prefix | --destdir | --dist)
      [[ -n $value ]] || usage_error "Option '$name' needs a directory"
      [[ $value != *$'\n'* ]] || usage_error "Option '$name' must not contain a newline"
      ;;
  esac
done

if ((uninstall)); then
  ((dist_given == 0)) || usage_error "Option '--dist' has no meaning with '--uninstall'"
  ((no_systemd == 0)) || usage_error "Option '--no-systemd' has no meaning with '--uninstall'"
  ((force == 0)) || usage_error "Option '--force' has no meaning with '--uninstall'"
fi

# The prefix is written into the unit's ExecStart= and the manifest: keep it to characters that
# need no quoting in either (no spaces, no '%' specifiers, no '$' variables, no '\' escapes).
[[ $prefix =~ ^/[A-Za-z0-9._+@/-]*$ ]] ||
  usage_error "Unsupported prefix '$prefix': expected an absolute path of letters, digits and . _ + @ - /"
[[ /$prefix/ != */../* && /$prefix/ != */./* ]] ||
  usage_error "Unsupported prefix '$prefix': expected a path without '.' or '..'"
while [[ $prefix == *//* ]]; do prefix=${prefix//\/\//\/}; done
[[ $prefix == / ]] || prefix=${prefix%/}
# P joins with "/bin" etc.: empty for the prefix "/".
P=${prefix%/}

if [[ -n $destdir ]]; then
  [[ $destdir == /* ]] || destdir=$PWD/$destdir
  while [[ $destdir == */ && $destdir != / ]]; do destdir=${destdir%/}; done
  [[ $destdir != / ]] || destdir=
fi
# ROOT is prepended to every path this script touches; the paths it writes down never have it.
ROOT=$destdir

MANIFEST=$P/share/conntop/install-manifest
UNIT=$P/lib/systemd/system/conntopd.service

# Whether this is the running system (not a staging tree) and systemd runs it (sd_booted(3)).
live_systemd() {
  [[ -z $ROOT && -d /run/systemd/system ]]
}

# --- The manifest ----------------------------------------------------------------------------

# Files of the manifest read (path → sha256) in their order, and its directories.
declare -A old_sha=()
old_files=()
old_dirs=()

sha256_of() {
  local sum
  sum=$(sha256sum <"$1") || die "Cannot read '$1' to hash it"
  printf '%s' "${sum%% *}"
}

# under_prefix PATH: whether PATH is the prefix or inside it.
under_prefix() {
  [[ $1 == "$prefix" || $1 == "$P"/* ]]
}

read_manifest() {
  local file=$ROOT$MANIFEST line n=0
  while IFS= read -r line || [[ -n $line ]]; do
    n=$((n + 1))
    if [[ $line =~ ^file\ ([0-9a-f]{64})\ (/.*)$ ]]; then
      under_prefix "${BASH_REMATCH[2]}" ||
        die "Manifest '$file' line $n names '${BASH_REMATCH[2]}', outside the prefix '$prefix'"
      [[ -z ${old_sha[${BASH_REMATCH[2]}]+x} ]] || continue
      old_sha[${BASH_REMATCH[2]}]=${BASH_REMATCH[1]}
      old_files+=("${BASH_REMATCH[2]}")
    elif [[ $line =~ ^dir\ (/.*)$ ]]; then
      under_prefix "${BASH_REMATCH[1]}" ||
        die "Manifest '$file' line $n names '${BASH_REMATCH[1]}', outside the prefix '$prefix'"
      old_dirs+=("${BASH_REMATCH[1]}")
    elif [[ $line =~ ^prefix\ (/.*)$ ]]; then
      [[ ${BASH_REMATCH[1]} == "$prefix" ]] ||
        die "Manifest '$file' is of the prefix '${BASH_REMATCH[1]}', not '$prefix'"
    elif [[ -n $line && $line != \#* ]]; then
      die "Malformed line $n of manifest '$file': expected 'file SHA256 PATH' or 'dir PATH'"
    fi
  done <"$file" || die "Cannot read manifest '$file'"
}

# The temporary file being written, removed if the script stops before renaming it.
tmp=
trap '[[ -z $tmp ]] || rm -f -- "$tmp"' EXIT

# atomic_write TARGET MODE COMMAND...: runs COMMAND with its output going to a temporary file
# next to TARGET (ROOT included), sets MODE and renames it over TARGET.
atomic_write() {
  local target=$1 mode=$2
  shift 2
  tmp=$(mktemp -- "$(dirname -- "$target")/.${target##*/}.XXXXXX") ||
    die "Cannot create a temporary file next to '$target'"
  "$@" >"$tmp" || die "Cannot write '$tmp'"
  chmod -- "$mode" "$tmp" || die "Cannot set the mode of '$tmp'"
  mv -f -- "$tmp" "$target" || die "Cannot rename '$tmp' to '$target'"
  tmp=
}

# What this install wrote (path → sha256, in order) and the directories it created.
declare -A new_sha=()
new_files=()
new_dirs=()

manifest_text() {
  local f d
  printf '# conntop install manifest: written by scripts/install.sh, read by its --uninstall.\n'
  printf '# "file SHA256 PATH": a file it wrote; "dir PATH": a directory it created.\n'
  printf 'prefix %s\n' "$prefix"
  for d in "${old_dirs[@]}" "${new_dirs[@]}"; do printf 'dir %s\n' "$d"; done
  for f in "${new_files[@]}"; do printf 'file %s %s\n' "${new_sha[$f]}" "$f"; done
  # Files of an earlier install that this one did not write again stay listed, so that
  # --uninstall still removes them.
  for f in "${old_files[@]}"; do
    [[ -n ${new_sha[$f]+x} || ! -e $ROOT$f ]] || printf 'file %s %s\n' "${old_sha[$f]}" "$f"
  done
}

write_manifest() {
  atomic_write "$ROOT$MANIFEST" 0644 manifest_text
}

# --- Uninstall -------------------------------------------------------------------------------

if ((uninstall)); then
  [[ -f $ROOT$MANIFEST ]] ||
    die "No install manifest at '$ROOT$MANIFEST': nothing was installed with --prefix $prefix${ROOT:+ --destdir $ROOT}"
  read_manifest
  if live_systemd && [[ -n ${old_sha[$UNIT]+x} ]] &&
    { systemctl --quiet is-enabled conntopd.service 2>/dev/null ||
      systemctl --quiet is-active conntopd.service 2>/dev/null; }; then
    die "conntopd.service is enabled or running: run 'systemctl disable --now conntopd' first"
  fi
  removed=0
  kept=0
  for f in "${old_files[@]}"; do
    target=$ROOT$f
    if [[ ! -e $target && ! -L $target ]]; then
      continue
    elif [[ -f $target && ! -L $target && $(sha256_of "$target") == "${old_sha[$f]}" ]]; then
      rm -f -- "$target" || die "Cannot remove '$target'"
      removed=$((removed + 1))
    else
      warn "Keeping '$target': it was changed since it was installed"
      kept=$((kept + 1))
    fi
  done
  rm -f -- "$ROOT$MANIFEST" || die "Cannot remove '$ROOT$MANIFEST'"
  # Deepest first; a directory that is not empty (a kept file, someone else's) stays.
  while IFS= read -r d; do
    [[ -z $d ]] || rmdir -- "$ROOT$d" 2>/dev/null || true
  done < <(for d in "${old_dirs[@]}"; do printf '%s\n' "$d"; done | awk '{ print length($0) "\t" $0 }' |
    sort -rn | cut -f2-)
  if live_systemd && [[ -n ${old_sha[$UNIT]+x} ]]; then
    systemctl daemon-reload || warn "'systemctl daemon-reload' failed: run it yourself"
  fi
  printf 'Removed %d files of conntop from %s%s.\n' "$removed" "$ROOT" "$prefix"
  ((kept == 0)) || printf 'Kept %d files changed since the install (named above).\n' "$kept"
  exit 0
fi

# --- Install: what goes where ----------------------------------------------------------------

machine=$(uname -m)
case $machine in
  x86_64) arch=x86_64 ;;
  aarch64 | arm64) arch=aarch64 ;;
  *) die "Unsupported machine '$machine': conntop is built for x86_64 and aarch64" ;;
esac

if ((dist_given == 0)); then dist=$REPO_DIR/dist; fi
build_hint="deno task build --target $arch"
((dist_given == 0)) || build_hint+=" --out-dir $dist"

# Parallel lists: source, target (without ROOT), mode.
srcs=()
targets=()
modes=()
add() {
  srcs+=("$1")
  targets+=("$2")
  modes+=("$3")
}

for name in conntop conntopd; do
  [[ -f $dist/$name-$arch ]] ||
    die "Missing binary '$dist/$name-$arch': build it first with '$build_hint'"
  add "$dist/$name-$arch" "$P/bin/$name" 0755
done

if [[ -d $REPO_DIR/man ]]; then
  for name in conntop conntopd; do
    [[ -f $REPO_DIR/man/$name.8 ]] || die "Missing man page '$REPO_DIR/man/$name.8'"
    add "$REPO_DIR/man/$name.8" "$P/share/man/man8/$name.8" 0644
  done
else
  warn "No man pages in '$REPO_DIR/man': installing none"
fi

comp=$dist/completions
if [[ -d $comp ]]; then
  for name in conntop conntopd; do
    for pair in "$name.bash:share/bash-completion/completions/$name" \
      "_$name:share/zsh/site-functions/_$name" \
      "$name.fish:share/fish/vendor_completions.d/$name.fish"; do
      [[ -f $comp/${pair%%:*} ]] ||
        die "Missing completion '$comp/${pair%%:*}': build it with '$build_hint'"
      add "$comp/${pair%%:*}" "$P/${pair#*:}" 0644
    done
  done
else
  warn "No shell completions in '$comp': installing none (build them with '$build_hint')"
fi

if ((no_systemd == 0)); then
  [[ -f $SCRIPT_DIR/conntopd.service ]] || die "Missing unit '$SCRIPT_DIR/conntopd.service'"
  add "$SCRIPT_DIR/conntopd.service" "$UNIT" 0644
fi

# The unit with ExecStart= (and the commented example of a drop-in's) naming PREFIX/bin/conntopd.
rewrite_unit() {
  local line n=0 re='^(#[[:space:]]*)?ExecStart=[^[:space:]]*/conntopd([[:space:]].*)?$'
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ $re ]]; then
      line="${BASH_REMATCH[1]}ExecStart=$P/bin/conntopd${BASH_REMATCH[2]}"
      [[ -n ${BASH_REMATCH[1]} ]] || n=$((n + 1))
    fi
    printf '%s\n' "$line"
  done <"$1"
  ((n == 1)) || die "Expected one 'ExecStart=.../conntopd' line in '$1', found $n"
}

# --- Install: checks before writing anything -------------------------------------------------

if [[ -e $ROOT$MANIFEST ]]; then
  [[ -f $ROOT$MANIFEST ]] || die "'$ROOT$MANIFEST' is not a file"
  read_manifest
fi

blocked=0
for t in "${targets[@]}"; do
  target=$ROOT$t
  [[ -e $target || -L $target ]] || continue
  if [[ -d $target && ! -L $target ]]; then
    printf "%s: '%s' is a directory: not replacing it\n" "$PROG" "$target" >&2
    blocked=1
  elif ((force)); then
    continue
  elif [[ -z ${old_sha[$t]+x} ]]; then
    printf "%s: '%s' exists and was not installed by this script: not overwriting it (--force does)\n" \
      "$PROG" "$target" >&2
    blocked=1
  elif [[ -L $target || ! -f $target || $(sha256_of "$target") != "${old_sha[$t]}" ]]; then
    printf "%s: '%s' was changed since it was installed: not overwriting it (--force does)\n" \
      "$PROG" "$target" >&2
    blocked=1
  fi
done
((blocked == 0)) || exit 1

# --- Install: directories, files, manifest ---------------------------------------------------

# ensure_dir DIR (without ROOT): creates DIR and its missing parents (0755), noting each.
ensure_dir() {
  local dir=$1 path= part
  local -a parts
  IFS=/ read -r -a parts <<<"${dir#/}"
  for part in "${parts[@]}"; do
    [[ -n $part ]] || continue
    path+=/$part
    if [[ -L $ROOT$path && -d $ROOT$path ]]; then
      continue
    elif [[ -e $ROOT$path && ! -d $ROOT$path ]]; then
      die "Cannot create directory '$ROOT$path': a file is in the way"
    elif [[ ! -e $ROOT$path ]]; then
      mkdir -m 0755 -- "$ROOT$path" || die "Cannot create directory '$ROOT$path'"
      new_dirs+=("$path")
    fi
  done
}

if [[ -n $ROOT && ! -d $ROOT ]]; then
  mkdir -p -- "$ROOT" || die "Cannot create directory '$ROOT'"
fi
ensure_dir "$(dirname -- "$MANIFEST")"
for t in "${targets[@]}"; do ensure_dir "$(dirname -- "$t")"; done
write_manifest

for i in "${!targets[@]}"; do
  src=${srcs[$i]}
  t=${targets[$i]}
  [[ -r $src ]] || die "Cannot read '$src'"
  if [[ $t == "$UNIT" ]]; then
    atomic_write "$ROOT$t" "${modes[$i]}" rewrite_unit "$src"
  else
    atomic_write "$ROOT$t" "${modes[$i]}" cat -- "$src"
  fi
  new_sha[$t]=$(sha256_of "$ROOT$t")
  new_files+=("$t")
  write_manifest
done

for f in "${old_files[@]}"; do
  if [[ -z ${new_sha[$f]+x} && -e $ROOT$f ]]; then
    printf "Kept '%s' from the earlier install (--uninstall removes it).\n" "$ROOT$f"
  fi
done

if [[ -n $ROOT ]]; then
  printf 'Staged %d files under %s for the prefix %s (manifest: %s).\n' \
    "${#new_files[@]}" "$ROOT" "$prefix" "$ROOT$MANIFEST"
  exit 0
fi

printf 'Installed %d files under %s (manifest: %s).\n' "${#new_files[@]}" "$prefix" "$MANIFEST"
if ((no_systemd == 0)); then
  if live_systemd; then
    systemctl daemon-reload || warn "'systemctl daemon-reload' failed: run it yourself"
  fi
  case ${UNIT%/*} in
    /usr/local/lib/systemd/system | /usr/lib/systemd/system | /lib/systemd/system) ;;
    *) printf "systemd does not read %s: make the unit known with 'systemctl link %s'.\n" \
      "${UNIT%/*}" "$UNIT" ;;
  esac
  cat <<EOF
Next steps (nothing was enabled or started):
  systemctl enable --now conntopd    # serve on 127.0.0.1 and ::1 only
  conntop --connect localhost        # watch it
Options go in /etc/default/conntopd (CONNTOPD_OPTS=...); to expose conntopd
beyond loopback (token and TLS as credentials), read the comments in
$UNIT.
EOF
fi
