#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian 12 (idempotent,
# quiet when everything is there already).
set -euo pipefail

packages=(build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
          libssl-dev openssl libjson-c-dev libcurl4-openssl-dev curl check libsubunit-dev
          python3 faketime dbus dbus-bin
          libmicrohttpd-dev libsqlite3-dev sqlite3 libinih-dev libsystemd-dev
          ostree libostree-dev libglib2.0-dev
          tshark
          # the real-CAN test (tests/vm/): QEMU, a Debian kernel with CAN modules, the guest's tools
          qemu-system-x86 linux-image-amd64 busybox-static cpio can-utils iproute2
          # man pages and the Debian packages (scripts/build-debs.sh)
          scdoc debhelper dpkg-dev lintian
          # the system test (tests/system/): a Debian 12 root file system booted in QEMU
          debootstrap e2fsprogs zstd)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark (the DoIP wire test): no setuid dumpcap, and no question about it.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | $sudo debconf-set-selections
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
