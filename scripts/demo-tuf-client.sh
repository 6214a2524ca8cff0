#!/usr/bin/env bash
# The TUF-client demo (scripts/demo.sh before the Primary's demo), on embedded
# defaults: builds everything, generates a signed repository, serves it on
# 127.0.0.1 and lets uptane-tuf-client update from it, then stages attacks and
# shows each one refused. Exits 0 only when every step ended as expected.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/install-deps.sh || exit 1
[ -f build/build.ninja ] || meson setup build >/dev/null || exit 1
ninja -C build >/dev/null || { ninja -C build; exit 1; }

client=$top/build/src/tuf-client/uptane-tuf-client
mkrepo=$top/build/tests/tools/up-test-repo
work=$(mktemp -d /tmp/uptane-demo.XXXXXX)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

bad=0
banner() { printf '\n\033[1m== %-9s\033[0m %s\n' "$1" "$2"; }
expect() { # expect OUTCOME DESCRIPTION -- command...: OUTCOME is ok or refused
        local want=$1 what=$2; shift 3
        if "$@" >"$work/out" 2>&1; then got=ok; else got=refused; fi
        if [ "$got" = "$want" ]; then
                [ "$want" = ok ] && banner UPDATED "$what" || banner DEFENDED "$what"
        else
                banner FAILED "$what (expected $want, got $got)"; bad=1
        fi
        sed 's/^/   | /' "$work/out"
}

# The repository: version 1, served from $work/www.
mkdir -p "$work/www" "$work/client/metadata" "$work/client/targets"
"$mkrepo" "$work/v1" --keys-dir "$work/keys" --version 1 --targets 3 >/dev/null || exit 1
"$mkrepo" "$work/v2" --keys-dir "$work/keys" --version 2 --targets 3 >/dev/null || exit 1
"$mkrepo" "$work/v3" --keys-dir "$work/keys" --version 3 --targets 3 >/dev/null || exit 1
"$mkrepo" "$work/v4" --keys-dir "$work/keys" --version 4 --targets 3 >/dev/null || exit 1
publish() { rm -rf "$work/www/repo"; cp -r "$1" "$work/www/repo"; }
publish "$work/v1"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$port" >"$work/http.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done

base=http://127.0.0.1:$port/repo
md=$work/client/metadata
run_client() { "$client" --metadata-dir "$md" --metadata-url "$base/metadata/" "$@"; }
download() {
        run_client --target-dir "$work/client/targets" --target-base-url "$base/targets/" \
                --target-name "$1" download
}
first_target=$(cd "$work/v1/targets" && find . -type f ! -name '*.*.*' | head -1 | sed 's|^\./||')
[ -n "$first_target" ] || first_target=file-0.bin

echo "Repository served at $base/ (target '$first_target'); client state in $work/client"
expect ok "client provisioned with the initial root" -- "$client" --metadata-dir "$md" init "$work/v1/initial_root.json"
expect ok "version 1 downloaded and verified" -- download "$first_target"

publish "$work/v2"
expect ok "version 2 downloaded and verified" -- download "$first_target"

# Replay: an old, validly signed timestamp.
cp "$work/v1/metadata/timestamp.json" "$work/www/repo/metadata/timestamp.json"
expect refused "replayed timestamp v1 refused (rollback)" -- run_client refresh
publish "$work/v3"

# Arbitrary software: the image on the server swapped (man in the middle).
for f in $(find "$work/www/repo/targets" -type f); do printf 'malware' >"$f"; done
expect refused "swapped image refused" -- download "$first_target"
installed="$work/client/targets/$(printf '%s' "$first_target" | sed 's|/|%2F|g')"
expect ok "installed copy is still version 2's image" -- cmp "$installed" "$work/v2/targets/$first_target"
publish "$work/v3"

# Metadata changed without the keys: version 4's targets edited in transit.
publish "$work/v4"
sed -i 's/"length": *\([0-9]*\)/"length": 1\1/' "$work/www/repo/metadata/"4.targets.json
expect refused "targets edited without the signing keys refused" -- run_client refresh
publish "$work/v4"

# Endless data: a 1 MiB timestamp.
head -c 1048576 /dev/zero | tr '\0' ' ' >"$work/www/repo/metadata/timestamp.json"
expect refused "endless timestamp refused after 16 KiB" -- run_client refresh
publish "$work/v4"

# Freeze: the client's clock is two years ahead; everything it is served expired.
if command -v faketime >/dev/null; then
        expect refused "expired metadata refused (freeze)" -- faketime "$(date -u -d '+2 years' '+%Y-%m-%d %H:%M:%S')" \
                "$client" --metadata-dir "$md" --metadata-url "$base/metadata/" refresh
fi

expect ok "version 4 downloaded and verified after all that" -- download "$first_target"

echo
if [ $bad -eq 0 ]; then echo "demo: every step ended as expected"; else echo "demo: some steps did not end as expected"; fi
exit $bad
