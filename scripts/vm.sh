#!/usr/bin/env bash
# Builds and boots small Debian 12 virtual machines to test conntop where the test machines
# cannot: under a real systemd as PID 1 (x86_64, with KVM) and on aarch64 (emulated with TCG,
# since qemu-user refuses NETLINK_NETFILTER sockets).
#
# What a VM is:
#   - a root file system from debootstrap (Debian 12) with the Debian kernel (linux-image-amd64 or
#     linux-image-arm64), Debian's libnetfilter-conntrack3 and libmaxminddb0, systemd, and the
#     tools the tests compare with (conntrack, nft, ip, tmux, openssl); built once and cached
#     outside the repository, in ${CONNTOP_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/conntop/vm};
#     each boot writes to a throw-away overlay, never to the cached image;
#   - the project shared read-only at /mnt/conntop (9p), and Deno (npm's deno@2.9.6 for x86_64,
#     @deno/linux-arm64-glibc@2.9.6 for aarch64, fetched on the host) read-only at /opt/deno;
#   - a Deno cache (DENO_DIR) holding the npm packages deno.lock names (ajv, ajv-formats,
#     mmdb-lib and their dependencies: plain JavaScript, the same on every architecture), filled
#     on the host and shared read-only with the tag conntop-deno-dir, since the VM cannot reach
#     npm; a test mounts it (images built before it was shared have no fstab line for it) and
#     copies it to a writable DENO_DIR;
#   - one network link, a tap device inside a network namespace this script creates
#     (conntopvm-PID): the VM reaches that namespace and nothing else;
#   - the serial console, which goes to a log file (its path is printed; a run shows its tail on
#     failure), and a control channel (a virtio serial port) on which a small agent in the VM
#     runs the commands the host sends (test/vm/_guest.ts is the host side).
#
# `run ARCH -- COMMAND...` boots the VM, runs COMMAND on the host inside the namespace (with
# CONNTOP_VM_CTL naming the control socket, CONNTOP_VM_ARCH, CONNTOP_VM_HOST_IF the tap), then
# powers the VM off and removes the namespace, the tap and the overlay, on every exit (a trap).
# The whole run is bounded by --timeout (default 1800 s): past it everything is stopped.
#
# KVM is used for x86_64 when it can boot Debian's kernel (not under PVM, see kvm_usable), TCG
# otherwise; CONNTOP_VM_ACCEL=kvm|tcg forces one.
#
# Usage: scripts/vm.sh build ARCH            build the cached image if missing or outdated
#        scripts/vm.sh run ARCH [--timeout S] [--memory MB] -- COMMAND [ARG]...
#        scripts/vm.sh test [ARCH]...        run test/vm/ (what `deno task test:vm` runs)
#        scripts/vm.sh clean                 remove the cache
# ARCH is x86_64 or aarch64. Needs root (debootstrap, a namespace, a tap).
# Exit status: the COMMAND's (or the tests'), 1 a failure of this script, 2 bad usage, 124 timeout.
set -euo pipefail

PROG=vm.sh
SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_DIR=$(dirname -- "$SCRIPT_DIR")
CACHE=${CONNTOP_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/conntop/vm}
readonly DENO_VERSION=2.9.6
readonly SUITE=bookworm
readonly MIRROR=http://deb.debian.org/debian
# Bump when the image's contents change (packages, files below): cached images of another
# version are rebuilt.
readonly IMAGE_VERSION=3
readonly IMAGE_SIZE=3G
# What the VM has besides debootstrap's minimal base: systemd as PID 1, the libraries conntop
# loads, the programs it runs (nft, ip) and those the tests compare with or drive.
readonly GUEST_PACKAGES=(
  systemd systemd-sysv udev dbus kmod procps iproute2 nftables conntrack
  libnetfilter-conntrack3 libmaxminddb0 tmux openssl libcap2-bin util-linux python3
  mmdb-bin dnsmasq-base ca-certificates
)
# What this script needs on the host.
readonly HOST_PACKAGES=(
  debootstrap qemu-system-x86 qemu-system-arm qemu-utils qemu-user-static e2fsprogs iproute2
)

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
  printf '%s: %s\n' "$PROG" "$1" >&2
  exit "${2:-1}"
}
usage_error() { die "$1 (try '$PROG --help')" 2; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

kernel_arch() {
  case $1 in
    x86_64) echo amd64 ;;
    aarch64) echo arm64 ;;
    *) usage_error "Unknown architecture '$1': expected x86_64 or aarch64" ;;
  esac
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "Needs root (debootstrap, a network namespace, a tap device)"
}

host_packages() {
  local missing=() p
  for p in "${HOST_PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true) == ii* ]] ||
      missing+=("$p")
  done
  # npm (for Deno's packages) may come from Node.js's own packages rather than Debian's.
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  ((${#missing[@]} == 0)) && return 0
  log "installing host packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed"
}

# --- Deno for the guest ------------------------------------------------------------------------

# fetch_deno ARCH: puts deno (npm's build for ARCH) at $CACHE/deno-ARCH/deno.
fetch_deno() {
  local arch=$1 dir=$CACHE/deno-$1 pkg
  case $arch in
    x86_64) pkg=@deno/linux-x64-glibc ;;
    aarch64) pkg=@deno/linux-arm64-glibc ;;
  esac
  [[ -x $dir/deno && -f $dir/.version && $(<"$dir/.version") == "$pkg@$DENO_VERSION" ]] && return 0
  log "fetching $pkg@$DENO_VERSION from npm"
  rm -rf -- "$dir"
  mkdir -p -- "$dir/pkg"
  local tgz
  tgz=$(cd "$dir/pkg" && npm pack --silent "$pkg@$DENO_VERSION") || die "npm pack $pkg failed"
  tar -xzf "$dir/pkg/$tgz" -C "$dir/pkg" || die "Cannot unpack $tgz"
  install -m 0755 "$dir/pkg/package/deno" "$dir/deno"
  rm -rf -- "$dir/pkg"
  printf '%s\n' "$pkg@$DENO_VERSION" >"$dir/.version"
}

# deno_deps: fills $CACHE/deno-dir (a DENO_DIR) with the npm packages of deno.lock, with the
# host's Deno; again only when deno.lock or the Deno version changed (the modules' emitted
# JavaScript it also holds is looked up by their source, so an outdated one is only unused).
deno_deps() {
  local dir=$CACHE/deno-dir stamp deno
  stamp="2 $DENO_VERSION $(sha256sum <"$REPO_DIR/deno.lock" | cut -d' ' -f1)"
  [[ -f $dir/.stamp && $(<"$dir/.stamp") == "$stamp" ]] && return 0
  deno=$(bash "$SCRIPT_DIR/setup.sh" --print-deno) || die "setup.sh failed (Deno for the host)"
  log "filling $dir with deno.lock's npm packages"
  rm -rf -- "$dir"
  mkdir -p -- "$dir"
  # `deno cache` of every module (not `deno install`, which takes the versions from deno.lock and
  # skips the registry's package list that a dynamic import of a package still asks npm for).
  # shellcheck disable=SC2046 # file names without blanks
  (cd "$REPO_DIR" && DENO_DIR=$dir DENO_NO_UPDATE_CHECK=1 "$deno" cache --frozen --quiet main.ts \
    $(find src test tools -name '*.ts' | sort)) >"$CACHE/deno-dir.log" 2>&1 ||
    die "deno cache failed: see $CACHE/deno-dir.log"
  # The JavaScript it emitted is filed under the host's paths: of no use in the VM.
  rm -rf -- "$dir/gen"
  # No package may need building for the host's architecture: the guest's may differ.
  if find "$dir/npm" \( -name '*.node' -o -name binding.gyp \) -print -quit | grep -q .; then
    die "An npm package in deno.lock has a native part: $dir cannot serve another architecture"
  fi
  printf '%s\n' "$stamp" >"$dir/.stamp"
}

# --- The image ---------------------------------------------------------------------------------

# The agent in the VM: reads one base64 command a line from the control port, runs it with bash,
# answers "EXIT_CODE BASE64_OUTPUT". Stdout and stderr are kept apart by the host's convention of
# redirecting what it needs; both come back here together.
write_agent() {
  cat >"$1/usr/local/sbin/conntop-vm-agent" <<'EOF'
#!/bin/bash
# conntop VM agent (scripts/vm.sh): runs the host's commands, one a line, base64-encoded.
port=
for d in /sys/class/virtio-ports/*; do
  [[ $(cat "$d/name" 2>/dev/null) == conntop.ctl ]] && port=/dev/${d##*/}
done
[[ -n $port ]] || { echo "conntop-vm-agent: no control port" >&2; exit 1; }
exec 3<>"$port"
while IFS= read -r line <&3; do
  cmd=$(printf '%s' "$line" | base64 -d)
  out=$(cd / && timeout 3000 bash -c "$cmd" </dev/null 2>&1)
  rc=$?
  printf '%s %s\n' "$rc" "$(printf '%s' "$out" | base64 -w0)" >&3
done
EOF
  chmod 0755 "$1/usr/local/sbin/conntop-vm-agent"
  cat >"$1/etc/systemd/system/conntop-vm-agent.service" <<'EOF'
[Unit]
Description=conntop VM agent (scripts/vm.sh)
After=local-fs.target mnt-conntop.mount opt-deno.mount
[Service]
ExecStart=/usr/local/sbin/conntop-vm-agent
Restart=always
RestartSec=1
[Install]
WantedBy=multi-user.target
EOF
  ln -sf /etc/systemd/system/conntop-vm-agent.service \
    "$1/etc/systemd/system/multi-user.target.wants/conntop-vm-agent.service"
}

# customize ROOTFS ARCH: what the guest needs besides packages.
customize() {
  local root=$1 arch=$2 console
  [[ $arch == x86_64 ]] && console=ttyS0 || console=ttyAMA0
  printf 'conntop-vm\n' >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 conntop-vm\n::1 localhost\n' >"$root/etc/hosts"
  cat >"$root/etc/fstab" <<'EOF'
/dev/vda / ext4 rw,errors=remount-ro 0 1
conntop /mnt/conntop 9p trans=virtio,version=9p2000.L,ro,msize=262144,nofail 0 0
deno /opt/deno 9p trans=virtio,version=9p2000.L,ro,nofail 0 0
EOF
  mkdir -p "$root/mnt/conntop" "$root/opt/deno"
  printf '9p\n9pnet_virtio\nnf_conntrack\n' >"$root/etc/modules-load.d/conntop-vm.conf"
  # No password prompts on the console; the VM has no network beyond the test's namespace.
  sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
  mkdir -p "$root/etc/systemd/system/serial-getty@$console.service.d"
  # Quiet boots, a console that shows the journal's warnings, no waiting on a network.
  ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"
  ln -sf /dev/null "$root/etc/systemd/system/apt-daily.timer"
  ln -sf /dev/null "$root/etc/systemd/system/apt-daily-upgrade.timer"
  ln -sf /dev/null "$root/etc/systemd/system/e2scrub_reap.service"
  printf 'export PATH=/opt/deno:$PATH\n' >"$root/etc/profile.d/deno.sh"
  write_agent "$root"
  printf '%s\n' "$IMAGE_VERSION" >"$root/etc/conntop-vm-version"
}

# with_binfmt COMMAND...: runs COMMAND with qemu-aarch64-static registered for arm64 binaries
# (debootstrap's second stage runs the arm64 package scripts), removing the registration after.
BINFMT_NAME=conntop-vm-aarch64
binfmt_cleanup() {
  [[ -e /proc/sys/fs/binfmt_misc/$BINFMT_NAME ]] && echo -1 >"/proc/sys/fs/binfmt_misc/$BINFMT_NAME"
  return 0
}
with_binfmt() {
  [[ -e /proc/sys/fs/binfmt_misc/register ]] ||
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
    die "Cannot mount binfmt_misc (needed to run debootstrap's arm64 second stage)"
  binfmt_cleanup
  printf '%s\n' ":$BINFMT_NAME:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/bin/qemu-aarch64-static:F" \
    >/proc/sys/fs/binfmt_misc/register || die "Cannot register qemu-aarch64-static with binfmt_misc"
  local rc=0
  "$@" || rc=$?
  binfmt_cleanup
  return "$rc"
}

image_ok() {
  local dir=$CACHE/$1
  [[ -f $dir/base.img && -f $dir/vmlinuz && -f $dir/initrd.img && -f $dir/version &&
    $(<"$dir/version") == "$IMAGE_VERSION" ]]
}

build() {
  local arch=$1 karch dir work
  karch=$(kernel_arch "$arch")
  need_root
  host_packages
  fetch_deno "$arch"
  deno_deps
  image_ok "$arch" && return 0
  dir=$CACHE/$arch
  work=$dir/rootfs
  log "building the $arch image in $dir (debootstrap $SUITE; a few minutes)"
  mkdir -p -- "$dir"
  rm -rf -- "$work" "$dir/base.img" "$dir/version"
  local include
  include=$(
    IFS=,
    echo "linux-image-$karch,${GUEST_PACKAGES[*]}"
  )
  if [[ $arch == x86_64 ]]; then
    debootstrap --arch=amd64 --variant=minbase --include="$include" "$SUITE" "$work" "$MIRROR" \
      >"$dir/debootstrap.log" 2>&1 || die "debootstrap failed: see $dir/debootstrap.log"
  else
    debootstrap --arch=arm64 --variant=minbase --foreign --include="$include" "$SUITE" "$work" \
      "$MIRROR" >"$dir/debootstrap.log" 2>&1 || die "debootstrap failed: see $dir/debootstrap.log"
    with_binfmt chroot "$work" /debootstrap/debootstrap --second-stage >>"$dir/debootstrap.log" 2>&1 ||
      die "debootstrap's second stage failed: see $dir/debootstrap.log"
  fi
  customize "$work" "$arch"
  # The kernel and its initramfs boot the VM directly (no boot loader).
  cp -L -- "$work/vmlinuz" "$dir/vmlinuz"
  cp -L -- "$work/initrd.img" "$dir/initrd.img"
  rm -rf -- "$work/var/cache/apt/archives/"*.deb
  mkfs.ext4 -q -L root -d "$work" "$dir/base.img" "$IMAGE_SIZE" >>"$dir/debootstrap.log" 2>&1 ||
    die "mkfs.ext4 failed: see $dir/debootstrap.log"
  rm -rf -- "$work"
  printf '%s\n' "$IMAGE_VERSION" >"$dir/version"
  log "built $dir/base.img"
}

# --- Running -----------------------------------------------------------------------------------

NS=
RUN_DIR=
QEMU_PID=
CMD_PID=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $CMD_PID ]] && kill -0 "$CMD_PID" 2>/dev/null; then
    # timeout passes the signal on to the command, and kills it 10 s later if it is still there.
    kill -TERM "$CMD_PID" 2>/dev/null || true
    wait "$CMD_PID" 2>/dev/null || true
  fi
  if [[ -n $QEMU_PID ]] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill "$QEMU_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$QEMU_PID" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$QEMU_PID" 2>/dev/null || true
  fi
  [[ -z $NS ]] || ip netns delete "$NS" 2>/dev/null || true
  if [[ -n $RUN_DIR ]]; then
    if ((rc != 0)) && [[ -f $RUN_DIR/console.log ]]; then
      log "the VM's console (last 30 lines of $CACHE/last-console-$ARCH.log):"
      tail -n 30 "$RUN_DIR/console.log" | sed 's/^/  | /' >&2 || true
    fi
    [[ ! -f $RUN_DIR/console.log ]] || cp -- "$RUN_DIR/console.log" "$CACHE/last-console-$ARCH.log"
    rm -rf -- "$RUN_DIR"
  fi
  exit "$rc"
}

# Whether KVM can boot Debian's kernel: /dev/kvm usable, and not PVM (kvm_pvm, the pagetable-based
# KVM of some nested hosts: it runs only guest kernels built for it, and Debian's hangs right after
# "Probing EDD"). CONNTOP_VM_ACCEL=kvm or tcg decides instead.
kvm_usable() {
  case ${CONNTOP_VM_ACCEL:-} in
    kvm) return 0 ;;
    tcg) return 1 ;;
  esac
  [[ -w /dev/kvm && ! -d /sys/module/kvm_pvm ]]
}

ARCH=
run() {
  local timeout=1800 memory=
  ARCH=${1:-}
  [[ -n $ARCH ]] || usage_error "Missing architecture"
  kernel_arch "$ARCH" >/dev/null
  shift
  while (($# > 0)); do
    case $1 in
      --timeout)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage_error "Option '--timeout' needs seconds"
        timeout=$2
        shift 2
        ;;
      --memory)
        [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage_error "Option '--memory' needs megabytes"
        memory=$2
        shift 2
        ;;
      --)
        shift
        break
        ;;
      *) usage_error "Unexpected argument '$1'" ;;
    esac
  done
  (($# > 0)) || usage_error "Missing the command to run after '--'"
  build "$ARCH"

  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/conntop-vm.XXXXXX")
  NS=conntopvm-$$
  ip netns add "$NS" || die "Cannot create network namespace '$NS'"
  ip -n "$NS" link set lo up
  ip -n "$NS" tuntap add dev tap0 mode tap || die "Cannot create a tap device in '$NS'"
  ip -n "$NS" link set tap0 up

  qemu-img create -q -f qcow2 -F raw -b "$CACHE/$ARCH/base.img" "$RUN_DIR/disk.qcow2" ||
    die "Cannot create the overlay disk"
  local qemu cmdline accel
  local -a args
  if [[ $ARCH == x86_64 ]]; then
    qemu=qemu-system-x86_64
    if kvm_usable; then
      accel=(-machine q35,accel=kvm -cpu host -smp 2)
    else
      log "no KVM that boots Debian's kernel here: emulating x86_64 with TCG (slower)"
      accel=(-machine q35 -cpu max -smp 2 -accel tcg,thread=multi)
    fi
    : "${memory:=1536}"
    cmdline="console=ttyS0 root=/dev/vda rw panic=-1 quiet systemd.show_status=error"
  else
    qemu=qemu-system-aarch64
    accel=(-machine virt -cpu max -smp 2 -accel tcg,thread=multi)
    : "${memory:=2048}"
    cmdline="console=ttyAMA0 root=/dev/vda rw panic=-1 quiet systemd.show_status=error"
  fi
  args=(
    "${accel[@]}" -m "$memory" -nodefaults -no-user-config -display none -no-reboot
    -kernel "$CACHE/$ARCH/vmlinuz" -initrd "$CACHE/$ARCH/initrd.img" -append "$cmdline"
    -drive "file=$RUN_DIR/disk.qcow2,if=none,id=disk,format=qcow2"
    -device virtio-blk-pci,drive=disk
    -netdev tap,id=net,ifname=tap0,script=no,downscript=no
    -device virtio-net-pci,netdev=net,mac=52:54:00:12:34:56
    -fsdev "local,id=conntop,path=$REPO_DIR,security_model=none,readonly=on"
    -device virtio-9p-pci,fsdev=conntop,mount_tag=conntop
    -fsdev "local,id=deno,path=$CACHE/deno-$ARCH,security_model=none,readonly=on"
    -device virtio-9p-pci,fsdev=deno,mount_tag=deno
    -fsdev "local,id=denodir,path=$CACHE/deno-dir,security_model=none,readonly=on"
    -device virtio-9p-pci,fsdev=denodir,mount_tag=conntop-deno-dir
    -device virtio-serial-pci
    -chardev "socket,id=ctl,path=$RUN_DIR/ctl.sock,server=on,wait=off"
    -device virtserialport,chardev=ctl,name=conntop.ctl
    -serial "file:$RUN_DIR/console.log"
    -device virtio-rng-pci
  )
  log "booting the $ARCH VM ($qemu, console: $RUN_DIR/console.log)"
  ip netns exec "$NS" "$qemu" "${args[@]}" </dev/null >"$RUN_DIR/qemu.log" 2>&1 &
  QEMU_PID=$!
  local i
  for i in $(seq 1 50); do
    [[ -S $RUN_DIR/ctl.sock ]] && break
    kill -0 "$QEMU_PID" 2>/dev/null || die "qemu exited: $(tail -n 5 "$RUN_DIR/qemu.log")"
    sleep 0.2
  done
  local rc=0
  # In the background and waited for, so that a signal to this script runs its trap at once.
  CONNTOP_VM_CTL=$RUN_DIR/ctl.sock CONNTOP_VM_ARCH=$ARCH CONNTOP_VM_HOST_IF=tap0 \
    CONNTOP_VM_CONSOLE=$RUN_DIR/console.log \
    timeout --kill-after=10 "$timeout" ip netns exec "$NS" "$@" &
  CMD_PID=$!
  wait "$CMD_PID" || rc=$?
  CMD_PID=
  if ((rc == 124)); then log "timed out after $timeout s"; fi
  exit "$rc"
}

run_tests() {
  local archs=("$@") arch rc=0 deno
  ((${#archs[@]} > 0)) || archs=(x86_64 aarch64)
  deno=$(bash "$SCRIPT_DIR/setup.sh" --dev --print-deno) || die "setup.sh failed"
  for arch in "${archs[@]}"; do
    kernel_arch "$arch" >/dev/null
    local file=$REPO_DIR/test/vm/$arch.vm.ts timeout=1500
    [[ $arch == aarch64 ]] && timeout=3000
    log "test: $arch ($file)"
    local start=$SECONDS
    bash "$0" run "$arch" --timeout "$timeout" -- \
      "$deno" test --allow-all --no-prompt "$file" || rc=$?
    log "test: $arch done in $((SECONDS - start)) s (exit $rc)"
  done
  return "$rc"
}

case ${1:-} in
  build)
    (($# == 2)) || usage_error "Usage: $PROG build ARCH"
    kernel_arch "$2" >/dev/null
    CACHE_LOCK=1 build "$2"
    ;;
  run)
    shift
    need_root
    run "$@"
    ;;
  test)
    shift
    need_root
    run_tests "$@"
    ;;
  clean)
    (($# == 1)) || usage_error "Usage: $PROG clean"
    rm -rf -- "$CACHE"
    ;;
  -h | --help) usage ;;
  "") usage_error "Missing command (build, run, test or clean)" ;;
  *) usage_error "Unknown command '$1'" ;;
esac
