#!/bin.bb/sh
# SPDX-License-Identifier: MIT
# /init of the guest that tests/vm/run-in-vm.sh boots (busybox sh). Mounts
# the host's /usr and /etc read-only and the shares read-write over 9p,
# loads the CAN modules, creates the vcan interfaces, runs the command with
# its output on the second serial port, stores its exit status in the
# run directory (9p tag "ctl") and reboots,
# which ends QEMU (-no-reboot).
export PATH=/bin.bb

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
for d in /dev/shm /tmp /run /var/tmp /root; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
chmod 700 /root
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

for m in $(cat /modules/order); do
        insmod "/modules/$m.ko" || echo "guest: cannot load $m" > /dev/ttyS1
done

opts=trans=virtio,version=9p2000.L,msize=512000
halt_now() { echo "guest: $*" > /dev/ttyS1; reboot -f; sleep 10; }
mount -t 9p -o "$opts,ro,cache=loose" hostusr /usr || halt_now "cannot mount the host's /usr"
mount -t 9p -o "$opts,ro" hostetc /etc || halt_now "cannot mount the host's /etc"
mount -t 9p -o "$opts" ctl /mnt/ctl || halt_now "cannot mount the run directory"
. /mnt/ctl/env
i=0
for d in $vm_shares; do
        mkdir -p "$d" && mount -t 9p -o "$opts" "share$i" "$d" || halt_now "cannot mount $d"
        i=$((i + 1))
done

ip=/usr/sbin/ip
$ip link set lo up
for v in $vm_vcan; do
        $ip link add dev "$v" type vcan && $ip link set "$v" mtu "$vm_canmtu" && $ip link set "$v" up ||
                echo "guest: cannot create $v" > /dev/ttyS1
done

stty -F /dev/ttyS1 raw -echo 2>/dev/null
cd "$vm_workdir" || cd /root
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin HOME=/root TERM=dumb LANG=C.UTF-8 \
        /usr/bin/bash -c '. /mnt/ctl/cmd' < /dev/null > /dev/ttyS1 2>&1
echo $? > /mnt/ctl/status

cd /
sync
umount -a -r 2>/dev/null
reboot -f
