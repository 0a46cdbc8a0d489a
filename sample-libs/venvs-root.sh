#!/usr/bin/env bash
# Builds the two roots of issue 16's scale target (`make venvs-root`, run by
# `make bench` and by tests/it/venvs.rs):
#
#   sample-libs/venvs-root.sh        prints the directory holding both (last line)
#
#   DIR/base/root    the realistic root (tests/realistic/build-root.sh)
#                    without its virtualenvs: /srv emptied, apps.conf
#                    disabled; mod_wsgi stays loaded (embedded Python)
#   DIR/venvs/root   the same root with 40 virtualenvs /srv/venvN, each
#                    served by `WSGIDaemonProcess appN python-home=/srv/venvN`
#                    and `WSGIScriptAlias /appN ... process-group=appN`
#
# Each /srv/venvN is a byte-identical copy (cp, not a link: a real fleet's
# virtualenvs are installed one by one) of one trimmed virtualenv: the
# realistic root's /srv/app1/venv with only the wheels Pillow (16 bundled
# libraries in Pillow.libs), psycopg2-binary (its own libssl, libcrypto,
# libpq... in psycopg2_binary.libs), cffi and PyYAML: 28 ELF objects, about
# 22 MB a venv, 0.9 GB for the 40. The base directories are hard links
# between the two roots (they are one root's files twice, never two paths
# within one root).
#
# Cached under target/venvs-root/KEY/ (KEY: this script's SHA-256 and the
# realistic root's key), so a rerun is instant; other keys' roots are
# removed. A build holds target/venvs-root/.lock, so parallel callers wait
# for it. Needs the realistic root (built by its script if missing, which
# needs the network once).
set -euo pipefail
cd "$(dirname "$0")/.."
export LC_ALL=C

SCRIPT=sample-libs/venvs-root.sh
BASE=target/venvs-root
VENVS=40
WHEELS=(PIL Pillow.libs Pillow-9.5.0.dist-info
        psycopg2 psycopg2_binary.libs psycopg2_binary-2.9.6.dist-info
        cffi cffi.libs cffi-1.16.0.dist-info _cffi_backend.cpython-311-x86_64-linux-gnu.so
        yaml _yaml PyYAML.libs PyYAML-6.0.2.dist-info)

realistic=$(bash tests/realistic/build-root.sh | tail -n1)
[ -d "$realistic/srv/app1/venv" ] || { echo "venvs-root: no realistic root at $realistic" >&2; exit 1; }
KEY=$( { sha256sum "$SCRIPT"; echo "$realistic"; } | sha256sum | cut -c1-16)
OUT=$BASE/$KEY

if [ -f "$OUT/complete" ]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$BASE"
# Tests build this root from parallel threads on a fresh machine: one builds,
# the others wait and then find it complete.
exec 9>"$BASE/.lock"
flock 9
if [ -f "$OUT/complete" ]; then
  echo "$OUT"
  exit 0
fi
for old in "$BASE"/*; do
  [ -e "$old" ] || continue
  [ "$(basename "$old")" = "$KEY" ] || rm -rf "$old"
done
rm -rf "$OUT"
mkdir -p "$OUT/base" "$OUT/venvs"

# The base: everything but the virtualenvs and the configuration serving them.
echo "venvs-root: copying the realistic root without /srv" >&2
base=$OUT/base/root
mkdir -p "$base"
for d in "$realistic"/* "$realistic"/.[!.]*; do
  [ -e "$d" ] || [ -L "$d" ] || continue
  case "$(basename "$d")" in srv) mkdir -p "$base/srv" ;; *) cp -a "$d" "$base/" ;; esac
done
rm -f "$base/etc/apache2/conf-enabled/apps.conf" "$base/etc/apache2/conf-available/apps.conf"

# The 40-venv root: the base's files hard-linked, then the virtualenvs copied.
echo "venvs-root: $VENVS virtualenvs" >&2
root=$OUT/venvs/root
cp -al "$base" "$root"
src=$realistic/srv/app1/venv
site=lib/python3.11/site-packages
one=$OUT/venv.tmp
mkdir -p "$one/$site"
cp -a "$src/pyvenv.cfg" "$src/bin" "$one/"
[ -L "$src/lib64" ] && cp -a "$src/lib64" "$one/"
for w in "${WHEELS[@]}"; do cp -a "$src/$site/$w" "$one/$site/"; done
sed -i 's|/srv/app1/venv|/srv/venv|' "$one/pyvenv.cfg"
conf=$root/etc/apache2/conf-available/venvs.conf
echo "# $VENVS applications, one mod_wsgi daemon per virtualenv (sample-libs/venvs-root.sh)." > "$conf"
for n in $(seq 1 "$VENVS"); do
  mkdir -p "$root/srv/app$n"
  cp -a "$one" "$root/srv/venv$n"
  printf 'def application(environ, start_response):\n    start_response("200 OK", [])\n    return [b"app%s"]\n' "$n" \
    > "$root/srv/app$n/app.wsgi"
  cat >> "$conf" <<EOF
WSGIDaemonProcess app$n python-home=/srv/venv$n processes=1 threads=1
WSGIScriptAlias /app$n /srv/app$n/app.wsgi process-group=app$n application-group=%{GLOBAL}
<Directory /srv/app$n>
    Require all granted
</Directory>
EOF
done
ln -s ../conf-available/venvs.conf "$root/etc/apache2/conf-enabled/venvs.conf"
rm -rf "$one"
du -sm "$root/srv" | cut -f1 > "$OUT/venvs-mb"
touch "$OUT/complete"
echo "$OUT"
