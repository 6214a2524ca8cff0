#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The deployments of a physical sysroot, in libostree's order (the default
# first), one CSUM.SERIAL a line, as `ostree admin status` lists them.
#
#   tests/ostree/deployments.sh SYSROOT
set -eu
[ $# = 1 ] || {
        echo "usage: deployments.sh SYSROOT" >&2
        exit 2
}
status=$(ostree admin status --sysroot="$1")
printf '%s\n' "$status" | sed -n 's/^[* ] [^ ][^ ]* \([0-9a-f]\{64\}\.[0-9][0-9]*\).*/\1/p'
