#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The OSTree fixture of the integration test (tests/integration/primaryd-ostree.sh)
# and of bench/bench_ostree.sh: an OS repository served on 127.0.0.1 and a
# device that runs commit 1, without booting anything.
#
#   tests/ostree/make-fixture.sh DIR [N]     N commits (default 3, at least 2)
#   tests/ostree/teardown.sh DIR             undoes it
#
# DIR (new or empty) gets:
#   DIR/server-repo/  an archive-mode repository with commits 1..N on BRANCH
#                     (each the parent of the next) and a summary, served by
#                     python3 -m http.server on 127.0.0.1 (a free port)
#   DIR/sysroot/      the device: a physical sysroot (ostree admin init-fs,
#                     os-init OSNAME, U-Boot's boot/loader/uEnv.txt), its bare
#                     repository holding commit 1 (pulled from the server repo
#                     by checksum) and commit 1 deployed with the kernel
#                     arguments root=LABEL=uptane-root rw; no remote is
#                     configured: the daemon under test adds its own
#   DIR/env           sh assignments: FIXTURE SYSROOT SERVER_REPO REPO_URL
#                     OSNAME BRANCH COMMITS COMMIT1..COMMITN HTTP_PID
#                     (add-commit.sh appends COMMIT_NAME lines)
#   DIR/http.pid, DIR/http.log
#
# Commits are deterministic (tree.sh: content from the version only, fixed
# times 2024-01-0N, --no-xattrs, uid/gid 0): COMMIT1.. are the same on every
# run and every machine with the same ostree.
#
# As root, DIR is a tmpfs (FIXTURE_TMPFS=0 turns that off; FIXTURE_TMPFS_SIZE,
# default 1g): deploying runs syncfs and FIFREEZE/FITHAW on the filesystem
# that holds SYSROOT/boot, which on the host's root filesystem would freeze
# it; tmpfs answers FIFREEZE with EOPNOTSUPP. It also makes the teardown of
# immutable deployment directories trivial. Without root the repository is
# bare-user-only (a bare one needs chown) and nothing is mounted.
#
# Environment: OSNAME (default uptane-os), BRANCH (default OSNAME/x86_64/main).
# Exit status 0, or 1 with the reason on stderr (and DIR torn down).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/tree.sh
. "$here/tree.sh"

die() {
        echo "make-fixture: $*" >&2
        [ -z "${fx:-}" ] || "$here/teardown.sh" "$fx" >/dev/null 2>&1 || :
        exit 1
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: make-fixture.sh DIR [N]" >&2
        exit 2
fi
n=${2:-3}
case $n in '' | *[!0-9]*) die "N must be a number" ;; esac
[ "$n" -ge 2 ] || die "N must be at least 2"
for tool in ostree python3; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
if [ -e "$1" ] && [ -n "$(ls -A "$1" 2>/dev/null)" ]; then
        echo "make-fixture: $1 exists and is not empty" >&2
        exit 1
fi
mkdir -p "$1"
fx=$(cd "$1" && pwd -P)
OSNAME=${OSNAME:-uptane-os}
BRANCH=${BRANCH:-$OSNAME/x86_64/main}
# the time of commit I: 2024-01-01 plus I-1 days
t0=1704067200

if [ "$(id -u)" = 0 ] && [ "${FIXTURE_TMPFS:-1}" = 1 ]; then
        mount -t tmpfs -o "size=${FIXTURE_TMPFS_SIZE:-1g},mode=0755" uptane-ostree-fixture "$fx" ||
                die "cannot mount a tmpfs on $fx"
fi
: >"$fx/.uptane-ostree-fixture" # teardown.sh removes only what has this mark

server_repo=$fx/server-repo
sysroot=$fx/sysroot

# --- The OSTree server ------------------------------------------------------------

ostree --repo="$server_repo" init --mode=archive || die "ostree init failed"
i=1
while [ "$i" -le "$n" ]; do
        rm -rf "$fx/tree"
        fx_tree "$fx/tree" "$i.0" || die "cannot write the tree of $i.0"
        # shellcheck disable=SC2034 # read by the eval below
        csum=$(fx_commit "$server_repo" "$BRANCH" "$fx/tree" "$i.0" $((t0 + (i - 1) * 86400))) ||
                die "ostree commit of $i.0 failed"
        eval "commit$i=\$csum"
        i=$((i + 1))
done
rm -rf "$fx/tree"
ostree --repo="$server_repo" summary -u >/dev/null || die "ostree summary failed"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
        die "no free port"
(cd / && exec python3 -m http.server --bind 127.0.0.1 --directory "$server_repo" "$port") \
        >"$fx/http.log" 2>&1 </dev/null &
echo $! >"$fx/http.pid"
repo_url=http://127.0.0.1:$port
tries=100
until python3 -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1] + '/config', timeout=2)" \
        "$repo_url" >/dev/null 2>&1; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || die "the HTTP server on $repo_url does not answer"
        sleep 0.1
done

# --- The device -------------------------------------------------------------------

mkdir "$sysroot"
ostree admin init-fs "$sysroot" >/dev/null || die "ostree admin init-fs failed"
[ "$(id -u)" = 0 ] || ostree config --repo="$sysroot/ostree/repo" set core.mode bare-user-only
ostree admin os-init --sysroot="$sysroot" "$OSNAME" >/dev/null || die "ostree admin os-init failed"
# U-Boot, as on a head unit: libostree writes boot/loader/uEnv.txt with the
# default deployment and the rollback one (kernel_image2, bootargs2, ...).
mkdir "$sysroot/boot/loader.0"
ln -s loader.0 "$sysroot/boot/loader"
: >"$sysroot/boot/loader/uEnv.txt"
# Once booted, libostree writes temporary files below /var/tmp.
mkdir -p "$sysroot/ostree/deploy/$OSNAME/var/tmp"
chmod 1777 "$sysroot/ostree/deploy/$OSNAME/var/tmp"
# By checksum, as the daemon pulls (no ref is written).
# shellcheck disable=SC2154 # commit1 is set by eval above
ostree --repo="$sysroot/ostree/repo" pull-local "$server_repo" "$commit1" >/dev/null ||
        die "pulling commit 1 into the sysroot failed"
ostree admin deploy --sysroot="$sysroot" --os="$OSNAME" --karg=root=LABEL=uptane-root --karg=rw "$commit1" \
        >/dev/null || die "deploying commit 1 failed"

{
        echo "FIXTURE='$fx'"
        echo "SYSROOT='$sysroot'"
        echo "SERVER_REPO='$server_repo'"
        echo "REPO_URL='$repo_url'"
        echo "OSNAME='$OSNAME'"
        echo "BRANCH='$BRANCH'"
        echo "COMMITS=$n"
        i=1
        while [ "$i" -le "$n" ]; do
                eval "echo \"COMMIT$i=\$commit$i\""
                i=$((i + 1))
        done
        echo "HTTP_PID=$(cat "$fx/http.pid")"
} >"$fx/env"
echo "fixture ready: $fx/env"
