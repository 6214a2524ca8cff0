#!/usr/bin/env bash
# The main job, on embedded defaults: builds everything, starts uptane-server
# (Image repository, Director and time server) on 127.0.0.1 and plays the
# Uptane reference demo's sections 2 and 3 with the Primary, uptane-primaryd:
# an update delivered, then the attacks 3.1 to 3.4, 3.6 and 3.7, each followed
# by one update cycle (uptane-primaryd --once, the reference demo's
# dp.update_cycle()). Everything lives in a temporary directory. Exits 0 only
# when every step ended as the reference demo says; otherwise names the steps
# that did not and exits 1.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh || exit 1
[ -f build/build.ninja ] || meson setup build >/dev/null || exit 1
ninja -C build >/dev/null || { ninja -C build; exit 1; }

repo_tool=$top/build/src/repo/uptane-repo
server=$top/build/src/server/uptane-server
primaryd=$top/build/src/primaryd/uptane-primaryd
vin=democar
ecu=INFOdemocar
hw=infotainment
image=firmware.img

work=$(mktemp -d /tmp/uptane-demo.XXXXXX) || exit 1
server_pid=
cleanup() {
        if [ -n "$server_pid" ]; then
                kill "$server_pid" 2>/dev/null
                wait "$server_pid" 2>/dev/null
        fi
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

# A new image "firmware.img" in the Image repository, assigned to the Primary.
release() { # release CONTENT
        printf '%s' "$1" >"$work/$image"
        say "firmware.img: \"$1\""
        repo add-target --repo img "$image" --hardware-id "$hw" &&
                repo publish --repo img &&
                repo director assign --repo dir --image-repo img "$vin" "$ecu" "$image"
}

installed_file=$work/primary/installed/$image
installed_sum() { sha256sum "$installed_file" 2>/dev/null | cut -d' ' -f1 || echo none; }
installed_text() { [ -f "$installed_file" ] && printf '"%s"' "$(head -c 200 "$installed_file")" || echo "(nothing)"; }

# The outcome of one cycle from the daemon's JSON log: whether an image was
# installed, the attack class, and the one line that explains the outcome.
summarize() {
        python3 - "$1" <<'EOF'
import json, sys
rank = ["attack-detected", "verification-failed", "install-failed", "temporary-failure", "installed", "up-to-date"]
installed, attack, best, raw = 0, "", None, []
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        if line.strip():
            raw.append(line.strip())
        continue
    ev = e.get("UPTANE_EVENT", "")
    if ev == "installed":
        installed = 1
    if ev == "attack-detected" and not attack:
        attack = e.get("UPTANE_ATTACK", "")
    if ev in rank and (best is None or rank.index(ev) < rank.index(best[0])):
        best = (ev, e.get("MESSAGE", ""))
reason = best[1] if best else (raw[0] if raw else "no outcome in the daemon's log")
print(installed)
print(attack)
print(" ".join(reason.split()))
EOF
}
messages() { # every entry of a cycle's log, for a step that differed
        python3 - "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
        print("    | %s: %s" % (e.get("UPTANE_EVENT", "-"), e.get("MESSAGE", "")))
    except ValueError:
        print("    | " + line.rstrip())
EOF
}

# cycle WANT CLASS CONTENT TEXT: one update cycle of the Primary, which must
# end as WANT (UPDATED, UP_TO_DATE, DEFENDED, REPLAY, or two joined with |);
# a DEFENDED needs the attack class CLASS (when given), an UPDATED the content
# CONTENT (when given). The installed image must not change otherwise.
cycle() {
        local want=$1 class=$2 content=$3 text=$4 log before after rc got problem=
        local installed attack reason color
        cycles=$((cycles + 1))
        log=$work/primaryd.$cycles.log
        before=$(installed_sum)
        printf '    $ uptane-primaryd --config uptane.conf --once\n'
        UPTANE_LOG_TARGET=json timeout 60 "$primaryd" --config "$work/uptane.conf" --once >/dev/null 2>"$log"
        rc=$?
        after=$(installed_sum)
        { read -r installed; read -r attack; read -r reason; } < <(summarize "$log")
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
        elif [ "$got" != UPDATED ] && [ "$before" != "$after" ]; then
                problem="the installed image changed although nothing was installed"
        elif [ "$got" = UPDATED ] && [ -n "$content" ] && [ "$(cat "$installed_file" 2>/dev/null)" != "$content" ]; then
                problem="installed $(installed_text), expected \"$content\""
        fi

        if [ -z "$problem" ]; then
                case $got in
                UPDATED | UP_TO_DATE) color=$green ;;
                *) color=$yellow ;;
                esac
                printf '%s== %-10s%s %s\n' "$color" "${got//_/ }" "$off" "$text"
        else
                printf '%s== %-10s%s %s: %s\n' "$red" FAILED "$off" "$step_id" "$problem"
                failures+=("$step_id: $problem")
        fi
        if [ -n "$attack" ] && [[ "$reason" != *"$attack"* ]]; then reason="$reason (attack: $attack)"; fi
        say "daemon: $reason"
        case $got in
        UPDATED) say "installed $image: $(installed_text)" ;;
        *) if [ "$before" = "$after" ]; then
                   say "installed $image unchanged: $(installed_text)"
           else
                   say "installed $image CHANGED: $(installed_text)"
           fi ;;
        esac
        [ -z "$problem" ] || messages "$log"
}

# --- 1: the services and the Primary ---------------------------------------------------------

step 1 "Starting the demo: Image repository, Director and time server (uptane-server), and the Primary"
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
say "Primary: VIN $vin, ECU $ecu, hardware id $hw; installs into $installed_file"
cycle UP_TO_DATE "" "" "the Primary registered vehicle $vin with the Director; nothing assigned yet"

# --- 2: delivering an update -------------------------------------------------------------------

step 2 "Delivering an update: firmware.img added to the Image repository and assigned to $ecu"
release "Fresh firmware image"
cycle UPDATED "" "Fresh firmware image" "the Primary verified both repositories, downloaded and installed $image"

# --- 3: blocking attacks ------------------------------------------------------------------------
# The Director ends an assignment once the vehicle reports the image
# installed, so the attacks on an image (3.1, 3.2) each aim at a new release.

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
repo attack director-keyed-target --repo dir --vin "$vin" --ecu "$ecu" --hardware-id "$hw" "$image"
say "the Director, with its own keys, assigns $ecu an evil firmware.img (\"evil content\")"
cycle DEFENDED arbitrary-software "" "the Primary refused: the Director's image does not match the Image repository's"

step 3.6 "Recovering from a major key compromise (recover)"
repo attack recover --repo dir --image-repo img
say "the root keys replaced the online keys of both repositories and republished clean metadata"
cycle "UPDATED|UP_TO_DATE" "" "Fresh firmware image, release 3" "the Primary followed the new keys; its image is the genuine one"

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
echo "The Secondary's parts of the reference demo (3.5 and the Secondary window) come in a later issue."
[ ${#failures[@]} -eq 0 ]
