#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Undoes make-fixture.sh: stops its HTTP server, unmounts its tmpfs, clears
# the immutable bit libostree puts on deployment directories (chattr -R -i),
# and removes DIR. Only a directory that make-fixture.sh marked is removed.
#
#   tests/ostree/teardown.sh DIR
#
# Mounts made by boot-into.sh live in private mount namespaces and end with
# the command they ran. Exit status 0 (also when DIR is gone already), 1 when
# DIR is not a fixture or cannot be removed.
set -u

[ $# = 1 ] || {
        echo "usage: teardown.sh DIR" >&2
        exit 2
}
fx=$1
[ -e "$fx" ] || exit 0
if [ ! -e "$fx/.uptane-ostree-fixture" ]; then
        echo "teardown: $fx is not an OSTree fixture (no .uptane-ostree-fixture): left alone" >&2
        exit 1
fi
if [ -s "$fx/http.pid" ]; then
        pid=$(cat "$fx/http.pid")
        kill "$pid" 2>/dev/null && {
                # wait up to 5 s for it to go
                n=50
                while kill -0 "$pid" 2>/dev/null && [ "$n" -gt 0 ]; do
                        sleep 0.1
                        n=$((n - 1))
                done
        }
fi
if mountpoint -q "$fx" 2>/dev/null; then
        # a tmpfs: its content goes with it, immutable bits included
        umount "$fx" 2>/dev/null || umount -l "$fx" || {
                echo "teardown: cannot unmount $fx" >&2
                exit 1
        }
        rmdir "$fx"
        exit $?
fi
command -v chattr >/dev/null 2>&1 && chattr -R -i "$fx" 2>/dev/null
rm -rf "$fx" || {
        echo "teardown: cannot remove $fx" >&2
        exit 1
}
