#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs a command as if the machine had booted into one deployment of a
# physical OSTree sysroot, so that the real libostree (sysroot "/",
# ostree_sysroot_get_booted_deployment()) reports that deployment as booted.
# Nothing is rebooted: a private mount namespace and a chroot. Needs root.
#
#   tests/ostree/boot-into.sh SYSROOT OSNAME CSUM[.SERIAL] [--bind DIR]... -- CMD [ARG...]
#
# CSUM alone names the deployment of that commit (an error when there are
# several). --bind DIR makes the host directory DIR reachable at the same
# path inside (the build directory with the daemon, the test's work
# directory); binds are not recursive: mounts below DIR stay outside.
#
# What libostree (2022.7 and later) checks to call a deployment booted:
#   1. /run/ostree-booted exists (an empty file is an empty a{sv});
#   2. the sysroot it is given is "/" (or has the same device and inode);
#   3. the deployment directory, reached through the sysroot, has the same
#      device and inode as "/": the chroot is into that very directory.
# Inside, like after ostree-prepare-root, in this order (the physical root
# is bound before host /usr goes over the deployment's /usr, or libostree
# would look for the kernel in the host's /usr/lib/modules):
#   /sysroot  the physical sysroot        /boot  SYSROOT/boot
#   /usr      the host's /usr (its programs and libraries, libostree)
#   /var      the stateroot's var         /proc, /dev (rbind)
#   /run      a tmpfs with ostree-booted  /tmp   a tmpfs
# /ostree is the tree's symlink to sysroot/ostree. /etc is the deployment's.
#
# A bound DIR below /tmp or /run lands in those tmpfs. Below another
# top-level directory (/work, /home, /root, ...) a tmpfs is mounted on that
# directory of the deployment first (so the deployment's own content there
# is hidden); when the deployment has no such directory it is created, once,
# with the immutable bit lifted for the mkdir (the only change ever made to
# a deployment). Below /usr nothing is needed (the host's /usr is there);
# /var, /boot, /sysroot, /ostree, /proc, /dev and /sys are refused.
#
# Exit status: CMD's (the command replaces this script: a CMD killed by a
# signal is seen as killed by it); 1 with a message when the set-up fails; 2
# on a usage error.
set -eu

usage() {
        echo "usage: boot-into.sh SYSROOT OSNAME CSUM[.SERIAL] [--bind DIR]... -- CMD [ARG...]" >&2
        exit 2
}
die() {
        echo "boot-into: $*" >&2
        exit 1
}

[ $# -ge 5 ] || usage
[ "$(id -u)" = 0 ] || die "needs root (a mount namespace and chroot)"
sysroot=$(cd "$1" && pwd -P) || die "no sysroot $1"
osname=$2
dep=$3
shift 3
deploy_dir=$sysroot/ostree/deploy/$osname/deploy
case $dep in
*.*) ;;
*)
        found=
        for d in "$deploy_dir/$dep".*; do
                [ -d "$d" ] || continue
                [ -z "$found" ] || die "commit $dep is deployed more than once: give CSUM.SERIAL"
                found=${d##*/}
        done
        [ -n "$found" ] || die "commit $dep is not deployed in $sysroot for $osname"
        dep=$found
        ;;
esac
root=$deploy_dir/$dep
[ -d "$root" ] || die "no deployment $root"
stateroot_var=$sysroot/ostree/deploy/$osname/var
[ -d "$stateroot_var" ] || die "no stateroot var $stateroot_var"

# The directories to bind, as the inner script's leading arguments.
binds=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
        if [ "$1" != --bind ] || [ $# -lt 2 ]; then usage; fi
        d=$(cd "$2" && pwd -P) || die "no directory $2"
        binds="$binds$d
"
        shift 2
done
if [ "${1:-}" != -- ] || [ $# -lt 2 ]; then usage; fi
shift

# The binds travel as one newline-separated argument (paths have no newline).
# shellcheck disable=SC2016
exec unshare --mount --propagation private -- /bin/sh -euc '
root=$1 sysroot=$2 var=$3 binds=$4
shift 4
die() {
        echo "boot-into: $*" >&2
        exit 1
}
mount --bind "$sysroot" "$root/sysroot"
mount --bind "$sysroot/boot" "$root/boot"
mount --bind /usr "$root/usr"
mount --bind "$var" "$root/var"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 boot-into-run "$root/run"
: >"$root/run/ostree-booted"
mount -t tmpfs -o mode=1777 boot-into-tmp "$root/tmp"

# top DIR: the deployment gets a tmpfs on the top-level directory of DIR
top() {
        t=${1#/}
        t=/${t%%/*}
        case $t in
        /tmp | /run) return 0 ;;
        /var | /boot | /sysroot | /ostree | /proc | /dev | /sys) die "cannot bind $1 (below $t)" ;;
        esac
        mountpoint -q "$root$t" && return 0
        if [ ! -e "$root$t" ]; then
                immutable=
                lsattr -d "$root" 2>/dev/null | cut -d" " -f1 | grep -q i && immutable=1
                [ -z "$immutable" ] || chattr -i "$root"
                mkdir "$root$t" || die "cannot make $t in the deployment"
                [ -z "$immutable" ] || chattr +i "$root"
        fi
        [ -d "$root$t" ] && [ ! -L "$root$t" ] || die "$t is not a directory in the deployment"
        mount -t tmpfs -o mode=0755 boot-into-bind "$root$t"
}

old_ifs=$IFS
IFS="
"
for d in $binds; do
        IFS=$old_ifs
        case $d in
        /usr | /usr/*) continue ;; # the host /usr is there already
        esac
        top "$d"
        mkdir -p "$root$d"
        mount --bind "$d" "$root$d"
done
IFS=$old_ifs
exec chroot "$root" "$@"
' boot-into "$root" "$sysroot" "$stateroot_var" "$binds" "$@"
