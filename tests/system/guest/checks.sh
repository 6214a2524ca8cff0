#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The checks of the system test, run INSIDE the Debian guest by
# uptane-systest.service (Type=simple, after multi-user.target) with systemd
# as PID 1. tests/system/run.sh installs it as /usr/local/lib/uptane-systest/.
#
# It plays what a user of the packages does: uptane-server serves an update
# on 127.0.0.1 (repositories made with uptane-repo as scripts/demo.sh makes
# them), uptane-primaryd is configured in /etc/uptane.conf and run by
# systemctl, and journalctl, uptanectl, systemd-analyze show the results.
#
# Every check prints one line "ok - NAME: WHAT" or "not ok - NAME: WHAT"
# (with "# ..." detail lines after a failure) on the console and into
# $out/checks.txt; the last line is "verdict: N passed, M failed". $out goes
# as a tar onto the second disk (/dev/vdb), which the host reads after the
# power-off. Exit status: the number of failed checks (capped at 100).
set -u
export LC_ALL=C.UTF-8 SYSTEMD_PAGER='' SYSTEMD_COLORS=0

out=/run/uptane-systest
mkdir -p "$out"
passed=0
failed=0
t0=$SECONDS

vin=systestcar
ecu=INFOsystest
hw=infotainment
image=firmware.img
port=8000
base=http://127.0.0.1:$port
srv=/var/lib/uptane-server      # repositories, database, time server key
etc=/etc/uptane                 # the Primary's trusted roots and token
target1=/var/lib/uptane/firmware-1.img   # StateDirectory: writable under ProtectSystem=strict
target2=/var/lib/uptane/firmware-2.img
unit=uptane-primaryd.service

# The ids of src/primaryd/log.c.
id_started=eb3741b4b25245eebc90cd24dbe0b209
id_check=db0cdb7f4cab480f95f9299b2708bd69
id_available=29464c0f6ff34cf48479a1e6484dc4a9
id_download=0ade8ca1ee444a718a84c3dc32d845c3
id_installed=55c7598b0c1045da9848b18f86b5aa70

emit() { echo "SYSTEST: $*"; echo "$*" >>"$out/checks.txt"; }
ok() { passed=$((passed + 1)); emit "ok - $1"; }
not_ok() {
        failed=$((failed + 1))
        emit "not ok - $1"
        shift
        local f
        for f in "$@"; do
                [ -s "$f" ] && tail -n 15 "$f" | sed 's/^/# /' | while IFS= read -r l; do emit "$l"; done
        done
}
info() { emit "# $*"; }
# check NAME WHAT COMMAND...: the command's output goes to $out/NAME.out.
check() {
        local name=$1 what=$2
        shift 2
        if "$@" >"$out/$name.out" 2>&1; then ok "$name: $what"; else not_ok "$name: $what" "$out/$name.out"; fi
}
# wait_for SECONDS COMMAND...: polls every 0.5 s.
wait_for() {
        local end=$((SECONDS + $1))
        shift
        until "$@" >/dev/null 2>&1; do
                [ $SECONDS -lt $end ] || return 1
                sleep 0.5
        done
}
phase() { info "phase $1 at +$((SECONDS - t0))s"; }
prop() { systemctl show -P "$1" "$unit"; }
cursor() { journalctl -q -n 1 --show-cursor -o cat 2>/dev/null | sed -n 's/^-- cursor: //p'; }
# The daemon's own entries after cursor $1 (empty: all) as JSON lines, only
# those with MESSAGE_ID=$2 when given. The filtering is grep's: journalctl
# 252 with --after-cursor and a match skips the first matching entry.
unit_json() {
        journalctl -q --no-pager -o json ${1:+--after-cursor="$1"} | grep -F "\"_SYSTEMD_UNIT\":\"$unit\"" |
                grep -F "\"MESSAGE_ID\":\"${2:-}"
}
# What the journal says about the unit after cursor $1, as text.
unit_text() { journalctl -q --no-pager -o short-monotonic --after-cursor="$1" | grep -F uptane-primaryd; }
file_is() { [ "$(cat "$1" 2>/dev/null)" = "$2" ]; }
count_checks() { unit_json "" $id_check | wc -l; }
more_checks() { [ "$(count_checks)" -gt "$1" ]; }   # more "check started" than $1
http_get() { # http_get PATH: the whole answer (status line, headers, body)
        timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$1" >&3 && cat <&3' \
                "$port" "$1"
}
repo() { # uptane-repo in $srv, its output kept
        echo "\$ uptane-repo $*" >>"$out/uptane-repo.log"
        (cd "$srv" && timeout 60 uptane-repo "$@") >>"$out/uptane-repo.log" 2>&1
}
release() { # release CONTENT: a new firmware.img, published, assigned to the Primary
        printf '%s' "$1" >"$srv/$image"
        repo add-target --repo img "$image" --hardware-id "$hw" &&
                repo publish --repo img &&
                repo director assign --repo dir --image-repo img --hardware-id "$hw" "$vin" "$ecu" "$image"
}
write_conf() { # the Primary's /etc/uptane.conf; the [package-manager] section last
        cat >/etc/uptane.conf <<EOF
# /etc/uptane.conf written by the system test
[vehicle]
vin = $vin
ecu-serial = $ecu
hardware-id = $hw

[director]
url = $base/director
root = $etc/director-root.json
provisioning-token-file = $etc/token

[image-repository]
url = $base/image
root = $etc/image-root.json

[time-server]
url = $base/timeserver
public-key = $etc/timeserver.pub.json

[update]
poll-interval = 1h

[package-manager]
type = file
file-target-path = $target1
EOF
}
finish() {
        phase end
        journalctl -b --no-pager -o short-monotonic >"$out/journal-boot.txt" 2>&1
        journalctl -b --no-pager -o json -u "$unit" >"$out/journal-uptane-primaryd.json" 2>&1
        journalctl -b --no-pager -o json -u uptane-server.service -u uptane-systest-server.service \
                >"$out/journal-uptane-server.json" 2>&1
        systemctl status --no-pager -l "$unit" >"$out/status-uptane-primaryd.txt" 2>&1
        cp /etc/uptane.conf "$out/uptane.conf" 2>/dev/null
        emit "verdict: $passed passed, $failed failed"
        sync
        if [ -b /dev/vdb ]; then
                tar -cf /dev/vdb -C "$out" . && sync && info "artifacts written to /dev/vdb"
        fi
        [ "$failed" -le 100 ] || failed=100
        exit "$failed"
}

# --- the booted system --------------------------------------------------------------------------
state=$(timeout 120 systemctl is-system-running --wait 2>&1)
info "system state: $state; uptime $(cut -d' ' -f1 /proc/uptime)s; $(systemd-analyze time 2>/dev/null | head -n1)"
info "uptane-primaryd at boot (shipped /etc/uptane.conf): enabled=$(systemctl is-enabled "$unit" 2>&1)" \
        "ActiveState=$(prop ActiveState) Result=$(prop Result) ExecMainStatus=$(prop ExecMainStatus) NRestarts=$(prop NRestarts)"
for u in $(systemctl --failed --no-legend --plain | awk '{ print $1 }'); do
        # the uptane daemons start unconfigured and stop with 78 (EX_CONFIG)
        case $u in uptane-*) [ "$(systemctl show -P ExecMainStatus "$u")" = 78 ] && continue ;; esac
        echo "$u: $(systemctl show -P Result "$u")"
done >"$out/failed-at-boot.out"
check boot-no-failed-units "no unit failed at boot (but uptane units stopped unconfigured with 78)" \
        test ! -s "$out/failed-at-boot.out"
check boot-no-restart-loop "uptane-primaryd was not restarted over and over at boot (NRestarts=0)" \
        test "$(prop NRestarts)" = 0
check package-user "the packages made the system user uptane" getent passwd uptane

# --- units --------------------------------------------------------------------------------------
phase units
units=$(dpkg-query -W -f '${Package}\n' 'uptane*' 'libuptane*' 2>/dev/null | xargs -r dpkg -L 2>/dev/null |
        grep -E '^/(usr/)?lib/systemd/system/[^/]+\.(service|socket|timer|path)$' | sort -u)
info "units installed by the packages: $(echo $units)"
verify_units() {
        [ -n "$units" ] || { echo "no unit files installed"; return 1; }
        # verify warns about parse errors and still exits 0: any output is a
        # failure. --man=no: a minimal system has no man(1); units-man checks the pages.
        local o
        o=$(timeout 60 systemd-analyze verify --man=no $units 2>&1) || { echo "$o"; return 1; }
        echo "$o"
        [ -z "$o" ]
}
check units-verify "systemd-analyze verify --man=no prints nothing for each installed unit" verify_units
man_pages() { # each Documentation=man:NAME(SECTION) of the units is installed
        local u d p r=0
        for u in $units; do
                for d in $(systemctl show -P Documentation "${u##*/}"); do
                        case $d in man:*) ;; *) continue ;; esac
                        p=${d#man:}
                        p=${p%)}
                        if ls /usr/share/man/man"${p#*(}"/"${p%(*}".* >/dev/null 2>&1; then echo "${u##*/}: $d installed"
                        else echo "${u##*/}: $d not in /usr/share/man"; r=1; fi
                done
        done
        return $r
}
check units-man "the man pages the units name in Documentation= are installed" man_pages
timeout 60 systemd-analyze security --no-pager "$unit" >"$out/security.txt" 2>&1
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$out/security.txt")
info "systemd-analyze security $unit: $(grep -o 'Overall exposure level.*' "$out/security.txt" || echo 'no score')"
check security-score "systemd-analyze security rates $unit 2.0 or lower (score ${score:-none})" \
        awk -v s="${score:-99}" 'BEGIN { exit !(s + 0 <= 2.0) }'

# --- uptane-server serves an update -------------------------------------------------------------
phase server
mkdir -p "$srv"
token=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
repo init --repo img && repo director init --repo dir &&
        release "system test firmware 1"
check repo-release "uptane-repo made the Image repository and the Director, and assigned $image to $ecu" \
        test -s "$srv/img/metadata/root.json" -a -s "$srv/dir/metadata/root.json"
cp "$out/uptane-repo.log" "$out/repo-release.out" 2>/dev/null
cat >/etc/uptane-server.conf <<EOF
[server]
listen-address = 127.0.0.1
port = $port

[repositories]
image = $srv/img
director = $srv/dir

[inventory]
database = $srv/inventory.sqlite

[provisioning]
token = $token

[timeserver]
key = $srv/timeserver.key
EOF
chmod 0640 /etc/uptane-server.conf
health() { http_get /health | grep -q '"status": *"ok"'; }
server_how=
if systemctl cat uptane-server.service >/dev/null 2>&1; then
        # its own user, if any, must be able to write the time server key and database
        suser=$(systemctl show -P User uptane-server.service)
        if [ -n "$suser" ] && getent passwd "$suser" >/dev/null; then
                chown -R "$suser:" "$srv" && chgrp "$(id -gn "$suser")" /etc/uptane-server.conf
        fi
        if timeout 60 systemctl restart uptane-server.service >"$out/server-unit.out" 2>&1 && wait_for 15 health; then
                server_how="its unit uptane-server.service"
        else
                info "uptane-server.service did not serve (ActiveState=$(systemctl show -P ActiveState uptane-server.service)," \
                        "Result=$(systemctl show -P Result uptane-server.service)); starting it from the test instead"
                journalctl -b --no-pager -u uptane-server.service | tail -n 8 | sed 's/^/# /' |
                        while IFS= read -r l; do emit "$l"; done
                systemctl stop uptane-server.service >/dev/null 2>&1
        fi
else
        info "no uptane-server.service installed; starting the server from the test"
fi
if [ -z "$server_how" ]; then
        systemd-run --unit=uptane-systest-server --property=WorkingDirectory="$srv" \
                /usr/bin/uptane-server --config /etc/uptane-server.conf >"$out/server-run.out" 2>&1 &&
                wait_for 15 health && server_how="systemd-run (transient unit uptane-systest-server)"
fi
check server-health "uptane-server answers GET /health on 127.0.0.1:$port (started by ${server_how:-nothing})" health
wait_for 10 test -s "$srv/timeserver.key.pub.json"

# --- uptane-primaryd configured in /etc/uptane.conf, started by systemctl -----------------------
phase primary
install -d -m 0755 "$etc"
cp "$srv/dir/metadata/root.json" "$etc/director-root.json"
cp "$srv/img/metadata/root.json" "$etc/image-root.json"
cp "$srv/timeserver.key.pub.json" "$etc/timeserver.pub.json"
(umask 027 && printf '%s' "$token" >"$etc/token") && chgrp uptane "$etc/token"
chmod 0644 "$etc"/*.json
write_conf
cp /etc/uptane.conf "$out/uptane.conf.1"
systemctl reset-failed "$unit" 2>/dev/null
c_start=$(cursor)
check start "systemctl restart uptane-primaryd returns (Type=notify: after READY=1)" \
        timeout 90 systemctl restart "$unit"
systemctl show -p Type,ActiveState,SubState,MainPID,NRestarts,WatchdogUSec,StatusText "$unit" >"$out/show-start.txt"
check is-active "systemctl is-active uptane-primaryd says active" systemctl is-active "$unit"
check notify-ready "SubState=running with Type=notify (READY=1 received)" \
        grep -qx 'SubState=running' "$out/show-start.txt"
check journal-started "the journal has the daemon's \"started\" message ($id_started)" \
        test -n "$(unit_json "$c_start" $id_started)"
check installed "the update is installed: $target1 holds the image's content" \
        wait_for 120 file_is "$target1" "system test firmware 1"
journalctl -q --no-pager -b -u "$unit" -o json >"$out/journal-cycle.json" 2>&1
cycle_ids() {
        local id r=0
        for id in "check-started:$id_check" "update-available:$id_available" "download-done:$id_download" \
                "installed:$id_installed"; do
                if grep -q "\"MESSAGE_ID\":\"${id#*:}\"" "$out/journal-cycle.json"; then echo "found ${id%%:*} ${id#*:}"
                else echo "missing ${id%%:*} ${id#*:}"; r=1; fi
        done
        return $r
}
check journal-json-cycle "journalctl -u uptane-primaryd -o json has the MESSAGE_IDs of a whole cycle (check started, update available, download done, installed)" \
        cycle_ids
fields() {
        grep -F "\"MESSAGE_ID\":\"$id_installed\"" "$out/journal-cycle.json" >"$out/journal-installed.json"
        grep "\"UPTANE_ECU_SERIAL\":\"$ecu\"" "$out/journal-installed.json" | grep -q "\"UPTANE_TARGET\":\"$image\""
}
check journal-json-fields "the \"installed\" entry carries UPTANE_ECU_SERIAL=$ecu and UPTANE_TARGET=$image" fields
subject=$(awk -v id="-- $id_installed" '$0 == id { f = 1; next } f && /^Subject: / { sub(/^Subject: /, ""); print; exit }' \
        /usr/lib/systemd/catalog/*.catalog 2>/dev/null |
        sed "s/@UPTANE_TARGET@/$image/g; s/@UPTANE_ECU_SERIAL@/$ecu/g")
catalog() {
        [ -n "$subject" ] || { echo "no catalog entry for $id_installed in /usr/lib/systemd/catalog"; return 1; }
        journalctl -x --no-pager _SYSTEMD_UNIT="$unit" MESSAGE_ID=$id_installed >"$out/journal-x.txt" 2>&1
        grep -qF "Subject: $subject" "$out/journal-x.txt"
}
check journal-catalog "journalctl -x shows the catalog text of \"installed\" (\"${subject:-?}\")" catalog

# --- uptanectl over D-Bus -----------------------------------------------------------------------
phase uptanectl
check uptanectl-status "uptanectl status answers over the system bus and shows VIN $vin" \
        sh -c "timeout 20 uptanectl status | tee '$out/uptanectl-status.txt' | grep -q '$vin'"
info "uptanectl status: $(tr '\n' ';' <"$out/uptanectl-status.txt" 2>/dev/null | tr -s ' ')"
n=$(count_checks)
check uptanectl-check "uptanectl check answers (exit 0)" timeout 20 uptanectl check
check uptanectl-check-cycle "the cycle uptanectl check started shows in the journal (one more \"check started\")" \
        wait_for 60 more_checks "$n"

# --- editing the configuration changes what the daemon does -------------------------------------
phase config-edit
mkdir -p /etc/uptane.conf.d
cat >/etc/uptane.conf.d/50-systest.conf <<EOF
# system test: poll every 5 s, install into another file
[update]
poll-interval = 5s

[package-manager]
file-target-path = $target2
EOF
n=$(count_checks)
check restart-edited "systemctl restart with the drop-in /etc/uptane.conf.d/50-systest.conf" \
        timeout 90 systemctl restart "$unit"
wait_for 60 more_checks "$n"   # the first cycle after the start
wait_for 30 sh -c "timeout 10 uptanectl status | grep -qi 'state: *idle'"
release "system test firmware 2"
edited() {
        wait_for 90 file_is "$target2" "system test firmware 2" && file_is "$target1" "system test firmware 1"
}
check config-edit "after the edit, v2 (released after the restart, no uptanectl check) lands in $target2 by polling every 5 s; $target1 keeps v1" \
        edited
info "check-started messages in the 10 s after: $(n=$(count_checks); sleep 10; echo $(($(count_checks) - n))) (poll-interval 5 s)"

# --- a broken configuration: failed, clear message, no restart loop -----------------------------
phase broken-config
cp /etc/uptane.conf /run/uptane.conf.good
echo "systest-bogus-key = 1" >>/etc/uptane.conf
line=$(wc -l </etc/uptane.conf)
c_broken=$(cursor)
timeout 90 systemctl restart "$unit" >"$out/restart-broken.out" 2>&1
rc=$?
info "systemctl restart with an unknown key at /etc/uptane.conf:$line: exit $rc"
sleep 5   # Restart= would have run by now (RestartSec 100 ms)
systemctl show -p ActiveState,SubState,Result,ExecMainStatus,NRestarts "$unit" >"$out/show-broken.txt"
info "$(tr '\n' ' ' <"$out/show-broken.txt")"
check broken-failed "the unit is failed with exit status 78 (EX_CONFIG)" \
        sh -c "grep -qx ActiveState=failed '$out/show-broken.txt' && grep -qx ExecMainStatus=78 '$out/show-broken.txt'"
check broken-no-restart "no restart loop: NRestarts=0 after 5 s" grep -qx NRestarts=0 "$out/show-broken.txt"
unit_text "$c_broken" >"$out/journal-broken.txt" 2>&1
named() { grep -F "/etc/uptane.conf:$line" "$out/journal-broken.txt" | grep -qF systest-bogus-key; }
check broken-message "the journal names file:line:key (/etc/uptane.conf:$line, systest-bogus-key)" named
grep -F systest-bogus-key "$out/journal-broken.txt" | head -n 2 | sed 's/^/# journal: /' |
        while IFS= read -r l; do emit "$l"; done
cp /run/uptane.conf.good /etc/uptane.conf
systemctl reset-failed "$unit"
check broken-recovered "with the configuration repaired, systemctl restart makes it active again" \
        sh -c "timeout 90 systemctl restart $unit && systemctl is-active $unit"

# --- the watchdog restarts a daemon that stops answering ----------------------------------------
phase watchdog
mkdir -p /etc/systemd/system/$unit.d
printf '[Service]\nWatchdogSec=5s\n' >/etc/systemd/system/$unit.d/50-systest-watchdog.conf
systemctl daemon-reload
timeout 90 systemctl restart "$unit"
pid=$(prop MainPID)
info "WatchdogUSec=$(prop WatchdogUSec) MainPID=$pid NRestarts=$(prop NRestarts)"
c_wd=$(cursor)
sleep 7   # longer than WatchdogSec: a daemon that answers stays
check watchdog-fed "with WatchdogSec=5s the daemon keeps running for 7 s (it pings the watchdog)" \
        sh -c "[ \"\$(systemctl show -P MainPID $unit)\" = '$pid' ] && [ \"\$(systemctl show -P NRestarts $unit)\" = 0 ]"
kill -STOP "$pid"
restarted() {
        [ "$(prop NRestarts)" -ge 1 ] && [ "$(prop ActiveState)" = active ] && [ "$(prop SubState)" = running ] &&
                [ "$(prop MainPID)" != "$pid" ] && [ "$(prop MainPID)" != 0 ]
}
check watchdog-restart "after kill -STOP of the main PID the watchdog fires and systemd restarts it (NRestarts >= 1, active, new PID)" \
        wait_for 60 restarted
unit_text "$c_wd" >"$out/journal-watchdog.txt" 2>&1
check watchdog-journal "the journal says why: watchdog timeout, result 'watchdog'" \
        sh -c "grep -qi 'watchdog timeout' '$out/journal-watchdog.txt' && grep -q \"result 'watchdog'\" '$out/journal-watchdog.txt'"
info "after the watchdog: $(systemctl show -p NRestarts,MainPID,ActiveState,SubState "$unit" | tr '\n' ' ')"
check watchdog-answers "the restarted daemon answers uptanectl status" timeout 20 uptanectl status

finish
