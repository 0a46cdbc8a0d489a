#!/usr/bin/env bash
# `make bench`: the web-stack corpus through `soclash deps` (one process,
# full transitive closure) side by side with `xargs ldd`,
# `xargs ld.so --list` and `scanelf -BnL` (direct NEEDED only).
# A benchmark, not a test: it prints timings and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SOCLASH:-target/release/soclash}
list=$(mktemp)
trap 'rm -f "$list"' EXIT
{
  find /usr/lib/x86_64-linux-gnu /usr/lib/apache2/modules /usr/lib/php \
       /usr/lib/python3*/lib-dynload -type f 2>/dev/null
} | while read -r f; do
  [ "$(head -c4 "$f" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] && echo "$f"
done | sort > "$list"
echo "corpus: $(wc -l < "$list") ELF objects"
command -v hyperfine >/dev/null || { echo "bench: hyperfine missing (apt-get install hyperfine)" >&2; exit 1; }
command -v scanelf >/dev/null || { echo "bench: scanelf missing (apt-get install pax-utils)" >&2; exit 1; }
json=$(mktemp)
hyperfine -N -i --warmup 1 --runs 10 --export-json "$json" \
  -n soclash "xargs -a $list $bin deps" \
  -n scanelf "scanelf -BnL -f $list" \
  -n 'ld.so --list' "xargs -a $list -n1 /lib64/ld-linux-x86-64.so.2 --list" \
  -n ldd "env -i PATH=/usr/bin:/bin xargs -a $list ldd" \
  >/dev/null
python3 - "$json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
s = r["soclash"]["median"]
print(f"{'command':<14}{'median s':>10}{'min s':>10}{'max s':>10}{'vs soclash':>12}")
for name, x in r.items():
    print(f"{name:<14}{x['median']:>10.3f}{x['min']:>10.3f}{x['max']:>10.3f}{x['median']/s:>11.1f}x")
PY
rm -f "$json"

# The whole-host scan (issue 3 target: under 0.5 s wall, under 200 MB
# peak), which models and binds every process, and `explain` of one symbol.
json=$(mktemp)
hyperfine -N -i --warmup 1 --runs 10 --export-json "$json" \
  -n 'scan of this host' "$bin scan --format json" \
  -n 'explain MD5Init' "$bin explain --format json MD5Init" >/dev/null
python3 - "$json" <<'PY'
import json, sys
for x in json.load(open(sys.argv[1]))["results"]:
    print(f"{x['command']}: median {x['median']:.3f} s (min {x['min']:.3f}, max {x['max']:.3f})")
PY
rm -f "$json"
# Exit status 1 means findings at or above --fail-on; not a failure here.
/usr/bin/time -f "scan of this host: peak RSS %M KB" "$bin" scan --format json --fail-on critical >/dev/null

# Issue 16's scale target: the realistic root with 40 virtualenvs
# (byte-identical copies, one mod_wsgi daemon each) against the same root
# without them (sample-libs/venvs-root.sh, `make venvs-root`): at most 3x
# the time, under 200 MB peak.
venvs=$(bash sample-libs/venvs-root.sh | tail -n1)
echo "40-venv root: $venvs ($(cat "$venvs/venvs-mb") MB of virtualenvs)"
json=$(mktemp)
hyperfine -N -i --warmup 1 --runs 5 --export-json "$json" \
  -n 'scan without the venvs' "$bin scan --root $venvs/base/root --format json" \
  -n 'scan with 40 venvs' "$bin scan --root $venvs/venvs/root --format json" >/dev/null
python3 - "$json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"{x['command']}: median {x['median']:.3f} s (min {x['min']:.3f}, max {x['max']:.3f})")
print(f"40 venvs / none: {r[1]['median'] / r[0]['median']:.1f}x (target: at most 3x)")
PY
rm -f "$json"
for r in base venvs; do
  /usr/bin/time -f "scan of the $r root: peak RSS %M KB (target: under 200 MB)" \
    "$bin" scan --root "$venvs/$r/root" --format json --fail-on critical >/dev/null
done

# The fleet view of 10,000 archived reports: real scans of six sample roots
# (`make sample-libs`) under 10,000 host names, a third of the hosts with a
# previous report a week older (every seventh of those of another root, so
# the diff runs).
roots=target/sample-roots/bind
[ -d "$roots" ] || { echo "bench: $roots missing (make sample-libs)" >&2; exit 1; }
archive=$(mktemp -d)
trap 'rm -f "$list"; rm -rf "$archive"' EXIT
for r in sig-libedit-vs-libreadline-pos sig-python-md5-vs-libmhash-pos \
         sig-python-md5-vs-libmhash-neg sig-pysqlite-cache-init-vs-mod-cache-pos \
         sig-duplicate-sqlite3-in-process-pos sig-libedit-vs-libreadline-neg; do
  "$bin" scan --root "$roots/$r/root" --format yaml --fail-on critical > "$archive/$r.src" || true
done
python3 - "$archive" <<'PY'
import os, sys, glob
archive = sys.argv[1]
srcs = [open(p).read() for p in sorted(glob.glob(os.path.join(archive, "*.src")))]
def as_host(text, host, stamp, rfc):
    out = []
    for l in text.splitlines():
        if l.startswith("  hostname:"): l = f"  hostname: {host}"
        elif l.startswith("  scanned_at:"): l = f"  scanned_at: {rfc}"
        out.append(l)
    return "\n".join(out) + "\n"
for i in range(10000):
    host = f"web{i:05}.example.net"
    d = os.path.join(archive, host)
    os.makedirs(d)
    s = srcs[i % len(srcs)]
    open(os.path.join(d, "20261120T120000Z.yaml"), "w").write(as_host(s, host, "", "2026-11-20T12:00:00Z"))
    if i % 3 == 0:
        p = srcs[(i + 1) % len(srcs)] if i % 7 == 0 else s
        open(os.path.join(d, "20261113T120000Z.yaml"), "w").write(as_host(p, host, "", "2026-11-13T12:00:00Z"))
for p in glob.glob(os.path.join(archive, "*.src")): os.remove(p)
PY
echo "fleet archive: $(find "$archive" -name '*.yaml' | wc -l) reports, $(du -sh "$archive" | cut -f1)"
json=$(mktemp)
hyperfine -N -i --warmup 1 --runs 5 --export-json "$json" \
  -n 'fleet of 10,000 hosts' "$bin fleet $archive --format json" >/dev/null
python3 - "$json" <<'PY'
import json, sys
for x in json.load(open(sys.argv[1]))["results"]:
    print(f"{x['command']}: median {x['median']:.3f} s (min {x['min']:.3f}, max {x['max']:.3f})")
PY
rm -f "$json"
/usr/bin/time -f "fleet of 10,000 hosts: peak RSS %M KB" "$bin" fleet "$archive" --format json >/dev/null || true
