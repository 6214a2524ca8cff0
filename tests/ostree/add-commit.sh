#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Adds a commit to the server repository of a make-fixture.sh fixture: the
# tree of version NAME (tree.sh), plus FILES files of KIB KiB of random data
# below usr/share/uptane-os/bulk/ (for the benchmark; default none). Its
# parent is the branch head. Prints the checksum and appends COMMIT_NAME=...
# (NAME with every character outside A-Z a-z 0-9 as _) to DIR/env.
#
#   tests/ostree/add-commit.sh DIR NAME [FILES [KIB]]     (KIB default 128)
#
# Without FILES the commit is deterministic for a given parent (its time is
# fixed: 2025-01-01); random files make every commit new.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/tree.sh
. "$here/tree.sh"

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
        echo "usage: add-commit.sh DIR NAME [FILES [KIB]]" >&2
        exit 2
fi
fx=$1 name=$2 files=${3:-0} kib=${4:-128}
for v in "$files" "$kib"; do
        case $v in '' | *[!0-9]*)
                echo "add-commit: FILES and KIB are numbers" >&2
                exit 2
                ;;
        esac
done
[ -f "$fx/env" ] || {
        echo "add-commit: $fx is not a fixture (no env)" >&2
        exit 1
}
# shellcheck disable=SC1091
. "$fx/env"

tree=$(mktemp -d "$FIXTURE/tree.XXXXXX")
trap 'rm -rf "$tree"' EXIT
fx_tree "$tree/t" "$name"
if [ "$files" -gt 0 ]; then
        mkdir "$tree/t/usr/share/uptane-os/bulk"
        # one stream cut into files: much faster than a process per file
        head -c $((files * kib * 1024)) /dev/urandom |
                split -b $((kib * 1024)) -a 6 -d - "$tree/t/usr/share/uptane-os/bulk/f"
        chmod 0644 "$tree/t/usr/share/uptane-os/bulk"/f*
fi
c=$(fx_commit "$SERVER_REPO" "$BRANCH" "$tree/t" "$name" 1735689600)
ostree --repo="$SERVER_REPO" summary -u >/dev/null
var=COMMIT_$(printf '%s' "$name" | tr -c 'A-Za-z0-9' '_')
echo "$var=$c" >>"$FIXTURE/env"
echo "$c"
