#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run-in-vm.sh COMMAND [ARG...]
#
# Runs COMMAND in a throw-away QEMU guest that has real kernel SocketCAN
# (can, can-raw, can-isotp, vcan) and returns its exit status. The guest
# boots a Debian kernel from /boot (package linux-image-amd64) with a small
# initramfs of static busybox plus the modules it needs; the host's /usr and
# /etc are mounted read-only over virtio-9p (so host programs, libraries and
# the build output run unchanged), the shared directories read-write at the
# same paths. No network card: only lo and the vcan interfaces exist.
#
# Environment (all optional):
#   VM_SHARE     directories shared read-write (default: the repository and
#                $UPTANE_BUILD_DIR); COMMAND runs in the first one
#   VM_VCAN      vcan interfaces to create (default: vcan0)
#   VM_CANMTU    their MTU: 72 for CAN FD (default), 16 for classic CAN only
#   VM_KERNEL    kernel image (default: the newest /boot/vmlinuz-* whose
#                modules include CAN)
#   VM_CACHE     where the initramfs is kept between runs (default:
#                $UPTANE_BUILD_DIR/vm-cache, else ~/.cache/uptane-vm)
#   VM_TIMEOUT   seconds before the guest is killed (default 240)
#   VM_MEM, VM_SMP  guest memory in MiB (default 768) and CPUs (default 2)
#   VM_CONSOLE   file for the guest kernel's console (default: discarded)
#
# Exit status: COMMAND's; 77 when the host lacks QEMU, busybox-static, cpio
# or a kernel with CAN modules (the test is skipped); 124 on timeout; 125
# when the guest did not run COMMAND.
#
# Needs: qemu-system-x86 linux-image-amd64 busybox-static cpio
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

skip() { echo "run-in-vm: SKIP: $*" >&2; exit 77; }
fail() { echo "run-in-vm: $*" >&2; exit 125; }

[ $# -ge 1 ] || { sed -n '3,30p' "$0" >&2; exit 2; }

# ---- what the host must have ----------------------------------------------------------
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
command -v cpio >/dev/null || skip "no cpio (apt-get install cpio)"
busybox=/bin/busybox
[ -x "$busybox" ] && [[ $(LC_ALL=C ldd "$busybox" 2>&1 || true) == *"not a dynamic"* ]] ||
        skip "no static $busybox (apt-get install busybox-static)"

find_kernel() {
        local k v
        for k in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r); do
                v=${k#/boot/vmlinuz-}
                [ -f "/lib/modules/$v/modules.dep" ] && grep -q '^kernel/net/can/can-isotp\.ko' "/lib/modules/$v/modules.dep" &&
                        { echo "$k"; return 0; }
        done
        return 1
}
kernel=${VM_KERNEL:-$(find_kernel || true)}
[ -n "$kernel" ] && [ -r "$kernel" ] || skip "no readable /boot/vmlinuz-* with CAN modules (apt-get install linux-image-amd64)"
kver=$(basename "$kernel")
kver=${kver#vmlinuz-}
moddir=/lib/modules/$kver
[ -f "$moddir/modules.dep" ] || skip "no $moddir/modules.dep for $kernel"

if [ -n "${VM_CACHE:-}" ]; then cache=$VM_CACHE
elif [ -n "${UPTANE_BUILD_DIR:-}" ]; then cache=$UPTANE_BUILD_DIR/vm-cache
else cache=${XDG_CACHE_HOME:-$HOME/.cache}/uptane-vm
fi
mkdir -p "$cache"

# ---- the initramfs (cached per kernel and version of this script) --------------------------
# Modules the guest loads, by name; their dependencies come from modules.dep.
wanted_modules="virtio_pci 9pnet_virtio 9p can can-raw can-isotp vcan"

# Prints the module's path (relative to $moddir) and those it needs, needed
# first (possibly more than once: the caller skips repeats).
resolve_module() {
        local path=$1 line dep
        line=$(grep -m1 "^$path:" "$moddir/modules.dep") || fail "module $path not in modules.dep"
        for dep in ${line#*:}; do resolve_module "$dep"; done
        echo "$path"
}

module_path() {
        local name=$1 p
        p=$(grep -m1 -E "/${name//-/[-_]}\.ko(\.[a-z]+)?:" "$moddir/modules.dep" | cut -d: -f1) || true
        [ -n "$p" ] || return 1
        echo "$p"
}

build_initramfs() (     # a subshell: its trap removes the half-built tree on any exit
        local out=$1 root m p name
        root=$(mktemp -d "$cache/root.XXXXXX")
        trap 'rm -rf "$root" "$out.tmp.$$"' EXIT
        mkdir -p "$root"/{bin.bb,modules,proc,sys,dev,tmp,run,root,usr,etc,var/tmp,mnt/ctl}
        cp "$busybox" "$root/bin.bb/busybox"
        for a in sh mount umount mkdir insmod reboot cat sleep ln stty sync chmod env; do ln -s busybox "$root/bin.bb/$a"; done
        # the merged-/usr links resolve once the host's /usr is mounted
        for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done

        : > "$root/modules/order"
        for m in $wanted_modules; do
                if p=$(module_path "$m"); then
                        for p in $(resolve_module "$p"); do
                                name=$(basename "$p"); name=${name%%.ko*}
                                grep -qx "$name" "$root/modules/order" && continue
                                case $p in
                                *.ko.xz) xz -dc "$moddir/$p" > "$root/modules/$name.ko" ;;
                                *.ko.zst) zstd -dcq "$moddir/$p" > "$root/modules/$name.ko" ;;
                                *.ko.gz) gzip -dc "$moddir/$p" > "$root/modules/$name.ko" ;;
                                *) cp "$moddir/$p" "$root/modules/$name.ko" ;;
                                esac
                                echo "$name" >> "$root/modules/order"
                        done
                elif [ "$m" != virtio_pci ] && [ "$m" != 9pnet_virtio ]; then
                        # built into the kernel is fine; missing CAN support is not
                        grep -q "/$m\.ko" "$moddir/modules.builtin" 2>/dev/null || fail "no module $m in $kver"
                fi
        done
        cp "$here/guest-init.sh" "$root/init"
        chmod 755 "$root/init"
        (cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) > "$out.tmp.$$"
        mv "$out.tmp.$$" "$out"
)

stamp=$(cat "$0" "$here/guest-init.sh" | sha256sum | cut -c1-12)
initrd=$cache/initramfs-$kver-$stamp.cpio.gz
if [ ! -s "$initrd" ]; then
        build_initramfs "$initrd"
        find "$cache" -maxdepth 1 -name 'initramfs-*.cpio.gz' ! -name "$(basename "$initrd")" -delete
fi

# ---- this run: the command, the shares, the status ------------------------------------------
run=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$run"' EXIT

shares=()
add_share() {
        local d s
        d=$(cd "$1" 2>/dev/null && pwd -P) || fail "cannot share $1: no such directory"
        for s in "${shares[@]+"${shares[@]}"}"; do
                case $d/ in "$s"/*) return 0 ;; esac    # already inside a share
        done
        shares+=("$d")
}
if [ -n "${VM_SHARE:-}" ]; then
        for d in $VM_SHARE; do add_share "$d"; done
else
        add_share "$repo"
        [ -n "${UPTANE_BUILD_DIR:-}" ] && add_share "$UPTANE_BUILD_DIR"
fi

{
        printf 'vm_shares=%q\n' "${shares[*]}"
        printf 'vm_vcan=%q\n' "${VM_VCAN-vcan0}"
        printf 'vm_canmtu=%q\n' "${VM_CANMTU:-72}"
        printf 'vm_workdir=%q\n' "${shares[0]}"
} > "$run/env"
printf '%q ' "$@" > "$run/cmd"
echo >> "$run/cmd"

fsdevs=()
fsdev() {       # tag path [readonly]
        fsdevs+=(-fsdev "local,id=$1,path=$2,security_model=none${3:+,readonly=on}"
                 -device "virtio-9p-pci,fsdev=$1,mount_tag=$1")
}
fsdev hostusr /usr ro
fsdev hostetc /etc ro
fsdev ctl "$run"
i=0
for d in "${shares[@]}"; do fsdev "share$i" "$d"; i=$((i + 1)); done

# Software emulation: this machine's KVM (nested PVM) cannot boot a stock
# kernel. Boot time is what counts: qboot instead of SeaBIOS, no ACPI (the
# guest leaves by reboot, which -no-reboot turns into an exit), no TSC and
# timer checks, no CPU vulnerability mitigations in a throw-away guest.
machine=(-accel tcg,thread=multi -cpu max)
[ -r /usr/share/qemu/qboot.rom ] && machine+=(-bios /usr/share/qemu/qboot.rom)
append="console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init acpi=off no_timer_check tsc=reliable mitigations=off"

set +e
timeout --foreground -k 5 "${VM_TIMEOUT:-240}" qemu-system-x86_64 "${machine[@]}" \
        -m "${VM_MEM:-768}" -smp "${VM_SMP:-2}" \
        -nodefaults -no-user-config -display none -no-reboot -nic none \
        -kernel "$kernel" -initrd "$initrd" \
        -append "$append ${VM_APPEND:-}" \
        -chardev "file,id=console,path=${VM_CONSOLE:-/dev/null}" -serial chardev:console \
        -chardev stdio,id=output,signal=on -serial chardev:output \
        "${fsdevs[@]}" < /dev/null
qemu_status=$?
set -e

[ "$qemu_status" -eq 124 ] && { echo "run-in-vm: timed out after ${VM_TIMEOUT:-240} s" >&2; exit 124; }
[ -s "$run/status" ] || fail "the guest did not run the command (qemu exit $qemu_status; VM_CONSOLE=file shows the boot)"
exit "$(cat "$run/status")"
