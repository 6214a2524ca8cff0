#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Integration test of uptane-server: repositories made with uptane-repo,
# the server on 127.0.0.1 (port 0), requests with curl, ECU keys and signed
# manifests with up-test-vehicle, the inventory read with the sqlite3 CLI.
#
#   tests/integration/server.sh      (UPTANE_BUILD_DIR, default <repo>/build)
#
# Prints "ok - ..." / "not ok - ..." lines and last "server: N passed, N failed";
# exits non-zero on any failure (77: a required tool is missing). KEEP_WORK=1
# keeps the work directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
use_build "${UPTANE_BUILD_DIR:-$repo_root/build}"

test_init server
require_bins "$server" "$uprepo" "$vehicle"
require_tools curl sqlite3

work_init uptane-server-test
# on a failure, the server's reply
fail_details() {
        if [ -s "$work/body" ]; then
                printf '    reply: '
                head -c 300 "$work/body" | tr '\n' ' '
                echo
        fi
}

img=$work/image
dir=$work/director
db=$work/inventory.sqlite
keys=$work/keys
vin=TESTVIN0000000001
vin2=TESTVIN0000000002
token=fleet-token-$$-test
echo "$token" >"$work/token"
: >"$work/server.conf" # an explicit (empty) config: never /etc/uptane-server.conf

# --- Requests -----------------------------------------------------------------

base=
code=
# req METHOD PATH [CURL ARGS...]: status in $code, body in $work/body
req() {
        method=$1
        path=$2
        shift 2
        : >"$work/body"
        code=$(curl -s --path-as-is --max-time 60 -o "$work/body" -w '%{http_code}' -X "$method" "$@" \
                "$base$path" 2>"$work/curl.err") || code=000
}
# expect NAME STATUS: $code is STATUS
expect() {
        if [ "$code" = "$2" ]; then ok "$1"; else fail "$1 (HTTP $code, want $2)"; fi
}
# expect_4xx NAME: $code is a client error
expect_4xx() {
        case $code in
        4??) ok "$1 ($code)" ;;
        *) fail "$1 (HTTP $code, want 4xx)" ;;
        esac
}
# json FILE PATH: the value at PATH ("$.a.b") of the JSON in FILE (sqlite's JSON functions)
json() {
        sqlite3 :memory: "SELECT json_extract(CAST(readfile('$1') AS TEXT), '$2');" 2>/dev/null
}
# sql QUERY: runs QUERY on the inventory (the server may be running: WAL)
sql() {
        sqlite3 -cmd '.timeout 10000' "$db" "$1" 2>>"$work/sqlite.err"
}
# register FILE: POST FILE as a registration with the provisioning token
register() {
        req POST /director/ecus -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
                --data-binary "@$1"
}
# put_manifest FILE VIN: PUT FILE as VIN's manifest
put_manifest() {
        req PUT "/director/$2/manifest" -H 'Content-Type: application/json' --data-binary "@$1"
}
# manifest NAME FILE ARGS...: up-test-vehicle manifest ARGS > FILE
manifest() {
        name=$1
        out=$2
        shift 2
        if ! "$vehicle" manifest "$@" >"$out" 2>"$work/vehicle.err"; then
                echo "    up-test-vehicle manifest failed for '$name':"
                sed 's/^/    /' "$work/vehicle.err"
                return 1
        fi
}

# --- The server ---------------------------------------------------------------

# start_server: on $img, $dir, $db; sets server_pid, port, base
start_server() {
        if ! start_uptane_server "$img" "$dir" "$db" --timeserver-key "$work/time.key"; then
                echo "server: uptane-server did not start:" >&2
                sed 's/^/    /' "$work/server.log" >&2
                return 1
        fi
}

# stop_server SIGNAL: sends SIGNAL and waits (10 s at most, then SIGKILL); exit status in $rc
stop_server() {
        stop_pid "$server_pid" "$1" 10
        server_pid=
}

# --- Repositories and keys ----------------------------------------------------

setup() {
        head -c 3000 /dev/urandom >"$work/fw-1.0.bin" &&
                head -c 5000 /dev/urandom >"$work/fw-2.0.bin" &&
                make_repos "$img" "$dir" hw-sec "$work/fw-1.0.bin" "$work/fw-2.0.bin" &&
                "$vehicle" keygen "$keys" pri sec ghost &&
                "$vehicle" registration "$keys" "$vin" pri pri:hw-pri sec:hw-sec >"$work/reg.json" &&
                # another key for sec, with the Primary's own key (a forged report)
                "$vehicle" keygen "$work/other" sec &&
                cp "$keys/pri.key" "$keys/pri.pub.json" "$work/other/" &&
                "$vehicle" registration "$work/other" "$vin" pri pri:hw-pri sec:hw-sec >"$work/reg-other.json" &&
                # a second vehicle trying to take over sec (same key)
                "$vehicle" keygen "$work/v2" pri2 &&
                cp "$keys/sec.key" "$keys/sec.pub.json" "$work/v2/" &&
                "$vehicle" registration "$work/v2" "$vin2" pri2 pri2:hw-pri sec:hw-sec >"$work/reg-v2.json" &&
                # files the server must never serve
                echo "hidden" >"$img/metadata/.hidden" &&
                ln -s /etc/passwd "$img/metadata/link.json"
}
if ! setup >"$work/setup.log" 2>&1; then
        sed 's/^/    /' "$work/setup.log"
        fail "setup: repositories and keys"
        summary
        exit 1
fi
sha1=$(sha256sum "$work/fw-1.0.bin" | cut -d' ' -f1)
len1=$(wc -c <"$work/fw-1.0.bin" | tr -d ' ')
old=$(printf 'old image' | sha256sum | cut -d' ' -f1)

if ! start_server; then
        fail "uptane-server starts"
        summary
        exit 1
fi
ok "uptane-server listens on 127.0.0.1 port $port"

# --- Health and the Image repository ------------------------------------------

req GET /health
expect "GET /health" 200
check "health reply says ok" grep -q '"ok"' "$work/body"

for f in root.json 1.root.json timestamp.json snapshot.json targets.json; do
        req GET "/image/metadata/$f"
        if [ "$code" = 200 ] && cmp -s "$work/body" "$img/metadata/$f"; then
                ok "GET /image/metadata/$f serves the file"
        else
                fail "GET /image/metadata/$f (HTTP $code)"
        fi
done
req GET /image/targets/fw-1.0.bin
if [ "$code" = 200 ] && cmp -s "$work/body" "$work/fw-1.0.bin"; then
        ok "GET /image/targets/fw-1.0.bin serves the image"
else
        fail "GET /image/targets/fw-1.0.bin (HTTP $code)"
fi
req GET "/image/targets/$sha1.fw-1.0.bin"
if [ "$code" = 200 ] && cmp -s "$work/body" "$work/fw-1.0.bin"; then
        ok "GET /image/targets/SHA256.fw-1.0.bin serves the image"
else
        fail "GET /image/targets/SHA256.fw-1.0.bin (HTTP $code)"
fi

for p in /image/metadata/missing.json /image/targets/missing.bin /image/metadata/9.root.json /image/other/x \
        /missing /director/UNKNOWNVIN/metadata/targets.json; do
        req GET "$p"
        expect "GET $p is 404" 404
done
req PUT /image/metadata/root.json --data-binary x
expect "PUT /image/metadata/root.json is 405" 405

req HEAD /image/metadata/timestamp.json --head
expect "HEAD /image/metadata/timestamp.json is 200" 200
req DELETE /health
expect "DELETE /health is 405" 405
req GET "/image/metadata/root.json%00.x"
expect "GET root.json%00.x does not serve root.json (404)" 404
# Refused before a byte of the body is read: nobody makes the server buffer it.
head -c 17000000 /dev/zero >"$work/big.bin"
up=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -X POST --data-binary "@$work/big.bin" \
        "$base/director/ecus")
check "an unauthenticated 17 MB registration is 401 with no body read" test "$up" = "401 0"
up=$(curl -s -o /dev/null -w '%{http_code} %{size_upload}' -X POST --data-binary "@$work/big.bin" "$base/nothing")
check "a 17 MB POST to an unknown path is 404 with no body read" test "$up" = "404 0"
rm -f "$work/big.bin"

# Each of these must be refused (4xx) whatever the encoding.
for p in \
        /image/metadata/../config.json \
        /image/metadata/../keys/roles.json \
        /image/targets/../../director/keys/roles.json \
        /image/metadata/%2e%2e/config.json \
        /image/metadata/%2E%2E/config.json \
        /image/metadata/.%2e/config.json \
        /image/metadata/..%2fconfig.json \
        /image/metadata/%2e%2e%2fconfig.json \
        /image/metadata/%2e%2e%2F%2e%2e%2Fdirector%2Fconfig.json \
        /image/metadata/..%5cconfig.json \
        /image/metadata/%252e%252e%252fconfig.json \
        /image/metadata//etc/passwd \
        /image/metadata/%2fetc%2fpasswd \
        /image/targets//etc/passwd \
        /image/targets/%2Fetc%2Fpasswd \
        /image/metadata/.hidden \
        /image/metadata/%2ehidden \
        /image/metadata/./root.json \
        /image/metadata/link.json \
        /image/metadata/ \
        "/director/$vin/metadata/../../../config.json" \
        "/director/$vin/metadata/%2e%2e%2f%2e%2e%2f%2e%2e%2fconfig.json" \
        /director/..%2f..%2fkeys/metadata/roles.json \
        /director/../director/keys/roles.json; do
        req GET "$p"
        if grep -q -e 'root:' -e '"kind"' -e '"keys"' -e '^hidden' "$work/body" 2>/dev/null; then
                fail "GET $p leaks a file (HTTP $code)"
        else
                expect_4xx "GET $p refused"
        fi
done

# --- Registration -------------------------------------------------------------

req POST /director/ecus --data-binary "@$work/reg.json"
expect "registration without a token is 401" 401
req POST /director/ecus -H 'Authorization: Bearer wrong-token' --data-binary "@$work/reg.json"
expect "registration with a wrong token is 401" 401
req POST /director/ecus -H "Authorization: Bearer ${token}x" --data-binary "@$work/reg.json"
expect "registration with a token plus one byte is 401" 401
req POST /director/ecus -H "Authorization: $token" --data-binary "@$work/reg.json"
expect "registration with the token but no Bearer is 401" 401

printf '{"vin": "%s", "primary_ecu_serial": ' "$vin" >"$work/bad.json"
register "$work/bad.json"
expect "registration with malformed JSON is 400" 400
printf '[1, 2, 3]' >"$work/bad.json"
register "$work/bad.json"
expect "registration that is not an object is 400" 400
"$vehicle" registration "$keys" "$vin" pri sec:hw-sec >"$work/noprimary.json"
register "$work/noprimary.json"
expect "registration without the Primary among the ECUs is 400" 400
sed "s/\"vin\":\"$vin\"/\"vin\":\"..\/..\/x\"/" "$work/reg.json" >"$work/badvin.json"
register "$work/badvin.json"
expect "registration with VIN ../../x is 400" 400

head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$work/big.json"
register "$work/big.json"
expect "registration of 17 MiB is 413" 413
rm -f "$work/big.json"

sed 's/"keytype":"ed25519","scheme":"ed25519"/"keytype":"dsa","scheme":"dsa-sha1"/' "$work/reg.json" \
        >"$work/badkey.json"
if grep -q dsa-sha1 "$work/badkey.json"; then
        register "$work/badkey.json"
        expect "registration with an unknown key type is 400" 400
else
        fail "registration with an unknown key type: could not make the request"
fi
check "refused registrations register nothing" test "$(sql 'SELECT COUNT(*) FROM ecus')" = 0

register "$work/reg.json"
expect "registration is 200" 200
register "$work/reg.json"
expect "the same registration again is 200" 200
check "the inventory holds the 2 ECUs" test "$(sql "SELECT COUNT(*) FROM ecus WHERE vin = '$vin'")" = 2
check "pri is the Primary" \
        test "$(sql "SELECT is_primary FROM ecus WHERE serial = 'pri'")$(sql "SELECT is_primary FROM ecus WHERE serial = 'sec'")" = 10
register "$work/reg-other.json"
expect "the same serial with another key is 409" 409
register "$work/reg-v2.json"
expect "the same serial in another vehicle is 409" 409
check "the spoofed registrations registered nothing" test "$(sql "SELECT COUNT(*) FROM ecus WHERE vin <> '$vin'")" = 0
check "sec keeps its first key" test "$(sql "SELECT json_extract(public_key, '\$.keyval.public') FROM ecus \
WHERE serial = 'sec'")" = "$(json "$keys/sec.pub.json" '$.keyval.public')"
req GET /director/ecus
expect "GET /director/ecus is 405" 405

# --- The vehicle's Director metadata ------------------------------------------

for f in root.json 1.root.json timestamp.json snapshot.json targets.json; do
        req GET "/director/$vin/metadata/$f"
        expect "GET /director/VIN/metadata/$f" 200
done
req GET "/director/$vin/metadata/targets.json"
cp "$work/body" "$work/targets0.json"
check "the vehicle's targets carry custom.vin" test "$(json "$work/targets0.json" '$.signed.custom.vin')" = "$vin"
check "the vehicle's targets list no image yet" test "$(json "$work/targets0.json" '$.signed.targets')" = '{}'
req GET "/director/$vin2/metadata/targets.json"
expect "an unregistered vehicle has no Director metadata (404)" 404

if "$uprepo" director assign --repo "$dir" --image-repo "$img" "$vin" sec fw-1.0.bin >"$work/assign.log" 2>&1; then
        ok "uptane-repo director assign"
else
        sed 's/^/    /' "$work/assign.log"
        fail "uptane-repo director assign"
fi
req GET "/director/$vin/metadata/targets.json"
cp "$work/body" "$work/targets1.json"
check "the vehicle's targets list fw-1.0.bin for sec" \
        test "$(json "$work/targets1.json" '$.signed.targets."fw-1.0.bin".custom.ecuIdentifiers.sec.hardwareId')" = hw-sec
check "the listed image has the Image repository's sha256" \
        test "$(json "$work/targets1.json" '$.signed.targets."fw-1.0.bin".hashes.sha256')" = "$sha1"
check "the targets still carry custom.vin" test "$(json "$work/targets1.json" '$.signed.custom.vin')" = "$vin"
req GET "/director/$vin/targets/fw-1.0.bin"
expect "the Director serves its copy of an assigned image" 200
check "the Director's copy has the image's sha256" test "$(sha256sum <"$work/body" | cut -d' ' -f1)" = "$sha1"
req GET "/director/$vin/targets/fw-1.0.bin" -H "Range: bytes=3-" -D "$work/headers"
expect "a resumed download (Range: bytes=3-) gets 206" 206
check "with the rest of the file" sh -c "tail -c +4 '$work/fw-1.0.bin' | cmp -s - '$work/body'"
check "and its Content-Range" grep -qi "^Content-Range: bytes 3-$(($(wc -c <"$work/fw-1.0.bin") - 1))/$(wc -c <"$work/fw-1.0.bin")" "$work/headers"
req GET "/director/$vin/targets/fw-1.0.bin" -H "Range: bytes=$(wc -c <"$work/fw-1.0.bin")-"
expect "a range past the end gets 416" 416
req GET "/director/$vin/targets/fw-1.0.bin" -H "Range: bytes=0-1,5-6"
expect "other range forms get the whole file (200)" 200
req GET "/director/$vin/targets/fw-2.0.bin"
expect "an image not assigned to the vehicle is not served by the Director (404)" 404
req GET "/director/$vin/targets/../metadata/root.json"
expect_4xx "a Director target path with .. is refused"

# --- Manifests ----------------------------------------------------------------

accepted=0 # manifests answered 2xx
# assignments_ended of the last reply
ended() { json "$work/body" '$.assignments_ended'; }

if manifest valid "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old" \
        --report "sec:old.bin:9:$old"; then
        put_manifest "$work/m.json" "$vin"
        expect "a valid manifest is 200" 200
        [ "$code" = 200 ] && accepted=$((accepted + 1))
        check "a pending assignment does not end" test "$(ended)" = '[]'
else
        fail "a valid manifest: up-test-vehicle"
fi
attacks_before=$(sql 'SELECT COUNT(*) FROM attacks')

if manifest forged "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old" --sign-with sec; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest not signed by the Primary is 401" 401
fi
if manifest wrongkey "$work/m.json" "$work/other" "$vin" pri --report "pri:pri-fw.bin:9:$old" \
        --report "sec:old.bin:9:$old"; then
        put_manifest "$work/m.json" "$vin"
        expect_4xx "a report signed by another key than the ECU's is refused"
fi
if manifest ghost "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old" \
        --report "ghost:x.bin:9:$old"; then
        put_manifest "$work/m.json" "$vin"
        expect_4xx "a report of an unregistered ECU is refused"
fi
if manifest notprimary "$work/m.json" "$keys" "$vin" sec --report "sec:old.bin:9:$old"; then
        put_manifest "$work/m.json" "$vin"
        expect_4xx "a manifest from an ECU that is not the Primary is refused"
fi

nonce=$(( ($$ * 7919) % 2000000000 + 1000 ))
if manifest nonce "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old:$nonce"; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest with nonce $nonce is 200" 200
        [ "$code" = 200 ] && accepted=$((accepted + 1))
        check "the nonce is in the nonces table" \
                test "$(sql "SELECT COUNT(*) FROM nonces WHERE serial = 'pri' AND nonce = $nonce")" = 1
        put_manifest "$work/m.json" "$vin"
        expect "the same manifest again (replay) is 409" 409
fi
if manifest nonce2 "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old:$nonce"; then
        put_manifest "$work/m.json" "$vin"
        expect "a new manifest reusing a nonce is 409" 409
fi
if manifest future "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old::+86400"; then
        put_manifest "$work/m.json" "$vin"
        expect_4xx "a report with a time a day in the future is refused"
fi
if manifest past "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old::-864000"; then
        put_manifest "$work/m.json" "$vin"
        expect_4xx "a report older than the ECU's last one is refused"
fi
if manifest othervin "$work/m.json" "$keys" "$vin2" pri --report "pri:pri-fw.bin:9:$old"; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest for another VIN is 400" 400
        put_manifest "$work/m.json" "$vin2"
        expect_4xx "a manifest of pri for an unregistered vehicle is refused"
fi
printf '{"signatures": [], "signed": ' >"$work/m.json"
put_manifest "$work/m.json" "$vin"
expect "a malformed manifest is 400" 400
printf '{"signatures": [], "signed": {"vin": "%s"}}' "$vin" >"$work/m.json"
put_manifest "$work/m.json" "$vin"
expect "a manifest without its members is 400" 400
: >"$work/m.json"
put_manifest "$work/m.json" "$vin"
expect "an empty manifest is 400" 400
req GET "/director/$vin/manifest"
expect "GET of the manifest URL is 405" 405
req PUT "/director/..%2f..%2fx/manifest" --data-binary x
expect "a manifest for VIN ../../x is 404" 404

# Without the Primary's own report a manifest carries no nonce: it could be replayed.
if manifest "no reports" "$work/m.json" "$keys" "$vin" pri; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest without the Primary's report is 400" 400
        put_manifest "$work/m.json" "$vin"
        expect "the same manifest again is still 400" 400
fi
attacks_before=$((attacks_before + 2))

check "refused manifests are not stored" test "$(sql 'SELECT COUNT(*) FROM manifests')" = "$accepted"
check "refused manifests with a bad signature, key, ECU, nonce or time are recorded as attacks" \
        test "$(sql 'SELECT COUNT(*) FROM attacks')" -ge $((attacks_before + 7))
check "the forged Primary signature is in the attacks table" \
        test "$(sql "SELECT COUNT(*) FROM attacks WHERE serial = 'pri' AND what LIKE '%not signed%'")" -ge 1

attack_text="targets rollback detected by sec ($$)"
if manifest attacks "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old" \
        --report "sec:old.bin:9:$old" --attack "sec:$attack_text"; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest reporting attacks_detected is 200" 200
        [ "$code" = 200 ] && accepted=$((accepted + 1))
        check "attacks_detected is in the attacks table" \
                test "$(sql "SELECT COUNT(*) FROM attacks WHERE vin = '$vin' AND serial = 'sec' AND what = '$attack_text'")" = 1
        check "attacks_detected is on the ECU's row" \
                test "$(sql "SELECT attacks FROM ecus WHERE serial = 'sec'")" = "$attack_text"
fi

# The assigned image installed: the assignment ends.
if manifest installed "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old" \
        --report "sec:fw-1.0.bin:$len1:$sha1"; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest reporting the assigned image installed is 200" 200
        [ "$code" = 200 ] && accepted=$((accepted + 1))
        check "the reply lists sec in assignments_ended" test "$(ended)" = '["sec"]'
        req GET "/director/$vin/metadata/targets.json"
        cp "$work/body" "$work/targets2.json"
        check "the Director's targets no longer list fw-1.0.bin" \
                test "$(json "$work/targets2.json" '$.signed.targets')" = '{}'
        check "the new targets are a new version" test "$(json "$work/targets2.json" '$.signed.version')" -gt \
                "$(json "$work/targets1.json" '$.signed.version')"
        check "the results table says installed" test "$(sql "SELECT result FROM results WHERE vin = '$vin' AND \
serial = 'sec' AND target = 'fw-1.0.bin'")" = installed
        check "the ECU's installed image is recorded" \
                test "$(sql "SELECT json_extract(installed, '\$.filepath') FROM ecus WHERE serial = 'sec'")" = fw-1.0.bin
fi

# A failed installation ends the assignment too.
"$uprepo" director assign --repo "$dir" --image-repo "$img" "$vin" sec fw-2.0.bin >"$work/assign.log" 2>&1 ||
        sed 's/^/    /' "$work/assign.log"
req GET "/director/$vin/metadata/targets.json"
cp "$work/body" "$work/targets3.json"
check "fw-2.0.bin assigned to sec" test "$(json "$work/targets3.json" \
        '$.signed.targets."fw-2.0.bin".custom.ecuIdentifiers.sec.hardwareId')" = hw-sec
if manifest pending "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old" \
        --report "sec:fw-1.0.bin:$len1:$sha1" --installation-report sec:ok; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest with the old image and installation report ok is 200" 200
        [ "$code" = 200 ] && accepted=$((accepted + 1))
        check "the assignment stays while the image is not installed" test "$(ended)" = '[]'
fi
if manifest failed "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old" \
        --report "sec:fw-1.0.bin:$len1:$sha1" --installation-report sec:failed; then
        put_manifest "$work/m.json" "$vin"
        expect "a manifest with installation report failed is 200" 200
        [ "$code" = 200 ] && accepted=$((accepted + 1))
        check "the failed assignment is in assignments_ended" test "$(ended)" = '["sec"]'
        req GET "/director/$vin/metadata/targets.json"
        check "the Director's targets no longer list fw-2.0.bin" test "$(json "$work/body" '$.signed.targets')" = '{}'
        check "the results table says failed" test "$(sql "SELECT result FROM results WHERE vin = '$vin' AND \
serial = 'sec' AND target = 'fw-2.0.bin'")" = failed
fi
check "every accepted manifest is stored ($accepted)" test "$(sql "SELECT COUNT(*) FROM manifests WHERE vin = '$vin'")" = "$accepted"

# --- Time server --------------------------------------------------------------

n1=$(( ($$ * 31) % 2147483647 ))
n2=2147483647
req POST /timeserver -H 'Content-Type: application/json' --data-binary "{\"nonces\": [$n1, $n2, 0]}"
expect "a time attestation is 200" 200
cp "$work/body" "$work/attestation.json"
check "the attestation lists the nonces" test "$(json "$work/attestation.json" '$.signed.nonces')" = "[$n1,$n2,0]"
check "the attestation verifies with the time server's public key" \
        "$vehicle" attestation-check "$work/time.key.pub.json" "$n1" "$n2" 0 <"$work/attestation.json"
"$vehicle" keygen "$work/notime" impostor >/dev/null 2>&1
if "$vehicle" attestation-check "$work/notime/impostor.pub.json" "$n1" <"$work/attestation.json" 2>/dev/null; then
        fail "the attestation verifies with another key"
else
        ok "the attestation does not verify with another key"
fi
if "$vehicle" attestation-check "$work/time.key.pub.json" 12345 <"$work/attestation.json" 2>/dev/null; then
        fail "the attestation verifies for a nonce it does not list"
else
        ok "the attestation does not verify for a nonce it does not list"
fi
for body in '{"nonces": [1, 2' 'nonces' '{"nonces": "1"}' '{"nonces": [1.5]}' '{"nonces": [-1]}' \
        '{"nonces": [2147483648]}' '{"other": []}' ''; do
        req POST /timeserver --data-binary "$body"
        expect "time request '$body' is 400" 400
done
req POST /timeserver --data-binary "{\"nonces\": [$(seq -s, 0 1024)]}"
expect "a time request with 1025 nonces is 413" 413
req POST /timeserver --data-binary "{\"nonces\": [$(seq -s, 0 9999)]}"
expect "a time request with 10000 nonces is 413" 413
req GET /timeserver
expect "GET /timeserver is 405" 405

# --- Stop, restart, configuration ---------------------------------------------

stop_server TERM
check "SIGTERM ends the server with exit 0 (got $rc)" test "$rc" = 0

if start_server; then
        ok "the server starts again on the same database"
        if manifest nonce3 "$work/m.json" "$keys" "$vin" pri --report "pri:pri-fw.bin:9:$old:$nonce"; then
                put_manifest "$work/m.json" "$vin"
                expect "after a restart, a used nonce is still 409" 409
        fi
        stop_server TERM
        check "SIGTERM ends the restarted server with exit 0 (got $rc)" test "$rc" = 0
else
        fail "the server starts again on the same database"
fi

# Director timestamps that are about to expire are renewed by the server.
ts_file="$dir/vehicles/$vin/metadata/timestamp.json"
ts_version() { json "$ts_file" '$.signed.version'; }
ts_before=$(ts_version)
printf '[repositories]\nrefresh-interval-seconds = 1\nrefresh-margin-seconds = 864000\n' >"$work/server.conf"
if start_server; then
        i=0
        while [ "$(ts_version)" = "$ts_before" ] && [ "$i" -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
        check "an expiring Director timestamp is renewed (v$ts_before -> v$(ts_version))" \
                test "$(ts_version)" -gt "$ts_before"
        stop_server TERM
        check "SIGTERM ends the server with its refresher with exit 0 (got $rc)" test "$rc" = 0
else
        fail "the server starts with a refresh interval"
fi
: >"$work/server.conf"

printf '[server]\nport = 0\nlisten-address = 127.0.0.1\n\n[inventory]\nno-such-key = 1\n' >"$work/bad.conf"
timeout 20 "$server" --config "$work/bad.conf" --image "$img" --director "$dir" --database "$db" \
        >/dev/null 2>"$work/bad.err"
rc=$?
cp "$work/bad.err" "$work/body" # what a failure shows
check "a config file with an unknown key exits 78 (got $rc)" test "$rc" = 78
check "the error names file:line" grep -q "bad\.conf:6:.*no-such-key" "$work/bad.err"
printf '[server]\nport = 99999\n' >"$work/bad2.conf"
timeout 20 "$server" --config "$work/bad2.conf" --image "$img" --director "$dir" --database "$db" \
        >/dev/null 2>"$work/bad.err"
rc=$?
cp "$work/bad.err" "$work/body" # what a failure shows
check "a config file with an invalid port exits 78 (got $rc)" test "$rc" = 78
check "the error names file:line of the port" grep -q "bad2\.conf:2:" "$work/bad.err"

: >"$work/body"
check "the server logged no errors" test "$(grep -c -E ': (error|crit|alert|emerg): ' "$work/server.log")" = 0

summary
