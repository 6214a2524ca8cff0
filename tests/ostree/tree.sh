# shellcheck shell=sh
# SPDX-License-Identifier: MIT
#
# The OS tree of the OSTree fixture, shared by make-fixture.sh and
# add-commit.sh (sourced, never run). POSIX sh.
#
#   fx_tree DIR VERSION     writes the tree of version VERSION into DIR (new)
#   fx_commit REPO BRANCH DIR VERSION SECONDS
#                           commits DIR on BRANCH of REPO as VERSION at the
#                           time SECONDS (since the epoch), prints the checksum
#
# The tree is what libostree needs to deploy and what boot-into.sh needs to
# chroot into a deployment:
#   usr/lib/modules/KVER/{vmlinuz,initramfs.img}   a kernel (deploy fails without)
#   usr/lib/os-release, usr/etc/os-release -> ../lib/os-release, usr/etc/hostname
#   usr/etc/uptane-os-version, usr/bin/uptane-os-version   the version
#   usr/share/uptane-os/VERSION/part-N          a few objects of this version only
#   bin lib lib64 sbin -> usr/...               merged /usr, as the host (Debian 12)
#   ostree -> sysroot/ostree                    what a booted OSTree system has
#   boot dev home mnt proc root run sys sysroot tmp var   mount points, empty
# No /etc at the top (libostree refuses a tree with both /etc and /usr/etc).
# The content depends on VERSION and OSNAME only: with a fixed time, no
# xattrs and uid/gid 0, a commit's checksum is the same on every run.

FX_KVER=6.1.0-uptane-test

fx_tree() {
        _fx_d=$1 _fx_v=$2
        (
                umask 022
                mkdir -p "$_fx_d"
                chmod 0755 "$_fx_d"
                cd "$_fx_d" || exit 1
                mkdir -p usr/bin usr/sbin usr/lib usr/lib64 usr/etc "usr/lib/modules/$FX_KVER" \
                        "usr/share/uptane-os/$_fx_v"
                for _fx_l in bin lib lib64 sbin; do
                        ln -s "usr/$_fx_l" "$_fx_l"
                done
                ln -s sysroot/ostree ostree
                mkdir boot dev home mnt proc root run sys sysroot tmp var
                chmod 1777 tmp
                chmod 0700 root
                # One kernel for every version: deployments share their /boot files.
                echo "uptane test kernel $FX_KVER" >"usr/lib/modules/$FX_KVER/vmlinuz"
                echo "uptane test initramfs $FX_KVER" >"usr/lib/modules/$FX_KVER/initramfs.img"
                cat >usr/lib/os-release <<EOF
ID=${OSNAME:-uptane-os}
NAME="Uptane test OS"
VERSION_ID=$_fx_v
PRETTY_NAME="Uptane test OS $_fx_v"
EOF
                ln -s ../lib/os-release usr/etc/os-release
                echo uptane-test-hu >usr/etc/hostname
                echo "$_fx_v" >usr/etc/uptane-os-version
                printf '#!/bin/sh\necho %s\n' "$_fx_v" >usr/bin/uptane-os-version
                chmod 0755 usr/bin/uptane-os-version
                _fx_i=1
                while [ "$_fx_i" -le 8 ]; do
                        _fx_j=0
                        while [ "$_fx_j" -lt 64 ]; do
                                echo "version $_fx_v part $_fx_i line $_fx_j"
                                _fx_j=$((_fx_j + 1))
                        done >"usr/share/uptane-os/$_fx_v/part-$_fx_i"
                        _fx_i=$((_fx_i + 1))
                done
        )
}

fx_commit() {
        ostree --repo="$1" commit --branch="$2" --tree=dir="$3" --subject="Uptane test OS $4" \
                --add-metadata-string=version="$4" --owner-uid=0 --owner-gid=0 --no-xattrs \
                --timestamp="@$5" >/dev/null &&
                ostree --repo="$1" rev-parse "$2"
}
