#!/usr/bin/env bash
# The main job, on embedded defaults: builds everything, starts uptane-server
# (Image repository, Director and time server) and two Secondaries,
# uptane-secondaryd over DoIP (TCUdemocar, full verification, and
# BCMdemocar, partial verification), on 127.0.0.1, and plays the Uptane
# reference demo's sections 2 and 3 with the Primary, uptane-primaryd: an
# update delivered to the Primary and the Secondaries, then the attacks 3.1
# to 3.7, each followed by one update cycle (uptane-primaryd --once, the
# reference demo's dp.update_cycle(); the Primary updates its Secondaries in
# the same cycle, the seed's ds.update_cycle()). Everything lives in a
# temporary directory. Exits 0 only when every step ended as the reference
# demo says (3.5: the full-verification Secondary compromised); otherwise
# names the steps that did not and exits 1.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh || exit 1
[ -f build/build.ninja ] || meson setup build >/dev/null || exit 1
ninja -C build >/dev/null || { ninja -C build; exit 1; }

repo_tool=$top/build/src/repo/uptane-repo
server=$top/build/src/server/uptane-server
primaryd=$top/build/src/primaryd/uptane-primaryd
secondaryd=$top/build/src/secondaryd/uptane-secondaryd
uds_tester=$top/build/tests/tools/uds-tester
vin=democar
ecu=INFOdemocar
hw=infotainment
image=firmware.img

# The Secondaries: NAME -> serial, hardware id, verification, DoIP logical address.
secondaries=(tcu bcm)
declare -A sec_serial=([tcu]=TCUdemocar [bcm]=BCMdemocar)
declare -A sec_hw=([tcu]=telematics [bcm]=body-control)
declare -A sec_verification=([tcu]=full [bcm]=partial)
declare -A sec_address=([tcu]=0x1001 [bcm]=0x1002)
declare -A sec_pid=() sec_port=() sec_want=() sec_content=()

work=$(mktemp -d /tmp/uptane-demo.XXXXXX) || exit 1
server_pid=
cleanup() {
        local pid
        for pid in "${sec_pid[@]}" $server_pid; do
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start=$SECONDS

if [ -t 1 ]; then
        bold=$'\033[1m' red=$'\033[1;31m' green=$'\033[1;32m' yellow=$'\033[1;33m' off=$'\033[0m'
else
        bold= red= green= yellow= off=
fi

failures=()   # "step: what differed"
cycles=0
step_id=
staging_ok=1

step() { # step ID TITLE: a section of the reference demo
        step_id=$1
        staging_ok=1
        printf '\n%s--- %s: %s%s\n' "$bold" "$1" "$2" "$off"
}
say() { printf '    %s\n' "$*"; }

# Shows and runs one uptane-repo command in the work directory; a failure
# fails the step.
repo() {
        printf '    $ uptane-repo %s\n' "$*"
        if ! (cd "$work" && "$repo_tool" "$@") >"$work/repo.out" 2>&1; then
                sed 's/^/    ! /' "$work/repo.out"
                staging_ok=0
                return 1
        fi
}

# A new image "firmware.img" in the Image repository (for the Primary's and
# the Secondaries' hardware), assigned to the Primary (and the Secondaries
# named).
release() { # release CONTENT [SECONDARY...]
        local content=$1 s
        shift
        printf '%s' "$content" >"$work/$image"
        say "firmware.img: \"$content\""
        repo add-target --repo img "$image" --hardware-id "$hw" --hardware-id "${sec_hw[tcu]}" \
                --hardware-id "${sec_hw[bcm]}" &&
                repo publish --repo img &&
                repo director assign --repo dir --image-repo img --hardware-id "$hw" "$vin" "$ecu" "$image" || return 1
        for s in "$@"; do
                repo director assign --repo dir --image-repo img --hardware-id "${sec_hw[$s]}" \
                        "$vin" "${sec_serial[$s]}" "$image" || return 1
        done
}

installed_file=$work/primary/installed/$image
installed_sum() { sha256sum "$installed_file" 2>/dev/null | cut -d' ' -f1 || echo none; }
installed_text() { [ -f "$installed_file" ] && printf '"%s"' "$(head -c 200 "$installed_file")" || echo "(nothing)"; }

# A Secondary's active slot: its letter, and the file (from its state.json).
slot_letter() { # slot_letter NAME
        python3 -c 'import json,sys
try:
    print("b" if json.load(open(sys.argv[1])).get("active_slot") == 1 else "a")
except Exception:
    print("a")' "$work/$1/state/state.json"
}
slot_file() { printf '%s/%s/slot-%s' "$work" "$1" "$(slot_letter "$1")"; }
slot_sum() { # the active slot and the hash of its content
        local f
        f=$(slot_file "$1")
        printf '%s %s\n' "${f##*-}" "$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1 || echo none)"
}
slot_text() {
        local f
        f=$(slot_file "$1")
        [ -s "$f" ] && printf 'slot %s: "%s"' "${f##*-}" "$(head -c 200 "$f")" || echo "(nothing installed)"
}

# What the next cycle must do to Secondary NAME: UPDATED or COMPROMISED
# (installs CONTENT in its inactive slot and switches); the default, its
# active slot and content unchanged.
expect() { # expect NAME UPDATED|COMPROMISED CONTENT
        sec_want[$1]=$2
        sec_content[$1]=$3
}

# The outcome of one cycle from the daemon's JSON log: whether an image was
# installed, the attack class, the one line that explains the outcome, then
# for each Secondary serial given the event that decides its outcome and its
# message ("none" when the log has nothing about it).
summarize() { # summarize LOG SERIAL...
        python3 - "$@" <<'PY'
import json, sys
rank = ["attack-detected", "verification-failed", "install-failed", "temporary-failure", "installed", "up-to-date"]
installed, attack, best, raw, ecus = 0, "", None, [], {}
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        if line.strip():
            raw.append(line.strip())
        continue
    ev = e.get("UPTANE_EVENT", "")
    # a Secondary's own events count as the Primary's outcome classes
    ev = {"secondary-installed": "installed", "secondary-install-failed": "install-failed",
          "secondary-unreachable": "temporary-failure", "secondary-misbehaving": "temporary-failure",
          "secondary-refused": "temporary-failure"}.get(ev, ev)
    if ev == "installed":
        installed = 1
    if ev == "attack-detected" and not attack:
        attack = e.get("UPTANE_ATTACK", "")
    if ev in rank and (best is None or rank.index(ev) < rank.index(best[0])):
        best = (ev, e.get("MESSAGE", ""))
    serial = e.get("UPTANE_ECU_SERIAL", "")
    if ev in rank and serial in sys.argv[2:]:
        old = ecus.get(serial)
        if old is None or rank.index(ev) < rank.index(old[0]):
            ecus[serial] = (ev, e.get("MESSAGE", ""))
reason = best[1] if best else (raw[0] if raw else "no outcome in the daemon's log")
print(installed)
print(attack)
print(" ".join(reason.split()))
for serial in sys.argv[2:]:
    ev, msg = ecus.get(serial, ("none", ""))
    print("%s %s" % (ev, " ".join(msg.split())))
PY
}
messages() { # every entry of a cycle's log, for a step that differed
        python3 - "$1" <<'PY'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
        print("    | %s: %s" % (e.get("UPTANE_EVENT", "-"), e.get("MESSAGE", "")))
    except ValueError:
        print("    | " + line.rstrip())
PY
}

banner() { # banner COLOR WORD TEXT
        printf '%s== %-10s%s %s\n' "$1" "${2//_/ }" "$off" "$3"
}

# cycle WANT CLASS CONTENT TEXT: one update cycle of the Primary, which must
# end as WANT (UPDATED, UP_TO_DATE, DEFENDED, REPLAY, or two joined with |);
# a DEFENDED needs the attack class CLASS (when given). The Primary's
# installed image must hold CONTENT afterwards (when given), and must not
# change otherwise. Each Secondary must end as expect() said before (default:
# its slot unchanged).
cycle() {
        local want=$1 class=$2 content=$3 text=$4 log before after rc got problem=
        local installed attack reason color s serial sev smsg sbefore safter swant scontent sproblem
        local -A sec_before=() sec_lines=()
        local unchanged=() serials=()
        cycles=$((cycles + 1))
        log=$work/primaryd.$cycles.log
        before=$(installed_sum)
        for s in "${secondaries[@]}"; do
                serials+=("${sec_serial[$s]}")
                sec_before[$s]=$(slot_sum "$s")
                sec_lines[$s]=$(wc -l <"$work/$s/log")
        done
        printf '    $ uptane-primaryd --config uptane.conf --once\n'
        UPTANE_LOG_TARGET=json timeout 60 "$primaryd" --config "$work/uptane.conf" --once >/dev/null 2>"$log"
        rc=$?
        after=$(installed_sum)
        {
                read -r installed
                read -r attack
                read -r reason
                for s in "${secondaries[@]}"; do
                        read -r sev smsg
                        sec_lines[$s.ev]=$sev
                        sec_lines[$s.msg]=$smsg
                done
        } < <(summarize "$log" "${serials[@]}")
        case $rc in
        0) if [ "$installed" = 1 ]; then got=UPDATED; else got=UP_TO_DATE; fi ;;
        65) if [ "$attack" = rollback ]; then got=REPLAY; else got=DEFENDED; fi ;;
        75) got=TEMPORARY_FAILURE ;;
        124) got=TIMED_OUT ;;
        *) got=EXIT_$rc ;;
        esac

        if [ "$staging_ok" != 1 ]; then
                problem="staging the step failed (uptane-repo above)"
        elif [[ "|$want|" != *"|$got|"* ]]; then
                problem="expected ${want//|/ or }${class:+ ($class)}, the Primary ended with $got (exit $rc)"
        elif [ -n "$class" ] && [ "$got" = DEFENDED ] && [ "$attack" != "$class" ]; then
                problem="expected the attack class $class, the daemon logged ${attack:-none}"
        elif [ -z "$content" ] && [ "$before" != "$after" ]; then
                problem="the Primary's installed image changed although it was to keep it"
        elif [ -n "$content" ] && [ "$(cat "$installed_file" 2>/dev/null)" != "$content" ]; then
                problem="the Primary's image is $(installed_text), expected \"$content\""
        fi

        if [ -z "$problem" ]; then
                case $got in
                UPDATED | UP_TO_DATE) color=$green ;;
                *) color=$yellow ;;
                esac
                banner "$color" "$got" "$text"
        else
                banner "$red" FAILED "$step_id: $problem"
                failures+=("$step_id: $problem")
        fi
        if [ -n "$attack" ] && [[ "$reason" != *"$attack"* ]]; then reason="$reason (attack: $attack)"; fi
        say "daemon: $reason"
        if [ "$before" = "$after" ]; then
                say "the Primary's $image unchanged: $(installed_text)"
        else
                say "the Primary's $image installed: $(installed_text)"
        fi

        # The Secondaries.
        for s in "${secondaries[@]}"; do
                serial=${sec_serial[$s]}
                swant=${sec_want[$s]:-UNCHANGED}
                scontent=${sec_content[$s]:-}
                sbefore=${sec_before[$s]}
                safter=$(slot_sum "$s")
                sev=${sec_lines[$s.ev]}
                smsg=${sec_lines[$s.msg]}
                sproblem=
                case $swant in
                UNCHANGED)
                        if [ "$sbefore" != "$safter" ]; then
                                sproblem="its slot changed although it was to keep it: $(slot_text "$s")"
                        elif [ "$sev" = installed ]; then
                                sproblem="the Primary logged an install for it: $smsg"
                        fi ;;
                *)
                        if [ "$sev" != installed ]; then
                                sproblem="expected $swant, the Primary logged ${sev/none/nothing} for it${smsg:+: $smsg}"
                        elif [ "$sbefore" = "$safter" ]; then
                                sproblem="the Primary logged an install, but its active slot did not change"
                        elif [ "$(cat "$(slot_file "$s")" 2>/dev/null)" != "$scontent" ]; then
                                sproblem="installed $(slot_text "$s"), expected \"$scontent\""
                        fi ;;
                esac
                if [ -n "$sproblem" ]; then
                        banner "$red" FAILED "$step_id: Secondary $serial (${sec_verification[$s]} verification): $sproblem"
                        failures+=("$step_id: Secondary $serial: $sproblem")
                        problem=1
                        say "uptane-secondaryd $serial's log in this cycle:"
                        tail -n +"$((sec_lines[$s] + 1))" "$work/$s/log" | tail -n 15 | sed 's/^/    | /'
                        continue
                fi
                case $swant in
                UNCHANGED) unchanged+=("$serial $(slot_text "$s")") ;;
                UPDATED)
                        banner "$green" UPDATED "Secondary $serial (${sec_verification[$s]} verification) installed $image"
                        say "$serial: $(slot_text "$s")" ;;
                COMPROMISED)
                        banner "$red" COMPROMISED "Secondary $serial (${sec_verification[$s]} verification): A malicious update has been installed! Arbitrary package attack successful: this Secondary has been compromised! Image: '$image'"
                        say "$serial: $(slot_text "$s") (the expected outcome: both repositories vouched for it)" ;;
                esac
        done
        if [ ${#unchanged[@]} -gt 0 ]; then
                say "Secondaries unchanged: $(printf '%s; ' "${unchanged[@]}" | sed 's/; $//')"
        fi
        sec_want=()
        sec_content=()
        [ -z "$problem" ] || messages "$log"
}

# --- 1: the services and the Primary ---------------------------------------------------------

step 1 "Starting the demo: Image repository, Director and time server (uptane-server), two Secondaries (uptane-secondaryd) and the Primary"
repo init --repo img || exit 1
repo director init --repo dir || exit 1
: >"$work/server.conf"   # no /etc/uptane-server.conf: everything on the command line
(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$work/token")
(cd "$work" && exec "$server" --config "$work/server.conf" --listen-address 127.0.0.1 --port 0 \
        --image "$work/img" --director "$work/dir" --database "$work/inventory.sqlite" \
        --provisioning-token-file "$work/token" --timeserver-key "$work/timeserver.key") \
        >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
        port=$(sed -n 's/^listening on 127\.0\.0\.1 port \([0-9]*\)$/\1/p' "$work/server.out")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
done
if [ -z "$port" ]; then
        echo "demo: uptane-server did not start:" >&2
        cat "$work/server.out" "$work/server.log" >&2
        exit 1
fi
say "uptane-server on http://127.0.0.1:$port (/image, /director, /timeserver); work directory $work"

# The Secondaries: each uptane-secondaryd with its own configuration, state
# and slots, on a free port; its key, made on its first start, is read over
# UDS (ReadDataByIdentifier F1A0) into the TUF key file the Primary checks it with.
for s in "${secondaries[@]}"; do
        mkdir -p "$work/$s"
        {
                printf '[ecu]\nserial = %s\nhardware-id = %s\nvin = %s\nverification = %s\n' \
                        "${sec_serial[$s]}" "${sec_hw[$s]}" "$vin" "${sec_verification[$s]}"
                printf '[director]\nroot = %s\n' "$work/dir/metadata/root.json"
                [ "${sec_verification[$s]}" = full ] &&
                        printf '[image-repository]\nroot = %s\n' "$work/img/metadata/root.json"
                printf '[time-server]\npublic-key = %s\n' "$work/timeserver.key.pub.json"
                printf '[doip]\nlisten-address = 127.0.0.1\nport = 0\nlogical-address = %s\n' "${sec_address[$s]}"
                printf '[storage]\nstate-directory = %s\nslot-a = %s\nslot-b = %s\n' \
                        "$work/$s/state" "$work/$s/slot-a" "$work/$s/slot-b"
        } >"$work/$s/secondary.conf"
        UPTANE_LOG_TARGET=stderr "$secondaryd" --config "$work/$s/secondary.conf" >/dev/null 2>"$work/$s/log" &
        sec_pid[$s]=$!
done
for s in "${secondaries[@]}"; do
        for _ in $(seq 100); do
                sec_port[$s]=$(sed -n 's/.*listening on 127\.0\.0\.1 TCP port \([0-9]*\).*/\1/p' "$work/$s/log")
                [ -n "${sec_port[$s]}" ] && break
                kill -0 "${sec_pid[$s]}" 2>/dev/null || break
                sleep 0.1
        done
        if [ -z "${sec_port[$s]}" ]; then
                banner "$red" FAILED "1: uptane-secondaryd ${sec_serial[$s]} (DoIP 127.0.0.1, logical address ${sec_address[$s]}) did not start:"
                sed 's/^/    | /' "$work/$s/log"
                printf '\n%sdemo: step 1 did not end as the reference demo says: no Secondary %s%s\n' \
                        "$red" "${sec_serial[$s]}" "$off"
                exit 1
        fi
        key=$("$uds_tester" 127.0.0.1 "${sec_port[$s]}" "${sec_address[$s]}" 22F1A0 2>&1)
        if [[ "$key" != 62F1A0* ]] ||
                ! printf '%s' "${key#62F1A0}" | python3 -c 'import sys, json
key = json.loads(bytes.fromhex(sys.stdin.read().strip()))
json.dump(key, open(sys.argv[1], "w"))' "$work/$s/public-key.json"; then
                banner "$red" FAILED "1: cannot read the key of uptane-secondaryd ${sec_serial[$s]} (DID F1A0): $key"
                exit 1
        fi
        say "uptane-secondaryd ${sec_serial[$s]} (${sec_verification[$s]} verification, hardware id ${sec_hw[$s]}):" \
                "DoIP 127.0.0.1 port ${sec_port[$s]}, logical address ${sec_address[$s]}; key read with F1A0"
done

mkdir -p "$work/primary/installed"
cat >"$work/uptane.conf" <<EOF
[vehicle]
vin = $vin
ecu-serial = $ecu
hardware-id = $hw

[director]
url = http://127.0.0.1:$port/director
root = $work/dir/metadata/root.json
provisioning-token-file = $work/token

[image-repository]
url = http://127.0.0.1:$port/image
root = $work/img/metadata/root.json

[time-server]
url = http://127.0.0.1:$port/timeserver
public-key = $work/timeserver.key.pub.json

[storage]
state-directory = $work/primary/state
cache-directory = $work/primary/cache

[package-manager]
type = file
file-target-path = $installed_file

[control]
bus = none
EOF
for s in "${secondaries[@]}"; do
        cat >>"$work/uptane.conf" <<EOF

[secondary.$s]
serial = ${sec_serial[$s]}
hardware-id = ${sec_hw[$s]}
public-key = $work/$s/public-key.json
verification = ${sec_verification[$s]}
transport = doip
address = 127.0.0.1
port = ${sec_port[$s]}
logical-address = ${sec_address[$s]}
EOF
done
say "Primary: VIN $vin, ECU $ecu, hardware id $hw; installs into $installed_file;" \
        "Secondaries ${sec_serial[tcu]} and ${sec_serial[bcm]} over DoIP"
cycle UP_TO_DATE "" "" "the Primary registered vehicle $vin and its three ECUs with the Director; nothing assigned yet"

# --- 2: delivering an update -------------------------------------------------------------------

step 2 "Delivering an update: firmware.img added to the Image repository and assigned to $ecu, ${sec_serial[tcu]} and ${sec_serial[bcm]}"
release "Fresh firmware image" tcu bcm
expect tcu UPDATED "Fresh firmware image"
expect bcm UPDATED "Fresh firmware image"
cycle UPDATED "" "Fresh firmware image" "the Primary verified both repositories, downloaded and installed $image, then sent it to its Secondaries"
step "2 reported" "the Secondaries' new version reports reach the Director (the seed's ds.update_cycle() sending its manifest)"
cycle UP_TO_DATE "" "" "the Director saw every ECU run its image and ended the assignments"

# --- 3: blocking attacks ------------------------------------------------------------------------
# The Director ends an assignment once the vehicle reports the image
# installed, so the attacks on an image (3.1, 3.2) each aim at a new release
# for the Primary; the Secondaries keep theirs until 3.4.

step 3.1 "Arbitrary package attack on the Director without keys (director-mitm-image)"
release "Fresh firmware image, release 2"
repo attack director-mitm-image --repo dir --image-repo img --vin "$vin" "$image"
say "a man in the middle swaps the Director's copies of the image and hides the Image repository's; no key"
cycle DEFENDED arbitrary-software "" "the Primary refused the image: it does not match the signed metadata"
step "3.1 undone" "the Director restored: the update goes through"
repo attack undo director-mitm-image --repo dir
cycle UPDATED "" "Fresh firmware image, release 2" "the Primary installed $image release 2"

step 3.2 "Arbitrary package attack on the Image repository without keys (image-mitm-image)"
release "Fresh firmware image, release 3"
repo attack image-mitm-image --repo img --director dir "$image"
say "a bad mirror swaps the Image repository's copies of the image and hides the Director's; no key"
cycle DEFENDED arbitrary-software "" "the Primary refused the image: its hash does not match the metadata"
step "3.2 undone" "the Image repository restored: the update goes through"
repo attack undo image-mitm-image --repo img
cycle UPDATED "" "Fresh firmware image, release 3" "the Primary installed $image release 3"

step 3.3 "Replay attack without keys (save-timestamp, replay-timestamp)"
repo attack save-timestamp --repo dir --vin "$vin"
repo publish --repo dir
say "the Director published a new version; the saved timestamp is now old"
cycle UP_TO_DATE "" "" "the Primary fetched the Director's new metadata"
step "3.3 replay" "the old timestamp is served again"
repo attack replay-timestamp --repo dir --vin "$vin"
cycle REPLAY rollback "" "the Primary refused the replayed timestamp (rollback)"
step "3.3 restored" "the latest timestamp is served again"
repo attack undo replay-timestamp --repo dir
cycle UP_TO_DATE "" "" "the Primary trusts the restored timestamp"

step 3.4 "Arbitrary package attack with a compromised Director key (director-keyed-target)"
repo attack director-keyed-target --repo dir --vin "$vin" --ecu "${sec_serial[tcu]}" --hardware-id "${sec_hw[tcu]}" "$image"
say "the Director, with its own keys, assigns ${sec_serial[tcu]} an evil firmware.img (\"evil content\")"
cycle DEFENDED arbitrary-software "" "the Primary refused: the Director's image does not match the Image repository's"

step 3.5 "Arbitrary package attack with both repositories compromised (keyed-target-both)"
repo attack keyed-target-both --repo dir --image-repo img --vin "$vin" --ecu "${sec_serial[tcu]}" "$image"
say "with 3.4 in place, the Image repository's keys sign the evil firmware.img too: both repositories vouch for it"
expect tcu COMPROMISED "evil content"
cycle UPDATED "" "Fresh firmware image, release 3" "the Primary accepted the image both repositories sign and sent it to ${sec_serial[tcu]}"

step 3.6 "Recovering from a major key compromise (recover)"
repo attack recover --repo dir --image-repo img
say "the root keys replaced the online keys of both repositories and republished clean metadata"
repo director assign --repo dir --image-repo img --hardware-id "${sec_hw[tcu]}" "$vin" "${sec_serial[tcu]}" "$image"
say "the genuine firmware.img (release 3) assigned to ${sec_serial[tcu]} again"
expect tcu UPDATED "Fresh firmware image, release 3"
cycle UPDATED "" "Fresh firmware image, release 3" "the Primary followed the new keys; ${sec_serial[tcu]} has the genuine image again"
step "3.6 reported" "${sec_serial[tcu]}'s new version report reaches the Director"
cycle UP_TO_DATE "" "" "the Director ended ${sec_serial[tcu]}'s assignment"

step 3.7 "Arbitrary package attack with revoked keys (revoked-keys)"
repo attack revoked-keys --repo dir --vin "$vin"
say "new Director metadata signed with the keys revoked in 3.6"
cycle DEFENDED arbitrary-software "" "the Primary refused metadata signed with revoked keys"
step "3.7 undone" "the trusted metadata is served again"
repo attack undo revoked-keys --repo dir
cycle UP_TO_DATE "" "" "the Primary kept nothing signed by the revoked keys"

# --- The end -----------------------------------------------------------------------------------

echo
if [ ${#failures[@]} -eq 0 ]; then
        printf '%sdemo: every step ended as the reference demo says%s (%d update cycles, %ds)\n' \
                "$green" "$off" "$cycles" $((SECONDS - start))
else
        printf '%sdemo: %d step(s) did not end as the reference demo says:%s\n' "$red" ${#failures[@]} "$off"
        printf '  - %s\n' "${failures[@]}"
fi
[ ${#failures[@]} -eq 0 ]
