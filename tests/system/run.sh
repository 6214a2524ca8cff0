#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run.sh [DEBDIR]
#
# The system test: installs the project's Debian packages into a minimal
# Debian 12 root file system, boots it in QEMU (TCG, no KVM needed) with
# systemd as PID 1, and runs tests/system/guest/checks.sh there as a unit
# after multi-user.target: uptane-server serves an update, uptane-primaryd
# runs from /etc/uptane.conf under systemctl, and the journal, uptanectl,
# systemd-analyze, a configuration edit, a broken configuration and the
# watchdog are checked (tests/system/README.md). The guest powers off and
# hands its results back on a second disk.
#
# DEBDIR: a directory of .deb files to test (all but -dbgsym and -dev are
# installed). Without it the debs are built with scripts/build-debs.sh.
#
# Prints each check as "ok - NAME: WHAT" or "not ok - NAME: WHAT", the time
# of each step, and last "system: N passed, M failed". Exits 0 only when
# every check passed; a step that fails, a hang (timeout) or a guest that
# gives no verdict is a failure. Needs root (debootstrap, chroot); reruns
# itself with sudo when it is not.
#
# Environment (all optional):
#   UPTANE_SYSTEST_WORK     work directory, rebuilt each run; the artifacts
#                           stay in it (default: ${TMPDIR:-/tmp}/uptane-systest)
#   UPTANE_SYSTEST_CACHE    cached root file systems
#                           (default: ${XDG_CACHE_HOME:-/var/cache}/uptane-systest)
#   UPTANE_SYSTEST_MIRROR   Debian mirror (default: this machine's bookworm source)
#   UPTANE_SYSTEST_REBUILD=1  ignore the cached root file systems
#   UPTANE_SYSTEST_TIMEOUT  seconds the VM may run (default 540)
#   UPTANE_SYSTEST_MEM, UPTANE_SYSTEST_SMP  guest MiB and CPUs (default 1024, 2)
#   UPTANE_SYSTEST_MIN_FREE_MB  free disk space needed, else exit 77 (skip; default 3072)
set -uo pipefail
{ # read whole before it runs: editing this file during a run does not change the run

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin LC_ALL=C

if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || { echo "system: must run as root (debootstrap, chroot)" >&2; exit 1; }
        exec sudo -E bash "$0" "$@"
fi

debdir=${1:+$(cd "$1" 2>/dev/null && pwd)}
[ -z "${1:-}" ] || [ -n "$debdir" ] || { echo "system: no directory $1" >&2; exit 2; }
work=${UPTANE_SYSTEST_WORK:-${TMPDIR:-/tmp}/uptane-systest}
cache=${UPTANE_SYSTEST_CACHE:-${XDG_CACHE_HOME:-/var/cache}/uptane-systest}
vm_timeout=${UPTANE_SYSTEST_TIMEOUT:-540}
suite=bookworm
# The packages of the base system: systemd as PID 1, the system bus, and a
# kernel with its initramfs to boot.
base_packages=systemd,systemd-sysv,dbus,udev,kmod,linux-image-amd64
layout=v1 # bump when what goes into the cached trees changes

mkdir -p "$work" "$cache" || exit 1
# The root file system, its image and the cache take about 2.5 GiB at the
# peak: on a machine without that much free, skip and say why (77) rather
# than fail half-way on a full disk.
min_free_mb=${UPTANE_SYSTEST_MIN_FREE_MB:-3072}
for d in "$work" "$cache"; do
        free_mb=$(df -Pm "$d" | awk 'NR == 2 { print $4 }')
        if [ "${free_mb:-0}" -lt "$min_free_mb" ]; then
                echo "skip - system test: ${free_mb:-?} MiB free under $d, it needs $min_free_mb MiB"
                echo "system: 0 passed, 0 failed"
                exit 77
        fi
done
exec 9>"$work.lock"
flock -w 900 9 || { echo "system: another run holds $work.lock" >&2; exit 1; }

passed=0
failed=0
t_start=$EPOCHREALTIME
timings=()
step_name=
step_t0=
step() { step_name=$1; step_t0=$EPOCHREALTIME; echo "== $1"; }
step_done() {
        local d
        d=$(awk -v a="$step_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        timings+=("$(printf '%-40s %7ss' "$step_name" "$d")")
        echo "   ($step_name: ${d}s)"
}
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
finish() {
        local total
        total=$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        echo "== timings"
        printf '   %s\n' "${timings[@]}" "$(printf '%-40s %7ss' total "$total")"
        echo "artifacts: $work (results/, console.log, *.log)"
        echo "system: $passed passed, $failed failed"
        [ "$failed" -eq 0 ]
        exit
}
# A step that cannot go on: one failure, the tail of its log, the summary.
abort() { # abort WHAT [LOG]
        not_ok "$1"
        [ -n "${2:-}" ] && [ -s "$2" ] && tail -n 25 "$2" | sed 's/^/# /'
        step_done
        finish
}

# Removes a tree that may still have file systems mounted inside.
safe_rm() {
        local d=$1 m
        [ -e "$d" ] || return 0
        d=$(realpath "$d")
        for m in $(awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r); do
                umount -l "$m" 2>/dev/null
        done
        rm -rf --one-file-system "$d"
}
in_root() { # in_root DIR COMMAND...: COMMAND in a chroot with /proc mounted
        local root=$1 rc
        shift
        mount -t proc proc "$root/proc" || return 1
        chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
                DEBIAN_FRONTEND=noninteractive "$@"
        rc=$?
        umount -l "$root/proc"
        return $rc
}
pack() { tar -C "$1" --numeric-owner --xattrs --xattrs-include='*' -I 'zstd -T0 -3' -cf "$2.tmp" . && mv "$2.tmp" "$2"; }
unpack() { mkdir -p "$2" && tar -C "$2" --numeric-owner --xattrs --xattrs-include='*' -I zstd -xf "$1"; }

bg_pid=
cleanup() {
        [ -z "$bg_pid" ] || { pkill -P "$bg_pid"; kill "$bg_pid"; } 2>/dev/null
        for d in "$work/base" "$work/root"; do
                awk -v p="$d/" 'index($2, p) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r umount -l 2>/dev/null
        done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the host's tools ---------------------------------------------------------------------------
step "host tools"
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v zstd >/dev/null || need+=(zstd)
command -v flock >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
        echo "   apt-get install ${need[*]}"
        { timeout 300 apt-get update -q && DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q \
                --no-install-recommends "${need[@]}"; } >"$work/host-tools.log" 2>&1 ||
                abort "host-tools: apt-get install ${need[*]}" "$work/host-tools.log"
fi
step_done

# --- the base root file system (cached), built while the debs are -------------------------------
mirror=${UPTANE_SYSTEST_MIRROR:-}
sources() { apt-cache policy 2>/dev/null | awk '$3 ~ /^bookworm(-updates|-security)?\/main$/ && $2 ~ /^https?:/ { print $2, $3 }' | sort -u; }
host_sources=$(sources)
[ -n "$host_sources" ] || { timeout 300 apt-get update -q >/dev/null 2>&1; host_sources=$(sources); }
[ -n "$mirror" ] || mirror=$(awk '$2 == "bookworm/main" { print $1; exit }' <<<"$host_sources")
mirror=${mirror:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture)
base_key=$(printf '%s|' "$suite" "$arch" "$mirror" "$base_packages" "$host_sources" "$layout" | sha256sum | cut -c1-16)
base_tar=$cache/base-$suite-$arch-$base_key.tar.zst
[ -z "${UPTANE_SYSTEST_REBUILD:-}" ] || rm -f "$cache"/*.tar.zst
safe_rm "$work/base"
safe_rm "$work/root"
mkdir -p "$work"
rm -rf "$work/results" "$work"/*.img "$work"/*.log "$work/console.log" "$work/vmlinuz" "$work/initrd.img"

make_base() { # debootstrap, the sources of this machine, then the tarball
        local b=$work/base
        timeout 900 debootstrap --variant=minbase --include="$base_packages" "$suite" "$b" "$mirror" || return 1
        {
                awk '{ sub("/main$", "", $2); print "deb", $1, $2, "main" }' <<<"$host_sources"
        } >"$b/etc/apt/sources.list"
        [ -s "$b/etc/apt/sources.list" ] || echo "deb $mirror $suite main" >"$b/etc/apt/sources.list"
        rm -f "$b"/var/cache/apt/archives/*.deb
        pack "$b" "$base_tar" || return 1
        find "$cache" -maxdepth 1 -name 'base-*.tar.zst' ! -path "$base_tar" -delete # one base at a time
}
if [ -s "$base_tar" ]; then
        echo "   base root file system cached: $base_tar"
else
        echo "   debootstrap $suite ($base_packages) from $mirror in the background"
        make_base >"$work/debootstrap.log" 2>&1 &
        bg_pid=$!
        base_t0=$EPOCHREALTIME
fi

# --- the debs under test ------------------------------------------------------------------------
if [ -n "$debdir" ]; then
        step "debs from $debdir"
else
        debdir=$work/debs
        step "build the debs (scripts/build-debs.sh)"
        rm -rf "$debdir"
        mkdir -p "$debdir"
        [ -f "$top/scripts/build-debs.sh" ] || abort "build-debs: scripts/build-debs.sh is missing (give a DEBDIR)"
        if ! (cd "$top" && timeout 1800 bash scripts/build-debs.sh "$debdir") >"$work/build-debs.log" 2>&1; then
                # its own checks (lintian, ...) may fail with the debs built: test them all the same
                ls "$debdir"/*.deb >/dev/null 2>&1 ||
                        abort "build-debs: scripts/build-debs.sh made no debs (log: $work/build-debs.log)" "$work/build-debs.log"
                not_ok "build-debs: scripts/build-debs.sh failed, testing the debs it made (log: $work/build-debs.log)"
                grep -E '^not ok' "$work/build-debs.log" | sed 's/^/# build-debs: /'
        fi
fi
debs=()
for f in "$debdir"/*.deb; do
        [ -f "$f" ] || continue
        case ${f##*/} in *-dbgsym_* | *-dev_*) continue ;; esac
        debs+=("$f")
done
[ ${#debs[@]} -gt 0 ] || abort "debs: no .deb in $debdir"
printf '   %s\n' "${debs[@]##*/}"
# Their dependencies (the first of alternatives, without versions), less themselves.
names=$(for f in "${debs[@]}"; do dpkg-deb -f "$f" Package; done | sort -u)
deps=$(for f in "${debs[@]}"; do dpkg-deb -f "$f" Pre-Depends; echo; dpkg-deb -f "$f" Depends; echo; done |
        tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/:any//; s/[[:space:]]//g' | grep -v '^$' | sort -u |
        grep -vxF -f <(echo "$names") | tr '\n' ' ')
echo "   their dependencies: $deps"
step_done

# --- the root file system with the dependencies (cached) ---------------------------------------
step "root file system"
if [ -n "$bg_pid" ]; then
        wait "$bg_pid"
        rc=$?
        bg_pid=
        d=$(awk -v a="$base_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        timings+=("$(printf '%-40s %7ss' "(debootstrap + cache, parallel)" "$d")")
        [ $rc -eq 0 ] || abort "rootfs: debootstrap $suite from $mirror failed" "$work/debootstrap.log"
        echo "   debootstrap + cache: ${d}s"
fi
full_key=$(printf '%s|' "$base_key" "$deps" | sha256sum | cut -c1-16)
full_tar=$cache/root-$suite-$arch-$full_key.tar.zst
root=$work/root
if [ -s "$full_tar" ]; then
        echo "   cached: $full_tar"
        safe_rm "$work/base"
        unpack "$full_tar" "$root" || abort "rootfs: cannot unpack $full_tar"
else
        if [ -d "$work/base" ]; then
                mv "$work/base" "$root"
        else
                unpack "$base_tar" "$root" || abort "rootfs: cannot unpack $base_tar"
        fi
        echo "   apt-get install $deps"
        # shellcheck disable=SC2086
        { in_root "$root" timeout 300 apt-get update -q &&
                in_root "$root" timeout 600 apt-get install -y -q --no-install-recommends $deps &&
                in_root "$root" apt-get clean; } >"$work/dependencies.log" 2>&1 ||
                abort "rootfs: apt-get install of the debs' dependencies failed" "$work/dependencies.log"
        rm -f "$cache"/root-"$suite"-"$arch"-*.tar.zst # one tree with dependencies at a time
        pack "$root" "$full_tar" || abort "rootfs: cannot write $full_tar"
        echo "   cached as $full_tar"
fi
step_done

# --- the debs installed the way a user does -----------------------------------------------------
step "install the debs"
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" # no daemon starts in the chroot
chmod 755 "$root/usr/sbin/policy-rc.d"
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
if ! in_root "$root" sh -c 'dpkg -i /tmp/debs/*.deb' >"$work/install.log" 2>&1; then
        echo "   dpkg -i wanted more: apt-get -f install" | tee -a "$work/install.log"
        { in_root "$root" timeout 300 apt-get update -q &&
                in_root "$root" timeout 600 apt-get -f install -y -q --no-install-recommends; } >>"$work/install.log" 2>&1 ||
                abort "install: the debs do not install (log: $work/install.log)" "$work/install.log"
fi
rm -rf "$root/tmp/debs" "$root/usr/sbin/policy-rc.d"
grep -iE 'warning|error' "$work/install.log" | sed 's/^/   install.log: /' | head -n 10
step_done

# --- the guest: the checks as a unit, no way to hang on a console -------------------------------
step "image"
g=$root/usr/local/lib/uptane-systest
mkdir -p "$g"
install -m 0755 "$here/guest/checks.sh" "$g/checks.sh"
install -m 0644 "$here/guest/uptane-systest.service" "$root/etc/systemd/system/uptane-systest.service"
for u in emergency rescue; do
        mkdir -p "$root/etc/systemd/system/$u.service.d"
        printf '[Service]\nExecStartPre=-/bin/echo "SYSTEST: not ok - boot: the guest entered %s mode"\nExecStart=\nExecStart=/bin/systemctl --no-block poweroff\n' \
                "$u" >"$root/etc/systemd/system/$u.service.d/uptane-systest.conf"
done
chroot "$root" systemctl enable uptane-systest.service >/dev/null 2>&1 &&
        chroot "$root" systemctl mask serial-getty@ttyS0.service getty@tty1.service >/dev/null 2>&1 &&
        chroot "$root" systemctl set-default multi-user.target >/dev/null 2>&1 ||
        abort "image: systemctl enable/mask/set-default in the root file system"
echo uptane-systest >"$root/etc/hostname"
echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$root/etc/fstab"
kernel=$(ls "$root"/boot/vmlinuz-* 2>/dev/null | sort -V | tail -n 1)
initrd=$root/boot/initrd.img-${kernel##*/vmlinuz-}
[ -f "$kernel" ] && [ -f "$initrd" ] || abort "image: no kernel and initramfs in $root/boot"
cp "$kernel" "$work/vmlinuz" && cp "$initrd" "$work/initrd.img" || abort "image: copying the kernel"
size=$(($(du -sm "$root" | cut -f1) + 768))
mkfs.ext4 -q -F -L uptane-systest -d "$root" "$work/root.img" "${size}M" >"$work/mkfs.log" 2>&1 ||
        abort "image: mkfs.ext4 -d" "$work/mkfs.log"
truncate -s 64M "$work/results.img"
safe_rm "$root"
step_done

# --- boot, check, power off ---------------------------------------------------------------------
step "VM: boot, checks, power off"
echo "   qemu-system-x86_64 TCG, ${UPTANE_SYSTEST_SMP:-2} CPUs, ${UPTANE_SYSTEST_MEM:-1024} MiB," \
        "kernel ${kernel##*/}, timeout ${vm_timeout}s; console: $work/console.log"
timeout -k 10 "$vm_timeout" qemu-system-x86_64 -accel tcg,thread=multi \
        -m "${UPTANE_SYSTEST_MEM:-1024}" -smp "${UPTANE_SYSTEST_SMP:-2}" \
        -nographic -nic none -no-reboot \
        -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
        -append "root=/dev/vda rw console=ttyS0 systemd.unit=multi-user.target panic=-1 loglevel=4" \
        -drive file="$work/root.img",format=raw,if=virtio \
        -drive file="$work/results.img",format=raw,if=virtio \
        </dev/null 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$work/console.log"
qemu_rc=${PIPESTATUS[0]}
step_done
at() { awk -v t0="$step_t0" -v p="$1" 'index($0, p) { printf "%.1fs", $1 - t0; exit }' "$work/console.log"; }
echo "   multi-user.target at $(at 'Multi-User System'), checks from $(at 'SYSTEST: #'), power-off at $(at 'reboot: Power down')"

# --- the results ---------------------------------------------------------------------------------
mkdir -p "$work/results"
if tar -xf "$work/results.img" -C "$work/results" 2>/dev/null && [ -s "$work/results/checks.txt" ]; then
        results=$work/results/checks.txt
else
        echo "   no results on the second disk: the console's lines instead"
        results=$work/results/console-checks.txt
        sed -n 's/^[0-9.]* .*SYSTEST: //p' "$work/console.log" | tr -d '\r' >"$results"
fi
verdict=
while IFS= read -r l; do
        case $l in
        "ok - "*) passed=$((passed + 1)); echo "$l" ;;
        "not ok - "*) failed=$((failed + 1)); echo "$l" ;;
        "verdict: "*) verdict=${l#verdict: }; echo "# guest verdict: $verdict" ;;
        *) echo "$l" ;;
        esac
done <"$results"
[ "$qemu_rc" -eq 0 ] ||
        not_ok "vm: qemu-system-x86_64 exited with $qemu_rc$([ "$qemu_rc" -ge 124 ] && echo " (timed out after ${vm_timeout}s)")"
[ -n "$verdict" ] || not_ok "verdict: the guest gave no verdict (console: $work/console.log)"
if [ "$qemu_rc" -ne 0 ] || [ -z "$verdict" ]; then
        grep -a -v 'SYSTEST' "$work/console.log" | tail -n 15 | sed 's/^[0-9.]* /# console: /; s/\x1b\[[0-9;]*m//g'
fi
finish
}
