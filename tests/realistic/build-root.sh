#!/usr/bin/env bash
# Builds the realistic root of issue 15: a Debian 12 web server as a
# sysadmin's looks, for tests/it/realistic.rs to run a real Apache in (the
# truth) and soclash to scan (the claim).
#
#   tests/realistic/build-root.sh        prints the root's path (last line)
#
# What it holds:
# * Debian 12 packages: Apache with mod_php 8.2 (extensions mysql, gd, xml,
#   curl, intl, sqlite3) and mod_wsgi on Python 3.11, python3-venv, and
#   what apt would install with them (`apt-get -s install` against an empty
#   dpkg status: the Depends/Pre-Depends closure with apt's own choice of
#   alternatives and virtual packages, no Recommends), fetched with
#   `apt-get download` and unpacked with `dpkg-deb -x`. A dpkg database
#   (status and info/*.list) is written as dpkg would.
# * What the maintainer scripts do on a fresh install, emulated: usrmerge's
#   merged /usr, base-passwd's /etc/passwd and /etc/group, ldconfig's
#   /etc/ld.so.cache (libc-bin's trigger), apache2's default modules,
#   confs and site (apache2.postinst), libapache2-mod-php8.2's MPM switch
#   to prefork, php.ini and `a2enmod php8.2`, mod_wsgi's `a2enmod wsgi`,
#   and the PHP packages' ucf copy of each extension's ini into
#   mods-available plus `phpenmod` (conf.d/PRIORITY-NAME.ini links for the
#   apache2 and cli SAPIs).
# * Three virtualenvs made by the root's own Python (`python3 -m venv`,
#   run in a chroot) at /srv/app{1,2,3}/venv, whose site-packages hold
#   manylinux wheels from PyPI that bundle or statically link C libraries,
#   pinned (WHEELS below; different versions in different venvs), fetched
#   with `pip download --only-binary=:all: --no-deps` for CPython 3.11 on
#   x86_64 and unzipped (a wheel is a zip; nothing is built or installed
#   with pip into the root).
# * /etc/apache2/conf-available/apps.conf, enabled: one
#   `WSGIDaemonProcess appN python-home=/srv/appN/venv` per venv, each with
#   a `WSGIScriptAlias /appN` whose script imports every extension module
#   its site-packages holds and reports what failed; and /var/www/html/
#   index.php, which calls into each PHP extension. The process and
#   application groups are set with WSGIProcessGroup and
#   WSGIApplicationGroup, not as WSGIScriptAlias options (which would make
#   each daemon preload its script at start, all at once: ld.so writes a
#   binding line in two writes, and daemons writing LD_DEBUG output at the
#   same time cut each other's lines); the scripts load at the first
#   request, one daemon after the other.
#
# The root is cached under target/realistic-root/KEY/ (KEY: this script's
# SHA-256), so a rerun is instant; downloads are kept in
# target/realistic-root/cache/ by file name (names carry versions). Other
# keys' roots are removed. Needs: apt lists for Debian 12 (apt-get update),
# dpkg-deb, unzip, python3 with the venv module (python3-venv), chroot, and
# the network to the Debian mirror and PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
export LC_ALL=C

SCRIPT=tests/realistic/build-root.sh
BASE=target/realistic-root
KEY=$(sha256sum "$SCRIPT" | cut -c1-16)
OUT=$BASE/$KEY
ROOT=$OUT/root

PACKAGES=(
  apache2 apache2-bin libapache2-mod-php8.2
  php8.2-mysql php8.2-gd php8.2-xml php8.2-curl php8.2-intl php8.2-sqlite3
  libapache2-mod-wsgi-py3 python3.11 python3-venv
  libc6 libc-bin base-files base-passwd usrmerge
)

# venv: wheels (exact pins). app1 is an older stack, app2 a current one,
# app3 a small reporting app with versions between the two.
declare -A WHEELS=(
  [app1]="psycopg2-binary==2.9.6 lxml==4.9.3 Pillow==9.5.0 cryptography==41.0.7 pycurl==7.45.4 pyzmq==25.1.2 numpy==1.26.4 grpcio==1.60.1 confluent-kafka==2.3.0 pymssql==2.2.11 cffi==1.16.0 PyYAML==6.0.2"
  [app2]="psycopg2-binary==2.9.10 lxml==5.3.0 pillow==11.0.0 pycurl==7.45.6 pyzmq==26.2.0 numpy==2.1.3 pysqlite3-binary==0.5.4 cffi==1.16.0"
  [app3]="psycopg2-binary==2.9.9 Pillow==10.4.0 PyYAML==6.0.2"
)
APPS=(app1 app2 app3)

if [ -f "$OUT/complete" ]; then
  echo "realistic root: cached ($OUT)" >&2
  echo "$ROOT"
  exit 0
fi

mkdir -p "$BASE/cache/debs" "$BASE/cache/wheels"
exec 9>"$BASE/.lock"
flock 9
if [ -f "$OUT/complete" ]; then
  echo "$ROOT"
  exit 0
fi
t0=$(date +%s)
for old in "$BASE"/*/; do
  old=${old%/}
  case "$(basename "$old")" in cache | "$KEY") ;; *) rm -rf "$old" ;; esac
done
rm -rf "$OUT"
mkdir -p "$OUT"
need() { command -v "$1" >/dev/null || {
  echo "build-root: $1 is needed ($2)" >&2
  exit 1
}; }
need apt-get apt
need dpkg-deb dpkg
need unzip unzip
need chroot coreutils
[ "$(id -u)" = 0 ] || {
  echo "build-root: must run as root (chroot, device nodes)" >&2
  exit 1
}

# --- Debian packages -------------------------------------------------------
simulate() {
  apt-get -o Dir::State::status=/dev/null -o Debug::NoLocking=1 -s install \
    --no-install-recommends "${PACKAGES[@]}"
}
if ! sim=$(simulate 2>&1) || ! grep -q '^Inst apache2 ' <<<"$sim"; then
  apt-get update -qq
  sim=$(simulate)
fi
# "Inst NAME (VERSION ARCHIVE [ARCH])"
grep '^Inst ' <<<"$sim" | awk '{print $2 "=" substr($3, 2)}' | sort >"$OUT/packages.txt"
echo "build-root: $(wc -l <"$OUT/packages.txt") Debian packages" >&2
missing=()
while IFS== read -r name version; do
  file_version=${version//:/%3a}
  compgen -G "$BASE/cache/debs/${name}_${file_version}_*.deb" >/dev/null || missing+=("$name=$version")
done <"$OUT/packages.txt"
if [ ${#missing[@]} -gt 0 ]; then
  (cd "$BASE/cache/debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null) || {
    apt-get update -qq
    (cd "$BASE/cache/debs" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null)
  }
fi

mkdir -p "$ROOT/var/lib/dpkg/info"
: >"$ROOT/var/lib/dpkg/status"
while IFS== read -r name version; do
  deb=$(compgen -G "$BASE/cache/debs/${name}_${version//:/%3a}_*.deb" | head -1)
  dpkg-deb -x "$deb" "$ROOT"
  # dpkg names the list NAME:ARCH for Multi-Arch: same packages.
  list=$name
  if [ "$(dpkg-deb -f "$deb" Multi-Arch)" = same ]; then
    list="$name:$(dpkg-deb -f "$deb" Architecture)"
  fi
  dpkg-deb --fsys-tarfile "$deb" | tar -t | sed -e 's,^\./,/,' -e 's,/$,,' -e 's,^$,/.,' >"$ROOT/var/lib/dpkg/info/$list.list"
  {
    dpkg-deb -f "$deb" Package
    echo "Status: install ok installed"
    dpkg-deb -f "$deb" | grep -v '^Package:'
    echo
  } | sed '1s/^/Package: /' >>"$ROOT/var/lib/dpkg/status"
done <"$OUT/packages.txt"

# usrmerge: /bin, /sbin, /lib* are links into /usr (Debian 12 is merged).
for d in bin sbin lib lib32 lib64 libx32; do
  if [ -d "$ROOT/$d" ] && [ ! -L "$ROOT/$d" ]; then
    mkdir -p "$ROOT/usr/$d"
    cp -a "$ROOT/$d/." "$ROOT/usr/$d/"
    rm -rf "${ROOT:?}/$d"
    ln -s "usr/$d" "$ROOT/$d"
  fi
done
# base-passwd's postinst; base-files' /var/run and /var/lock.
cp "$ROOT/usr/share/base-passwd/passwd.master" "$ROOT/etc/passwd"
cp "$ROOT/usr/share/base-passwd/group.master" "$ROOT/etc/group"
mkdir -p "$ROOT/run/lock" "$ROOT/tmp" "$ROOT/var/log/apache2" "$ROOT/var/www/html"
chmod 1777 "$ROOT/tmp"
[ -e "$ROOT/var/run" ] || ln -s /run "$ROOT/var/run"
[ -e "$ROOT/var/lock" ] || ln -s /run/lock "$ROOT/var/lock"
# What the processes need of /dev (a container's minimal set).
mkdir -p "$ROOT/dev"
for n in "null 1 3" "zero 1 5" "random 1 8" "urandom 1 9"; do
  set -- $n
  [ -e "$ROOT/dev/$1" ] || mknod -m 666 "$ROOT/dev/$1" c "$2" "$3"
done
# libc-bin's ldconfig trigger.
chroot "$ROOT" /sbin/ldconfig

# --- Apache and PHP as the maintainer scripts leave them --------------------
A=$ROOT/etc/apache2
# a2enmod: the .load and .conf links, after the modules a .load's
# "# Depends:" line names.
enmod() {
  local m=$1 dep
  [ -f "$A/mods-available/$m.load" ] || {
    echo "build-root: no module $m" >&2
    exit 1
  }
  for dep in $(sed -n 's/^# *Depends: *//p' "$A/mods-available/$m.load" | tr ',' ' '); do
    enmod "$dep"
  done
  ln -sfn "../mods-available/$m.load" "$A/mods-enabled/$m.load"
  [ ! -f "$A/mods-available/$m.conf" ] || ln -sfn "../mods-available/$m.conf" "$A/mods-enabled/$m.conf"
}
mkdir -p "$A/mods-enabled" "$A/conf-enabled" "$A/sites-enabled"
# apache2.postinst (fresh install): mpm_event, the default modules, confs
# and site; libapache2-mod-php8.2's postinst switches the MPM to prefork.
for m in authz_host auth_basic access_compat authn_file authz_user alias dir autoindex \
  env mime negotiation setenvif filter deflate status reqtimeout mpm_prefork php8.2 wsgi; do
  enmod "$m"
done
for c in charset localized-error-pages other-vhosts-access-log security serve-cgi-bin; do
  ln -sfn "../conf-available/$c.conf" "$A/conf-enabled/$c.conf"
done
ln -sfn ../sites-available/000-default.conf "$A/sites-enabled/000-default.conf"
touch "$ROOT/var/log/apache2/error.log" "$ROOT/var/log/apache2/access.log"
# mod_wsgi's postinst points mod_wsgi.so at the default Python's build.
ln -sfn mod_wsgi.so-3.11 "$ROOT/usr/lib/apache2/modules/mod_wsgi.so"

# PHP: ucf copies each extension's ini into mods-available; phpenmod links
# it into each SAPI's conf.d at its priority (default 20).
P=$ROOT/etc/php/8.2
mkdir -p "$P/mods-available" "$P/apache2/conf.d" "$P/cli/conf.d"
for ini in "$ROOT"/usr/share/php8.2-*/*/*.ini; do
  cp "$ini" "$P/mods-available/"
done
cp "$ROOT/usr/lib/php/8.2/php.ini-production" "$P/apache2/php.ini"
cp "$ROOT/usr/lib/php/8.2/php.ini-production.cli" "$P/cli/php.ini"
for ini in "$P"/mods-available/*.ini; do
  mod=$(basename "$ini" .ini)
  prio=$(sed -n 's/^; *priority=\([0-9]*\).*/\1/p' "$ini" | head -1)
  for sapi in apache2 cli; do
    ln -sfn "/etc/php/8.2/mods-available/$mod.ini" "$P/$sapi/conf.d/${prio:-20}-$mod.ini"
  done
done
cat >"$ROOT/var/www/html/index.php" <<'EOF'
<?php
// Calls into each PHP extension the packages enabled.
$out = [];
$out[] = "gd " . (function_exists('imagecreatetruecolor') ? imagesx(imagecreatetruecolor(2, 2)) : 'missing');
$out[] = "curl " . (function_exists('curl_version') ? curl_version()['version'] : 'missing');
$out[] = "xml " . (class_exists('DOMDocument') ? (new DOMDocument())->loadXML('<a/>') : 'missing');
$out[] = "xsl " . (class_exists('XSLTProcessor') ? 'yes' : 'missing');
$out[] = "intl " . (class_exists('Collator') ? Collator::create('en')->compare('a', 'b') : 'missing');
$out[] = "sqlite3 " . (class_exists('SQLite3') ? SQLite3::version()['versionString'] : 'missing');
$out[] = "mysqli " . (function_exists('mysqli_get_client_info') ? mysqli_get_client_info() : 'missing');
$missing = array_filter($out, function ($l) { return str_ends_with($l, 'missing'); });
echo ($missing ? "missing\n" : "ok\n") . "pid " . getmypid() . "\n" . implode("\n", $out) . "\n";
EOF

# --- Virtualenvs and wheels ---------------------------------------------------
PIPVENV=$BASE/cache/pip-venv
if [ ! -x "$PIPVENV/bin/pip" ]; then
  /usr/bin/python3 -m venv "$PIPVENV" || {
    echo "build-root: /usr/bin/python3 -m venv failed: apt-get install python3-venv" >&2
    exit 1
  }
fi
SITE=lib/python3.11/site-packages
for app in "${APPS[@]}"; do
  chroot "$ROOT" /usr/bin/python3.11 -m venv --without-pip "/srv/$app/venv"
  for w in ${WHEELS[$app]}; do
    name=${w%%==*}
    version=${w#*==}
    norm=$(tr 'A-Z-' 'a-z_' <<<"$name")
    whl=$(find "$BASE/cache/wheels" -maxdepth 1 -iname "${norm}-${version}-*.whl" | head -1)
    if [ -z "$whl" ]; then
      PIP_DISABLE_PIP_VERSION_CHECK=1 "$PIPVENV/bin/pip" download -q --no-deps \
        --only-binary=:all: --implementation cp --python-version 3.11 \
        --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
        -d "$BASE/cache/wheels" "$w" >&2
      whl=$(find "$BASE/cache/wheels" -maxdepth 1 -iname "${norm}-${version}-*.whl" | head -1)
    fi
    [ -n "$whl" ] || {
      echo "build-root: no wheel for $w" >&2
      exit 1
    }
    unzip -q -o "$whl" -d "$ROOT/srv/$app/venv/$SITE"
    # A wheel's NAME.data/ holds what pip installs elsewhere: purelib and
    # platlib into site-packages, data under the prefix, scripts in bin.
    for data in "$ROOT/srv/$app/venv/$SITE"/*.data; do
      [ -d "$data" ] || continue
      for kind in purelib platlib; do
        [ ! -d "$data/$kind" ] || cp -a "$data/$kind/." "$ROOT/srv/$app/venv/$SITE/"
      done
      [ ! -d "$data/data" ] || cp -a "$data/data/." "$ROOT/srv/$app/venv/"
      [ ! -d "$data/scripts" ] || cp -a "$data/scripts/." "$ROOT/srv/$app/venv/bin/"
      rm -rf "$data"
    done
    echo "$app $w $(basename "$whl")" >>"$OUT/wheels.txt"
  done
  cat >"$ROOT/srv/$app/app.wsgi" <<'EOF'
"""Imports every extension module of this virtualenv's site-packages and
reports, one line each, what was imported and what failed."""
import importlib
import importlib.machinery
import os
import sys

SITE = next(p for p in sys.path if p.endswith("site-packages"))
SUFFIXES = sorted(importlib.machinery.EXTENSION_SUFFIXES, key=len, reverse=True)


def _extension_modules():
    for top, dirs, files in os.walk(SITE):
        dirs[:] = sorted(
            d for d in dirs
            if d != "__pycache__" and not d.endswith((".libs", ".dist-info", ".data"))
        )
        for f in sorted(files):
            for suffix in SUFFIXES:
                if f.endswith(suffix):
                    rel = os.path.relpath(os.path.join(top, f[: -len(suffix)]), SITE)
                    yield rel.replace(os.sep, ".")
                    break


IMPORTED, FAILED = [], []
for _name in _extension_modules():
    try:
        importlib.import_module(_name)
        IMPORTED.append(_name)
    except Exception as e:  # reported, and the test fails on it
        FAILED.append("%s: %s: %s" % (_name, type(e).__name__, e))


def application(environ, start_response):
    lines = ["ok" if not FAILED else "failed", "pid %d" % os.getpid()]
    lines += ["imported " + n for n in IMPORTED] + ["failed " + f for f in FAILED]
    body = ("\n".join(lines) + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
EOF
done

# The applications: one daemon process group per virtualenv.
{
  echo "# The applications of this server: one mod_wsgi daemon per virtualenv."
  echo "WSGISocketPrefix \${APACHE_RUN_DIR}/wsgi"
  for app in "${APPS[@]}"; do
    cat <<EOF
WSGIDaemonProcess $app python-home=/srv/$app/venv processes=1 threads=1 display-name=%{GROUP}
WSGIScriptAlias /$app /srv/$app/app.wsgi
<Directory /srv/$app>
    WSGIProcessGroup $app
    WSGIApplicationGroup %{GLOBAL}
    Require all granted
</Directory>
EOF
  done
} >"$A/conf-available/apps.conf"
ln -sfn ../conf-available/apps.conf "$A/conf-enabled/apps.conf"

du -sm "$ROOT" | cut -f1 >"$OUT/size-mb"
echo $(($(date +%s) - t0)) >"$OUT/build-seconds"
touch "$OUT/complete"
echo "realistic root: built in $(cat "$OUT/build-seconds")s, $(cat "$OUT/size-mb") MiB ($OUT)" >&2
echo "$ROOT"
