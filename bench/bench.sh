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
