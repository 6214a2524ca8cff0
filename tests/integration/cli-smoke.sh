#!/bin/sh
# Smoke test of uptane-tuf-client without npm: up-test-repo writes a static
# repository, `python3 -m http.server` serves it on 127.0.0.1, and the CLI
# runs init / refresh / download against it, once per key scheme.
#
#   tests/integration/cli-smoke.sh          (UPTANE_BUILD_DIR, default <repo>/build)
#
# Prints "ok - ..." / "not ok - ..." lines and last "cli-smoke: N passed, N
# failed"; exits non-zero on any failure. KEEP_WORK=1 keeps the work directory.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/uptane-test.sh
. "$here/../lib/uptane-test.sh"
build=${UPTANE_BUILD_DIR:-$repo_root/build}
client=$build/src/tuf-client/uptane-tuf-client
uprepo=$build/tests/tools/up-test-repo
[ -x "$uprepo" ] || [ ! -x "$build/tests/up-test-repo" ] || uprepo=$build/tests/up-test-repo
timeout_s=${CLIENT_TIMEOUT:-60}

test_init cli-smoke
require_bins "$client" "$uprepo"
command -v python3 >/dev/null 2>&1 || { echo "cli-smoke: python3 required" >&2; exit 1; }

work_init uptane-cli-smoke
fail_details() { [ -f "$work/last.log" ] && sed 's/^/    /' "$work/last.log"; }

# Run the client with a time limit; output goes to $work/last.log.
run_client() {
        timeout -s KILL "$timeout_s" "$client" "$@" >"$work/last.log" 2>&1
}

# The served tree: $work/www/<id>/{metadata,targets} for each repository.
mkdir -p "$work/www"
if ! start_http_server "$work/www"; then
        echo "cli-smoke: http.server did not start" >&2
        cat "$work/http.log" >&2
        exit 1
fi
port=$http_port

for scheme in ed25519 ecdsa-sha2-nistp256 rsassa-pss-sha256; do
        repo=$work/www/$scheme
        if ! "$uprepo" "$repo" --scheme "$scheme" --targets 3 --target-size 1500 \
                --delegate 'delegated:dir1/*' --root-versions 2 --expires-days 3650 >"$work/last.log" 2>&1; then
                fail "[$scheme] up-test-repo"
                continue
        fi
        # every target path listed by targets.json and the delegated roles
        targets=$(python3 - "$repo/metadata" <<'EOF'
import json, os, sys, urllib.parse
md = sys.argv[1]
seen, out = set(), []
def visit(role):
    if role in seen:
        return
    seen.add(role)
    with open(os.path.join(md, urllib.parse.quote(role, safe="") + ".json")) as f:
        signed = json.load(f)["signed"]
    out.extend(signed.get("targets", {}))
    for d in signed.get("delegations", {}).get("roles", []):
        visit(d["name"])
visit("targets")
print("\n".join(out))
EOF
)
        if [ -z "$targets" ]; then
                fail "[$scheme] repository lists no targets"
                continue
        fi

        client_dir=$work/client-$scheme
        mkdir -p "$client_dir/metadata" "$client_dir/targets"
        murl=http://127.0.0.1:$port/$scheme/metadata/
        turl=http://127.0.0.1:$port/$scheme/targets/

        if run_client --metadata-dir "$client_dir/metadata" init "$repo/initial_root.json"; then
                ok "[$scheme] init"
        else
                fail "[$scheme] init (exit $?)"
        fi

        if run_client --metadata-url "$murl" --metadata-dir "$client_dir/metadata" refresh; then
                ok "[$scheme] refresh"
        else
                fail "[$scheme] refresh (exit $?)"
        fi
        if cmp -s "$client_dir/metadata/root.json" "$repo/metadata/2.root.json"; then
                ok "[$scheme] root.json is root version 2"
        else
                fail "[$scheme] root.json is not the served 2.root.json"
        fi

        set --
        for t in $targets; do set -- "$@" --target-name "$t"; done
        if run_client --metadata-url "$murl" --metadata-dir "$client_dir/metadata" "$@" \
                --target-dir "$client_dir/targets" --target-base-url "$turl" download; then
                ok "[$scheme] download $(echo "$targets" | wc -l) targets"
        else
                fail "[$scheme] download (exit $?)"
        fi

        # every artifact's bytes must be somewhere in the target dir
        missing=
        for t in $targets; do
                found=
                for f in $(find "$client_dir/targets" -type f); do
                        if cmp -s "$f" "$repo/targets/$t"; then found=1; break; fi
                done
                [ -n "$found" ] || missing="$missing $t"
        done
        if [ -z "$missing" ]; then
                ok "[$scheme] downloaded bytes match"
        else
                fail "[$scheme] bytes missing for:$missing"
        fi

        if run_client --metadata-url "$murl" --metadata-dir "$client_dir/metadata" \
                --target-name does/not/exist --target-dir "$client_dir/targets" --target-base-url "$turl" download; then
                fail "[$scheme] unknown target must exit 1 (got 0)"
        else
                rc=$?
                if [ "$rc" -eq 1 ]; then ok "[$scheme] unknown target exits 1"; else fail "[$scheme] unknown target exits $rc, not 1"; fi
        fi
done

summary
