#!/bin/bash
# Build one sample host for `soclash image`: a sysroot with the files of a web
# server (httpd, modules, PHP and Python extensions, tiny ELF objects built
# here) and its configuration (Apache, the service's environment, php.ini
# files, a virtualenv), plus the manifest of which objects each process
# loads, in which order, with which dlopen mode.
#
#   bash image-roots.sh NAME OUT        NAME: debian | rhel | source | wsgi |
#                                             staticpy | sharedpy | plugins
#
# writes OUT/image/NAME/root/ (the sysroot) and OUT/image/NAME/expected.txt
# (the manifest; line kinds in write_manifest below and in README.md). The
# root is built in OUT/.tmp/image-NAME and moved into place only when
# complete. Needs root (chroot), gcc, ldconfig. Called by the Makefile, one
# root per target; tests/it/image_roots.rs reads it.
#
# Where the manifest comes from. Each root function writes a configuration
# and, next to it, says what Apache, PHP and Python do with it, in the order
# they do it (`loads PROCESS KIND PATH`, the path as the configuration
# writes it): the semantics of Include globs, <IfModule>, <IfDefine>,
# php.ini scan directories and WSGIDaemonProcess are encoded there, by hand,
# never taken from soclash. Which objects each of those brings in
# (DT_NEEDED, RUNPATH $ORIGIN, the ld.so cache) and the start-up of each
# executable are taken from glibc's own loader run inside the root under
# chroot (`LD_TRACE_LOADED_OBJECTS=1 ld.so FILE`), every path made canonical
# by `realpath` run in the same chroot. Every object built with `so` or
# `exe` that a process does not load, and what only such objects need, is a
# `not-member` of it.
set -euo pipefail

NAME=$1
OUT=$(realpath -m -- "$2")
SRC=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
HOST_LDSO=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
HOST_LIBC=/lib/x86_64-linux-gnu/libc.so.6
INTERP=/lib64/ld-linux-x86-64.so.2
CHROOT=$(command -v chroot || echo /usr/sbin/chroot)
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)

WORK=$OUT/.tmp/image-$NAME
R=$WORK/root            # the sysroot being built
B=$WORK/build           # objects compiled once, linked many times
DEST=$OUT/image/$NAME
SERIAL=0
DESCRIPTION=

declare -A EXE=()       # process -> in-root path of its executable
PROCESSES=()            # processes of this root, in order
EVENTS=()               # "PROCESS KIND PATH", in load order per process
CANDIDATES=()           # every object built as a candidate (exe, module, extension)
LINES=()                # the manifest's lines

die() {
    echo "image-roots.sh: $NAME: $*" >&2
    exit 1
}

# --- building blocks -------------------------------------------------------
# lib.c and main.c are compiled once per root; every object is a link of
# those with its own build-id, so no two files have the same content. Links
# run in the background: a library is linked while the next one is, a
# candidate waits for the libraries started before it (it may link them),
# and ldconfig waits for everything (settle).

PIDS=()
LIBS_PENDING=0

compile() {
    mkdir -p -- "$B"
    gcc -c -fPIC -DN=1 -o "$B/lib.o" "$SRC/lib.c" &
    PIDS+=($!)
    gcc -c -o "$B/main.o" "$SRC/main.c" &
    PIDS+=($!)
    settle
}

# settle: waits for every link started, failing if one failed.
settle() {
    local pid
    for pid in "${PIDS[@]}"; do
        wait "$pid" || die "a link failed (see above)"
    done
    PIDS=()
    LIBS_PENDING=0
}

# link_bg OUTPUT gcc-arguments...: gcc -o OUTPUT, in the background, with
# the next build-id.
link_bg() {
    local out=$1
    shift
    local id
    SERIAL=$((SERIAL + 1))
    printf -v id '%08x' "$SERIAL"
    dir "${out%/*}"
    gcc -o "$out" "$@" "-Wl,--build-id=0x$id" &
    PIDS+=($!)
}

# dir HOST-PATH: mkdir -p, once.
declare -A MADE=()
dir() {
    [[ -n ${MADE[$1]:-} ]] || mkdir -p -- "$1"
    MADE[$1]=1
}

# so IN-ROOT-PATH [gcc/ld arguments...]: a candidate shared object (module,
# extension) without SONAME, every DT_NEEDED kept.
so() {
    local path=$1
    shift
    ((LIBS_PENDING == 0)) || settle
    link_bg "$R$path" -shared "$B/lib.o" -Wl,--no-as-needed "$@"
    CANDIDATES+=("$path")
}

# lib IN-ROOT-PATH SONAME [gcc/ld arguments...]: a library candidates need.
lib() {
    local path=$1 soname=$2
    shift 2
    link_bg "$R$path" -shared "$B/lib.o" -Wl,-soname,"$soname" -Wl,--no-as-needed "$@"
    LIBS_PENDING=1
}

# exe IN-ROOT-PATH [gcc/ld arguments...]: an executable (PIE, PT_INTERP
# /lib64/ld-linux-x86-64.so.2).
exe() {
    local path=$1
    shift
    ((LIBS_PENDING == 0)) || settle
    link_bg "$R$path" "$B/main.o" -Wl,--no-as-needed "$@"
    CANDIDATES+=("$path")
}

# process NAME EXE: a process of this root, started from EXE.
process() {
    PROCESSES+=("$1")
    EXE[$1]=$2
}

# daemon GROUP: mod_wsgi's daemon process group GROUP, the process
# `wsgi:GROUP`: forked from the Apache parent, it holds what apache loaded
# so far but its Python imports (the parent's image); then what it imports
# itself is listed for it.
daemon() {
    local p=wsgi:$1 ev c kind path
    process "$p" "${EXE[apache]}"
    for ev in "${EVENTS[@]}"; do
        read -r c kind path <<<"$ev"
        if [[ $c == apache && $kind != python ]]; then
            EVENTS+=("$p $kind $path")
        fi
    done
}

# loads PROCESS KIND PATH: PROCESS dlopens PATH (as its configuration writes
# it), after everything listed before for PROCESS. KIND gives the mode:
#   survivor  NOW|GLOBAL   kept from httpd's first configuration pass (G9)
#   module    NOW|GLOBAL   LoadModule / LoadFile (apr_dso_load)
#   zend, php LAZY|GLOBAL|DEEPBIND   zend_extension= / extension= (PHP < 8.5)
#   python    NOW|LOCAL    an extension module Python may import
#   plugin-lazy, plugin-now  LAZY|LOCAL, NOW|LOCAL   a library's plugin it
#                          may load on demand (after everything else)
loads() {
    case $2 in
    survivor | module | zend | php | python | plugin-lazy | plugin-now) ;;
    *) die "unknown kind $2" ;;
    esac
    EVENTS+=("$*")
}

# file IN-ROOT-PATH: writes stdin there.
file() {
    local text
    IFS= read -r -d '' text || true
    dir "${R}${1%/*}"
    printf '%s' "$text" >"$R$1"
}

# link TARGET IN-ROOT-PATH
link() {
    dir "${R}${2%/*}"
    ln -s -- "$1" "$R$2"
}

# Debian 12's merged /usr: the host's ld.so and libc as real files in the
# multiarch directory, /usr/lib64/ld-linux-x86-64.so.2 an absolute link to
# it, Debian's ld.so.conf.
debian_base() {
    local ml=/usr/lib/x86_64-linux-gnu
    mkdir -p "$R$ml" "$R/usr/lib64" "$R/usr/bin" "$R/usr/sbin" "$R/usr/local/lib" "$R/etc/ld.so.conf.d"
    ln -s usr/lib "$R/lib"
    ln -s usr/lib64 "$R/lib64"
    ln -s usr/bin "$R/bin"
    ln -s usr/sbin "$R/sbin"
    cp -- "$HOST_LDSO" "$R$ml/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R$ml/libc.so.6"
    ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/usr/lib64/ld-linux-x86-64.so.2"
    echo 'include /etc/ld.so.conf.d/*.conf' >"$R/etc/ld.so.conf"
    printf '# libc default configuration\n/usr/local/lib\n' >"$R/etc/ld.so.conf.d/libc.conf"
    printf '# Multiarch support\n%s\n%s\n%s\n' /usr/local/lib/x86_64-linux-gnu \
        /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu \
        >"$R/etc/ld.so.conf.d/x86_64-linux-gnu.conf"
}

identity() {
    local hostname=$1 id=$2 version_id=$3 pretty=$4
    mkdir -p "$R/etc" "$R/usr/lib"
    echo "$hostname" >"$R/etc/hostname"
    {
        echo "PRETTY_NAME=\"$pretty\""
        echo "NAME=\"${pretty%% [0-9]*}\""
        echo "VERSION_ID=\"$version_id\""
        echo "ID=$id"
    } >"$R/usr/lib/os-release"
    ln -s ../usr/lib/os-release "$R/etc/os-release"
}

# --- roots -----------------------------------------------------------------

root_debian() {
    DESCRIPTION="Debian 12: apache2 started by apache2ctl with envvars; mods-enabled/*.load then *.conf (relative links, one absolute link, ldap only in mods-available), <IfModule mod_status.c>, <IfDefine> from APACHE_ARGUMENTS and one never defined, a NODELETE library surviving the first pass, LoadFile; mod_php 8.2 with the apache2 SAPI's conf.d (apcu only there) and php-fpm8.2 with fpm's (xdebug only there); mod_wsgi with lib-dynload and a virtualenv named by WSGIDaemonProcess python-home= (another one only in a disabled site)"
    debian_base
    identity debian-image debian 12 "Debian GNU/Linux 12 (bookworm)"
    local ml=/usr/lib/x86_64-linux-gnu mods=/usr/lib/apache2/modules
    local php=/usr/lib/php/20220829 ea=/etc/apache2 ep=/etc/php/8.2

    # Libraries: one per module or extension, so that membership shows.
    lib $ml/libapr-1.so.0.7.2 libapr-1.so.0
    lib $ml/libxmlx.so.2.9.14 libxmlx.so.2
    lib $ml/libpython3.11.so.1.0 libpython3.11.so.1.0
    lib $ml/libuniqx.so.1 libuniqx.so.1 -Wl,-z,nodelete
    local l
    for l in statusx infox headersx proxyx autoindexx ldapx loadfilex \
        mysqlclientx apcux xdebugx gdx ffix; do
        lib $ml/lib$l.so.1 lib$l.so.1
    done

    exe /usr/sbin/apache2 "$R$ml/libapr-1.so.0.7.2"
    process apache /usr/sbin/apache2
    exe /usr/sbin/php-fpm8.2 "$R$ml/libxmlx.so.2.9.14"
    process php-fpm /usr/sbin/php-fpm8.2
    exe /usr/bin/python3.11

    so $mods/mod_authz_core.so
    so $mods/mod_mpm_prefork.so
    so $mods/libphp8.2.so "$R$ml/libxmlx.so.2.9.14"
    so $mods/mod_rewrite.so "$R$ml/libuniqx.so.1"
    so $mods/mod_status.so "$R$ml/libstatusx.so.1"
    so $mods/mod_wsgi.so "$R$ml/libpython3.11.so.1.0"
    so $mods/mod_info.so "$R$ml/libinfox.so.1"
    so $mods/mod_headers.so "$R$ml/libheadersx.so.1"
    so $mods/mod_proxy.so "$R$ml/libproxyx.so.1"
    so $mods/mod_autoindex.so "$R$ml/libautoindexx.so.1"
    so $mods/mod_ldap.so "$R$ml/libldapx.so.1"

    so $php/opcache.so
    so $php/mysqli.so "$R$ml/libmysqlclientx.so.1"
    so $php/xml.so "$R$ml/libxmlx.so.2.9.14"
    so $php/apcu.so "$R$ml/libapcux.so.1"
    so $php/xdebug.so "$R$ml/libxdebugx.so.1"
    so $php/gd.so "$R$ml/libgdx.so.1"

    local dyn=/usr/lib/python3.11/lib-dynload
    so $dyn/_bar.cpython-311-x86_64-linux-gnu.so
    so $dyn/_foo.cpython-311-x86_64-linux-gnu.so "$R$ml/libffix.so.1"
    # Left behind by an upgrade: another interpreter's.
    so /usr/lib/python3.9/lib-dynload/_old.cpython-39-x86_64-linux-gnu.so

    # Virtualenvs: auditwheel-style packages whose bundled library is found
    # through RUNPATH $ORIGIN/../<pkg>.libs.
    # venv HOME PACKAGE MODULE HASH
    venv() {
        local home=$1 pkg=$2 mod=$3 hash=$4 sp=$1/lib/python3.11/site-packages
        file "$home/pyvenv.cfg" <<EOF
home = /usr/bin
include-system-site-packages = false
version = 3.11.2
executable = /usr/bin/python3.11
command = /usr/bin/python3.11 -m venv $home
EOF
        link /usr/bin/python3.11 "$home/bin/python3"
        link python3 "$home/bin/python"
        mkdir -p "$R$sp/$pkg.libs"
        lib "$sp/$pkg.libs/lib${pkg}dep-$hash.so.1" "lib${pkg}dep-$hash.so.1"
        echo "from . import $mod" | file "$sp/$pkg/__init__.py"
        # shellcheck disable=SC2016 # $ORIGIN is for the loader
        so "$sp/$pkg/$mod.cpython-311-x86_64-linux-gnu.so" \
            "$R$sp/$pkg.libs/lib${pkg}dep-$hash.so.1" \
            -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../'"$pkg.libs"
    }
    venv /srv/venv venvpkg _venv 5e6f7a8b
    venv /srv/othervenv otherpkg _other 0a1b2c3d

    # The service: systemd runs apachectl, which reads envvars.
    file /usr/lib/systemd/system/apache2.service <<'EOF'
[Unit]
Description=The Apache HTTP Server
After=network.target remote-fs.target nss-lookup.target
Documentation=https://httpd.apache.org/docs/2.4/

[Service]
Type=forking
Environment=APACHE_STARTED_BY_SYSTEMD=true
ExecStart=/usr/sbin/apachectl start
ExecStop=/usr/sbin/apachectl graceful-stop
ExecReload=/usr/sbin/apachectl graceful
KillMode=mixed
PrivateTmp=true
Restart=on-abort

[Install]
WantedBy=multi-user.target
EOF
    file /usr/sbin/apache2ctl <<'EOF'
#!/bin/sh
# (sample: Debian's apache2ctl, not executed by anything)
. ${APACHE_ENVVARS:-/etc/apache2/envvars}
exec ${APACHE_HTTPD:-/usr/sbin/apache2} $APACHE_ARGUMENTS -k "$@"
EOF
    chmod 755 "$R/usr/sbin/apache2ctl"
    ln -s apache2ctl "$R/usr/sbin/apachectl"
    file $ea/envvars <<'EOF'
# envvars - default environment variables for apache2ctl

# this won't be correct after changing uid
unset HOME

# for supporting multiple apache2 instances
if [ "${APACHE_CONFDIR##/etc/apache2-}" != "${APACHE_CONFDIR}" ] ; then
	SUFFIX="-${APACHE_CONFDIR##/etc/apache2-}"
else
	SUFFIX=
fi

# Since there is no sane way to get the parsed apache2 config in scripts, some
# settings are defined via environment variables and then used in apache2ctl,
# /etc/init.d/apache2, /etc/logrotate.d/apache2, etc.
export APACHE_RUN_USER=www-data
export APACHE_RUN_GROUP=www-data
# temporary state file location. This might be changed to /run in Wheezy+1
export APACHE_PID_FILE=/var/run/apache2$SUFFIX/apache2.pid
export APACHE_RUN_DIR=/var/run/apache2$SUFFIX
export APACHE_LOCK_DIR=/var/lock/apache2$SUFFIX
# Only /var/log/apache2 is handled by /etc/logrotate.d/apache2.
export APACHE_LOG_DIR=/var/log/apache2$SUFFIX

## The locale used by some modules like mod_dav
export LANG=C
## Uncomment the following line to use the system default locale instead:
#. /etc/default/locale

export LANG

## If you would like to pass arguments to the web server, add them below
## to the APACHE_ARGUMENTS environment.
#export APACHE_ARGUMENTS=''
export APACHE_ARGUMENTS='-D SAMPLE_HEADERS'
EOF

    file $ea/apache2.conf <<'EOF'
# This is the main Apache server configuration file.  It contains the
# configuration directives that give the server its instructions.
# (Debian 12's apache2.conf, shortened, for a soclash sample root.)
#
#	/etc/apache2/
#	|-- apache2.conf
#	|	`--  ports.conf
#	|-- mods-enabled
#	|	|-- *.load
#	|	`-- *.conf
#	|-- conf-enabled
#	|	`-- *.conf
#	`-- sites-enabled
#		`-- *.conf

# The directory where shm and other runtime files will be stored.
DefaultRuntimeDir ${APACHE_RUN_DIR}

PidFile ${APACHE_PID_FILE}
Timeout 300
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5

# These need to be set in /etc/apache2/envvars
User ${APACHE_RUN_USER}
Group ${APACHE_RUN_GROUP}

HostnameLookups Off
ErrorLog ${APACHE_LOG_DIR}/error.log
LogLevel warn

# Include module configuration:
IncludeOptional mods-enabled/*.load
IncludeOptional mods-enabled/*.conf

# Include list of ports to listen on
Include ports.conf

<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>

<Directory /usr/share>
	AllowOverride None
	Require all granted
</Directory>

<Directory /var/www/>
	Options Indexes FollowSymLinks
	AllowOverride None
	Require all granted
</Directory>

AccessFileName .htaccess

<FilesMatch "^\.ht">
	Require all denied
</FilesMatch>

LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" vhost_combined
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
LogFormat "%h %l %u %t \"%r\" %>s %O" common

# Include generic snippets of statements
IncludeOptional conf-enabled/*.conf

# Include the virtual host configurations:
IncludeOptional sites-enabled/*.conf
EOF
    file $ea/ports.conf <<'EOF'
Listen 80

<IfModule ssl_module>
	Listen 443
</IfModule>

<IfModule mod_gnutls.c>
	Listen 443
</IfModule>
EOF

    local ma=$ea/mods-available
    echo "LoadModule authz_core_module $mods/mod_authz_core.so" | file $ma/authz_core.load
    printf '# Conflicts: mpm_event mpm_worker\nLoadModule mpm_prefork_module %s\n' \
        $mods/mod_mpm_prefork.so | file $ma/mpm_prefork.load
    file $ma/mpm_prefork.conf <<'EOF'
<IfModule mpm_prefork_module>
	StartServers		 5
	MinSpareServers		 5
	MaxSpareServers		10
	MaxRequestWorkers	150
	MaxConnectionsPerChild   0
</IfModule>
EOF
    printf '# Conflicts: php5\n# Depends: mpm_prefork\nLoadModule php_module %s\n' \
        $mods/libphp8.2.so | file $ma/php8.2.load
    file $ma/php8.2.conf <<'EOF'
<FilesMatch ".+\.ph(?:ar|p|tml)$">
    SetHandler application/x-httpd-php
</FilesMatch>
<FilesMatch ".+\.phps$">
    SetHandler application/x-httpd-php-source
    Require all denied
</FilesMatch>
<IfModule mod_userdir.c>
    <Directory /home/*/public_html>
        php_admin_flag engine Off
    </Directory>
</IfModule>
EOF
    echo "LoadModule rewrite_module $mods/mod_rewrite.so" | file $ma/rewrite.load
    echo "LoadModule status_module $mods/mod_status.so" | file $ma/status.load
    file $ma/status.conf <<EOF
<IfModule mod_status.c>
	# Allow server status reports generated by mod_status,
	# with the URL of http://servername/server-status
	<Location /server-status>
		SetHandler server-status
		Require local
		#Require ip 192.0.2.0/24
	</Location>

	# Keep track of extended status information for each request
	ExtendedStatus On

	<IfModule mod_proxy.c>
		# Show Proxy LoadBalancer status in mod_status
		ProxyStatus On
	</IfModule>

	# (sample) mod_info goes where mod_status is: taken, status.load ran
	# before any *.conf.
	LoadModule info_module $mods/mod_info.so
</IfModule>

<IfModule !mod_status.c>
	# (sample) never taken
	LoadModule autoindex_module $mods/mod_autoindex.so
</IfModule>
EOF
    echo "LoadModule wsgi_module $mods/mod_wsgi.so" | file $ma/wsgi.load
    file $ma/wsgi.conf <<'EOF'
<IfModule mod_wsgi.c>
	#WSGIPythonHome /usr/local
	#WSGIRestrictEmbedded On
	WSGISocketPrefix /var/run/apache2/wsgi
</IfModule>
EOF
    # Installed, never enabled.
    printf '# Depends: proxy\nLoadModule ldap_module %s\n' $mods/mod_ldap.so | file $ma/ldap.load
    local m
    for m in authz_core.load mpm_prefork.load mpm_prefork.conf php8.2.load php8.2.conf \
        rewrite.load status.conf wsgi.load wsgi.conf; do
        link ../mods-available/$m $ea/mods-enabled/$m
    done
    # As an administrator's `ln -s` makes it, not a2enmod: absolute.
    link $ma/status.load $ea/mods-enabled/status.load

    file $ea/conf-available/security.conf <<'EOF'
ServerTokens OS
ServerSignature On
TraceEnable Off
EOF
    file $ea/conf-available/sample.conf <<EOF
# (sample) Modules behind defines: SAMPLE_HEADERS comes from
# APACHE_ARGUMENTS in /etc/apache2/envvars, SAMPLE_PROXY from nowhere.
<IfDefine SAMPLE_PROXY>
	LoadModule proxy_module $mods/mod_proxy.so
</IfDefine>
<IfDefine SAMPLE_HEADERS>
	LoadModule headers_module $mods/mod_headers.so
</IfDefine>
# Through the merged-/usr link /lib.
LoadFile /lib/x86_64-linux-gnu/libloadfilex.so.1
EOF
    link ../conf-available/security.conf $ea/conf-enabled/security.conf
    link ../conf-available/sample.conf $ea/conf-enabled/sample.conf

    file $ea/sites-available/000-default.conf <<'EOF'
<VirtualHost *:80>
	ServerAdmin webmaster@localhost
	DocumentRoot /var/www/html

	WSGIDaemonProcess app python-home=/srv/venv processes=2 threads=15 display-name=%{GROUP}
	WSGIProcessGroup app
	WSGIApplicationGroup %{GLOBAL}
	WSGIScriptAlias / /srv/app/app.wsgi

	<Directory /srv/app>
		Require all granted
	</Directory>

	ErrorLog ${APACHE_LOG_DIR}/error.log
	CustomLog ${APACHE_LOG_DIR}/access.log combined
</VirtualHost>
EOF
    # A site that is not enabled: its virtualenv is nobody's.
    file $ea/sites-available/other-app.conf <<'EOF'
<VirtualHost *:8080>
	WSGIDaemonProcess other python-home=/srv/othervenv
	WSGIProcessGroup other
	WSGIScriptAlias / /srv/other/app.wsgi
</VirtualHost>
EOF
    link ../sites-available/000-default.conf $ea/sites-enabled/000-default.conf
    file /srv/app/app.wsgi <<'EOF'
import venvpkg


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"venvpkg\n"]
EOF
    mkdir -p "$R/var/www/html"

    # PHP: one mods-available, two SAPIs, each its own conf.d of absolute
    # links (as phpenmod makes them).
    local pm=$ep/mods-available
    printf '; configuration for php opcache module\n; priority=10\nzend_extension=opcache.so\n' | file $pm/opcache.ini
    printf '; configuration for php mysql module\n; priority=20\nextension=mysqli.so\n' | file $pm/mysqli.ini
    printf '; configuration for php xml module\n; priority=20\nextension=xml.so\n' | file $pm/xml.ini
    printf '; priority=20\nextension=apcu\napc.enabled=1\n' | file $pm/apcu.ini
    printf '; priority=20\nzend_extension=xdebug.so\nxdebug.mode=debug\n' | file $pm/xdebug.ini
    printf '; priority=20\nextension=gd.so\n' | file $pm/gd.ini
    local sapi
    for sapi in apache2 fpm; do
        file $ep/$sapi/php.ini <<'EOF'
[PHP]
engine = On
short_open_tag = Off
memory_limit = 128M

; Directory in which the loadable extensions (modules) reside.
; https://php.net/extension-dir
;extension_dir = "./"

;extension=gd

[Date]
;date.timezone =
EOF
        link $pm/opcache.ini $ep/$sapi/conf.d/10-opcache.ini
        link $pm/mysqli.ini $ep/$sapi/conf.d/20-mysqli.ini
        link $pm/xml.ini $ep/$sapi/conf.d/20-xml.ini
    done
    link $pm/apcu.ini $ep/apache2/conf.d/20-apcu.ini
    link $pm/xdebug.ini $ep/fpm/conf.d/20-xdebug.ini
    file $ep/fpm/php-fpm.conf <<'EOF'
[global]
pid = /run/php/php8.2-fpm.pid
error_log = /var/log/php8.2-fpm.log
include=/etc/php/8.2/fpm/pool.d/*.conf
EOF
    file $ep/fpm/pool.d/www.conf <<'EOF'
[www]
user = www-data
group = www-data
listen = /run/php/php8.2-fpm.sock
pm = dynamic
pm.max_children = 5
pm.start_servers = 2
pm.min_spare_servers = 1
pm.max_spare_servers = 3
EOF

    # What that configuration makes the processes load, in order.
    # Pass 1 loaded mod_rewrite and with it libuniqx (DF_1_NODELETE): when
    # the pass-1 modules are unloaded it stays, at its place (H4, G9).
    loads apache survivor $ml/libuniqx.so.1
    # mods-enabled/*.load in byte order (H3); status.load through its
    # absolute link; ldap.load is not enabled.
    loads apache module $mods/mod_authz_core.so
    loads apache module $mods/mod_mpm_prefork.so
    loads apache module $mods/libphp8.2.so
    loads apache module $mods/mod_rewrite.so
    loads apache module $mods/mod_status.so
    loads apache module $mods/mod_wsgi.so
    # mods-enabled/*.conf: status.conf's <IfModule mod_status.c> is taken,
    # its <IfModule !mod_status.c> (mod_autoindex) is not.
    loads apache module $mods/mod_info.so
    # conf-enabled/sample.conf: SAMPLE_HEADERS is defined, SAMPLE_PROXY not.
    loads apache module $mods/mod_headers.so
    loads apache module /lib/x86_64-linux-gnu/libloadfilex.so.1
    # mod_php's extensions after every module: zend extensions first, then
    # extensions in the order of apache2/conf.d (H9); gd is enabled nowhere,
    # xdebug only for fpm.
    loads apache zend $php/opcache.so
    loads apache php $php/apcu.so
    loads apache php $php/mysqli.so
    loads apache php $php/xml.so
    # What Python 3.11 may import in the Apache children, after everything
    # global: lib-dynload (not python3.9's).
    loads apache python $dyn/_bar.cpython-311-x86_64-linux-gnu.so
    loads apache python $dyn/_foo.cpython-311-x86_64-linux-gnu.so
    # The enabled site's WSGIDaemonProcess app is a process of its own: the
    # parent's image, lib-dynload (its virtualenv's base Python's) and its
    # virtualenv's site-packages (not /srv/othervenv: that site is off).
    daemon app
    loads wsgi:app python $dyn/_bar.cpython-311-x86_64-linux-gnu.so
    loads wsgi:app python $dyn/_foo.cpython-311-x86_64-linux-gnu.so
    loads wsgi:app python /srv/venv/lib/python3.11/site-packages/venvpkg/_venv.cpython-311-x86_64-linux-gnu.so

    # php-fpm: fpm/conf.d; xdebug is a zend extension, so it comes before
    # mysqli and xml although its file sorts after theirs.
    loads php-fpm zend $php/opcache.so
    loads php-fpm zend $php/xdebug.so
    loads php-fpm php $php/mysqli.so
    loads php-fpm php $php/xml.so
}

root_rhel() {
    DESCRIPTION="RHEL 9: httpd.conf with ServerRoot /etc/httpd, Include conf.modules.d/*.conf (00-mpm.conf loads prefork, 15-php.conf's <IfModule prefork.c> takes libphp.so and not libphp-zts.so, an .rpmsave file is no match, mpm_event commented out), modules reached through /etc/httpd/modules -> ../../usr/lib64/httpd/modules; /etc/php.ini and /etc/php.d for mod_php and php-fpm alike; mod_wsgi_python3 with python3.9 lib-dynload; /usr/lib64 with /lib64 -> usr/lib64"
    mkdir -p "$R/usr/lib64" "$R/usr/lib" "$R/usr/bin" "$R/usr/sbin" "$R/etc/ld.so.conf.d"
    ln -s usr/lib "$R/lib"
    ln -s usr/lib64 "$R/lib64"
    ln -s usr/bin "$R/bin"
    ln -s usr/sbin "$R/sbin"
    cp -- "$HOST_LDSO" "$R/usr/lib64/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R/usr/lib64/libc.so.6"
    echo 'include ld.so.conf.d/*.conf' >"$R/etc/ld.so.conf"
    # RHEL's ldconfig and ld.so have /lib64:/usr/lib64 built in; the Debian
    # ones this root is built and checked with do not.
    printf '# for the Debian ldconfig that built this sample root\n/lib64\n' \
        >"$R/etc/ld.so.conf.d/lib64.conf"
    echo /usr/lib64/mysql >"$R/etc/ld.so.conf.d/mysql-x86_64.conf"
    identity rhel-image '"rhel"' 9.4 "Red Hat Enterprise Linux 9.4 (Plow)"

    local l64=/usr/lib64 mods=/usr/lib64/httpd/modules php=/usr/lib64/php/modules
    lib $l64/libapr-1.so.0.7.0 libapr-1.so.0
    lib $l64/libxmlx.so.2.9.13 libxmlx.so.2
    lib $l64/libpython3.9.so.1.0 libpython3.9.so.1.0
    lib $l64/mysql/libmysqlclientx.so.21.2.38 libmysqlclientx.so.21
    local l
    for l in statusx eventx tsx ldapx gdx ffix; do
        lib $l64/lib$l.so.1 lib$l.so.1
    done
    exe /usr/sbin/httpd "$R$l64/libapr-1.so.0.7.0"
    process apache /usr/sbin/httpd
    exe /usr/sbin/php-fpm "$R$l64/libxmlx.so.2.9.13"
    process php-fpm /usr/sbin/php-fpm

    so $mods/mod_authz_core.so
    so $mods/mod_rewrite.so
    so $mods/mod_status.so "$R$l64/libstatusx.so.1"
    so $mods/mod_mpm_prefork.so
    so $mods/mod_mpm_event.so "$R$l64/libeventx.so.1"
    so $mods/mod_ldap.so "$R$l64/libldapx.so.1"
    so $mods/mod_wsgi_python3.so "$R$l64/libpython3.9.so.1.0"
    so $mods/libphp.so "$R$l64/libxmlx.so.2.9.13"
    so $mods/libphp-zts.so "$R$l64/libtsx.so.1"
    link ../../usr/lib64/httpd/modules /etc/httpd/modules

    so $php/opcache.so
    so $php/xml.so "$R$l64/libxmlx.so.2.9.13"
    so $php/mysqli.so "$R$l64/mysql/libmysqlclientx.so.21.2.38"
    so $php/gd.so "$R$l64/libgdx.so.1"
    local dyn=$l64/python3.9/lib-dynload
    so $dyn/_foo.cpython-39-x86_64-linux-gnu.so "$R$l64/libffix.so.1"

    file /usr/lib/systemd/system/httpd.service <<'EOF'
[Unit]
Description=The Apache HTTP Server
Wants=httpd-init.service
After=network.target remote-fs.target nss-lookup.target httpd-init.service
Documentation=man:httpd.service(8)

[Service]
Type=notify
Environment=LANG=C

ExecStart=/usr/sbin/httpd $OPTIONS -DFOREGROUND
ExecReload=/usr/sbin/httpd $OPTIONS -k graceful
# Send SIGWINCH for graceful stop
KillSignal=SIGWINCH
KillMode=mixed
PrivateTmp=true
OOMPolicy=continue

[Install]
WantedBy=multi-user.target
EOF
    local eh=/etc/httpd
    file $eh/conf/httpd.conf <<'EOF'
#
# This is the main Apache HTTP server configuration file.  It contains the
# configuration directives that give the server its instructions.
# (RHEL 9's httpd.conf, shortened, for a soclash sample root.)
#
ServerRoot "/etc/httpd"

Listen 80

#
# Dynamic Shared Object (DSO) Support
#
Include conf.modules.d/*.conf

User apache
Group apache

ServerAdmin root@localhost

<Directory />
    AllowOverride none
    Require all denied
</Directory>

DocumentRoot "/var/www/html"

<Directory "/var/www/html">
    Options Indexes FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>

<IfModule dir_module>
    DirectoryIndex index.html
</IfModule>

<Files ".ht*">
    Require all denied
</Files>

ErrorLog "logs/error_log"
LogLevel warn

<IfModule log_config_module>
    LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" combined
    CustomLog "logs/access_log" combined
</IfModule>

AddDefaultCharset UTF-8

EnableSendfile on

# Load config files in the "/etc/httpd/conf.d" directory, if any.
IncludeOptional conf.d/*.conf
EOF
    file $eh/conf.modules.d/00-base.conf <<'EOF'
#
# This file loads most of the modules included with the Apache HTTP
# Server itself.
#
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule rewrite_module modules/mod_rewrite.so
LoadModule status_module modules/mod_status.so
EOF
    file $eh/conf.modules.d/00-mpm.conf <<'EOF'
# Select the MPM module which should be used by uncommenting exactly
# one of the following LoadModule lines.  See the httpd.conf(5) man
# page for more information on changing the MPM.

# prefork MPM: Implements a non-threaded, pre-forking web server
# See: http://httpd.apache.org/docs/2.4/mod/prefork.html
#
# NOTE: If enabling prefork, the httpd_graceful_shutdown SELinux
# boolean should be enabled, to allow graceful stop/shutdown.
#
LoadModule mpm_prefork_module modules/mod_mpm_prefork.so

# worker MPM: Multi-Processing Module implementing a hybrid
# multi-threaded multi-process web server
# See: http://httpd.apache.org/docs/2.4/mod/worker.html
#
#LoadModule mpm_worker_module modules/mod_mpm_worker.so

# event MPM: A variant of the worker MPM with the goal of consuming
# threads only for connections with active processing
# See: http://httpd.apache.org/docs/2.4/mod/event.html
#
#LoadModule mpm_event_module modules/mod_mpm_event.so
EOF
    # Left by rpm when mod_ldap was removed: `*.conf` does not match it.
    echo 'LoadModule ldap_module modules/mod_ldap.so' | file $eh/conf.modules.d/01-ldap.conf.rpmsave
    file $eh/conf.modules.d/10-wsgi-python3.conf <<'EOF'
<IfModule !wsgi_module>
    LoadModule wsgi_module modules/mod_wsgi_python3.so
</IfModule>
EOF
    file $eh/conf.modules.d/15-php.conf <<'EOF'
# Cannot load both php5, php7 and php modules
<IfModule !mod_php5.c>
  <IfModule !mod_php7.c>
    <IfModule prefork.c>
      LoadModule php_module modules/libphp.so
    </IfModule>
  </IfModule>
</IfModule>

# (sample) the thread-safe build, for the threaded MPMs only
<IfModule !prefork.c>
  LoadModule php_module modules/libphp-zts.so
</IfModule>
EOF
    file $eh/conf.d/php.conf <<'EOF'
#
# Allow php to handle Multiviews
#
AddType text/html .php

DirectoryIndex index.php

<IfModule  mod_php.c>
    <FilesMatch \.(php|phar)$>
        SetHandler application/x-httpd-php
    </FilesMatch>
    php_value session.save_handler "files"
    php_value session.save_path    "/var/lib/php/session"
</IfModule>
EOF
    file $eh/conf.d/welcome.conf <<'EOF'
<LocationMatch "^/+$">
    Options -Indexes
    ErrorDocument 403 /.noindex.html
</LocationMatch>
EOF
    mkdir -p "$R/var/www/html"

    file /etc/php.ini <<'EOF'
[PHP]
engine = On
memory_limit = 128M
; Directory in which the loadable extensions (modules) reside.
;extension_dir = "./"
EOF
    printf '; Enable Zend OPcache extension module\nzend_extension=opcache\n' | file /etc/php.d/10-opcache.ini
    printf '; Enable xml extension module\nextension=xml\n' | file /etc/php.d/20-xml.ini
    printf '; Enable mysqli extension module\nextension=mysqli\n' | file /etc/php.d/30-mysqli.ini
    # Kept by rpm: PHP scans `*.ini` only.
    printf '; Enable gd extension module\nextension=gd\n' | file /etc/php.d/20-gd.ini.rpmsave
    file /etc/php-fpm.conf <<'EOF'
[global]
pid = /run/php-fpm/php-fpm.pid
error_log = /var/log/php-fpm/error.log
include=/etc/php-fpm.d/*.conf
EOF
    file /etc/php-fpm.d/www.conf <<'EOF'
[www]
user = apache
group = apache
listen = /run/php-fpm/www.sock
pm = dynamic
pm.max_children = 50
pm.start_servers = 5
pm.min_spare_servers = 5
pm.max_spare_servers = 35
EOF

    # conf.modules.d/*.conf in byte order; /etc/httpd/modules is a link.
    loads apache module /etc/httpd/modules/mod_authz_core.so
    loads apache module /etc/httpd/modules/mod_rewrite.so
    loads apache module /etc/httpd/modules/mod_status.so
    loads apache module /etc/httpd/modules/mod_mpm_prefork.so
    loads apache module /etc/httpd/modules/mod_wsgi_python3.so
    # prefork.c is loaded by now: libphp.so, not libphp-zts.so.
    loads apache module /etc/httpd/modules/libphp.so
    # /usr/lib64/php/modules by default; 20-gd.ini.rpmsave is not read.
    loads apache zend $php/opcache.so
    loads apache php $php/xml.so
    loads apache php $php/mysqli.so
    loads apache python $dyn/_foo.cpython-39-x86_64-linux-gnu.so
    # The same ini files for php-fpm.
    loads php-fpm zend $php/opcache.so
    loads php-fpm php $php/xml.so
    loads php-fpm php $php/mysqli.so
}

root_source() {
    DESCRIPTION="httpd built from source in /usr/local/apache2 on Debian 12: RUNPATH to its own libapr, LoadModule relative to ServerRoot, Include conf/extra/*.conf in byte order (B.conf before a.conf), <IfModule headers_module> after it taken and <IfModule ssl_module> not, commented-out modules, conf/extra/proxy.conf.disabled no match"
    debian_base
    identity source-image debian 12 "Debian GNU/Linux 12 (bookworm)"
    local ml=/usr/lib/x86_64-linux-gnu ap=/usr/local/apache2
    local mods=$ap/modules
    lib $ap/lib/libapr-1.so.0.7.4 libapr-1.so.0
    ln -s libapr-1.so.0.7.4 "$R$ap/lib/libapr-1.so.0"
    ln -s libapr-1.so.0.7.4 "$R$ap/lib/libapr-1.so"
    local l
    for l in statusx headersx aliasx remoteipx sslx shmcbx proxyx preforkx; do
        lib $ml/lib$l.so.1 lib$l.so.1
    done
    exe $ap/bin/httpd "$R$ap/lib/libapr-1.so.0.7.4" -Wl,--enable-new-dtags,-rpath,$ap/lib
    process apache $ap/bin/httpd
    file $ap/bin/apachectl <<'EOF'
#!/bin/sh
# (sample: the apachectl of a source build, not executed by anything)
HTTPD='/usr/local/apache2/bin/httpd'
$HTTPD -k "$@"
EOF
    chmod 755 "$R$ap/bin/apachectl"

    so $mods/mod_mpm_event.so
    so $mods/mod_mpm_prefork.so "$R$ml/libpreforkx.so.1"
    so $mods/mod_authz_core.so
    so $mods/mod_status.so "$R$ml/libstatusx.so.1"
    so $mods/mod_headers.so "$R$ml/libheadersx.so.1"
    so $mods/mod_alias.so "$R$ml/libaliasx.so.1"
    so $mods/mod_remoteip.so "$R$ml/libremoteipx.so.1"
    so $mods/mod_ssl.so "$R$ml/libsslx.so.1"
    so $mods/mod_socache_shmcb.so "$R$ml/libshmcbx.so.1"
    so $mods/mod_proxy.so "$R$ml/libproxyx.so.1"

    file $ap/conf/httpd.conf <<'EOF'
#
# This is the main Apache HTTP server configuration file.  It contains the
# configuration directives that give the server its instructions.
# (httpd 2.4's default conf/httpd.conf, shortened, for a soclash sample root.)
#
ServerRoot "/usr/local/apache2"

Listen 80

#
# Dynamic Shared Object (DSO) Support
#
LoadModule mpm_event_module modules/mod_mpm_event.so
#LoadModule mpm_prefork_module modules/mod_mpm_prefork.so
LoadModule authz_core_module modules/mod_authz_core.so
#LoadModule ssl_module modules/mod_ssl.so
LoadModule status_module modules/mod_status.so

<IfModule unixd_module>
User daemon
Group daemon
</IfModule>

ServerAdmin you@example.com

<Directory />
    AllowOverride none
    Require all denied
</Directory>

DocumentRoot "/usr/local/apache2/htdocs"
<Directory "/usr/local/apache2/htdocs">
    Options Indexes FollowSymLinks
    AllowOverride None
    Require all granted
</Directory>

ErrorLog "logs/error_log"
LogLevel warn

# Supplemental configuration
Include conf/extra/*.conf

# (sample) after the Include: mod_headers is loaded by then, mod_ssl is not.
<IfModule headers_module>
LoadModule remoteip_module modules/mod_remoteip.so
</IfModule>
<IfModule ssl_module>
LoadModule socache_shmcb_module modules/mod_socache_shmcb.so
</IfModule>
EOF
    # Byte order puts B.conf before a.conf ('B' is 0x42, 'a' 0x61).
    printf '# (sample) sorts before a.conf\nLoadModule headers_module modules/mod_headers.so\n' |
        file $ap/conf/extra/B.conf
    printf '# (sample) sorts after B.conf\nLoadModule alias_module modules/mod_alias.so\n' |
        file $ap/conf/extra/a.conf
    echo 'LoadModule proxy_module modules/mod_proxy.so' | file $ap/conf/extra/proxy.conf.disabled
    mkdir -p "$R$ap/htdocs" "$R$ap/logs"

    loads apache module $mods/mod_mpm_event.so
    loads apache module $mods/mod_authz_core.so
    loads apache module $mods/mod_status.so
    loads apache module $mods/mod_headers.so
    loads apache module $mods/mod_alias.so
    loads apache module $mods/mod_remoteip.so
}

root_wsgi() {
    DESCRIPTION="mod_wsgi's processes: two WSGIDaemonProcess groups with python-home= virtualenvs, each with its own build of one wheel (clashpkg, whose module calls clash_fn, which a PHP extension's library defines too; and a bundled library of one soname, built twice), a third group no application names, and an embedded application with WSGIPythonPath; mod_php with that extension"
    debian_base
    identity wsgi-image debian 12 "Debian GNU/Linux 12 (bookworm)"
    local ml=/usr/lib/x86_64-linux-gnu mods=/usr/lib/apache2/modules
    local php=/usr/lib/php/20220829 ea=/etc/apache2 ep=/etc/php/8.2
    local dyn=/usr/lib/python3.11/lib-dynload

    # clash_fn: defined by a system library that a PHP extension brings
    # into the global scope, and by each wheel build's own copy, which its
    # module calls.
    printf 'int clash_fn(void) { return 7; }\n' >"$B/def.c"
    printf 'extern int clash_fn(void);\nint PyInit__clash(void) { return clash_fn(); }\n' >"$B/ref.c"
    gcc -c -fPIC -o "$B/def.o" "$B/def.c"
    gcc -c -fPIC -o "$B/ref.o" "$B/ref.c"

    lib $ml/libapr-1.so.0.7.2 libapr-1.so.0
    lib $ml/libpython3.11.so.1.0 libpython3.11.so.1.0
    link_bg "$R$ml/libclashx.so.1" -shared "$B/def.o" -Wl,-soname,libclashx.so.1
    LIBS_PENDING=1
    exe /usr/sbin/apache2 "$R$ml/libapr-1.so.0.7.2"
    process apache /usr/sbin/apache2
    exe /usr/bin/python3.11
    so $mods/mod_mpm_prefork.so
    so $mods/libphp8.2.so
    so $mods/mod_wsgi.so "$R$ml/libpython3.11.so.1.0"
    so $php/clashext.so "$R$ml/libclashx.so.1"
    so $dyn/_std.cpython-311-x86_64-linux-gnu.so
    # Embedded mode's path (WSGIPythonPath): no daemon imports from it.
    so /srv/emb/lib/_emb.cpython-311-x86_64-linux-gnu.so

    # venv HOME HASH: a virtualenv with clashpkg: its module calls clash_fn,
    # its own copy of which is in clashpkg.libs (found through RUNPATH
    # $ORIGIN/../clashpkg.libs), with libsame-33333333.so.1: one soname in
    # both virtualenvs, another build in each.
    venv() {
        local home=$1 hash=$2 sp=$1/lib/python3.11/site-packages
        printf 'home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n' |
            file "$home/pyvenv.cfg"
        link /usr/bin/python3.11 "$home/bin/python3"
        link_bg "$R$sp/clashpkg.libs/libclashx-$hash.so.1" -shared "$B/def.o" \
            -Wl,-soname,"libclashx-$hash.so.1"
        lib "$sp/clashpkg.libs/libsame-33333333.so.1" libsame-33333333.so.1
        settle
        # shellcheck disable=SC2016 # $ORIGIN is for the loader
        link_bg "$R$sp/clashpkg/_clash.cpython-311-x86_64-linux-gnu.so" -shared "$B/ref.o" \
            -Wl,--no-as-needed "$R$sp/clashpkg.libs/libclashx-$hash.so.1" \
            "$R$sp/clashpkg.libs/libsame-33333333.so.1" \
            -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../clashpkg.libs'
        CANDIDATES+=("$sp/clashpkg/_clash.cpython-311-x86_64-linux-gnu.so")
        echo "from . import _clash" | file "$sp/clashpkg/__init__.py"
    }
    venv /srv/one/venv 11111111
    venv /srv/two/venv 22222222

    printf '%s\n' 'ServerRoot "/etc/apache2"' 'PidFile /run/apache2/apache2.pid' \
        'User www-data' 'Group www-data' \
        "LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so" \
        "LoadModule php_module $mods/libphp8.2.so" \
        "LoadModule wsgi_module $mods/mod_wsgi.so" \
        'Include sites-enabled/*.conf' | file $ea/apache2.conf
    link ../sites-available/apps.conf $ea/sites-enabled/apps.conf
    printf '%s\n' \
        'WSGIPythonPath /srv/emb/lib' \
        'WSGIDaemonProcess one python-home=/srv/one/venv display-name=%{GROUP}' \
        'WSGIDaemonProcess two python-home=/srv/two/venv' \
        '# No application names it: still a process of its own.' \
        'WSGIDaemonProcess idle python-home=/srv/two/venv' \
        '<VirtualHost *:80>' \
        '	WSGIScriptAlias /one /srv/one/app.wsgi' \
        '	WSGIScriptAlias /two /srv/two/app.wsgi process-group=two application-group=%{GLOBAL}' \
        '	# Embedded: no process group.' \
        '	WSGIScriptAlias /emb /srv/emb/app.wsgi' \
        '	<Directory /srv/one>' \
        '		WSGIProcessGroup one' \
        '		Require all granted' \
        '	</Directory>' \
        '</VirtualHost>' | file $ea/sites-available/apps.conf
    local app
    for app in one two emb; do
        printf 'def application(environ, start_response):\n    start_response("200 OK", [])\n    return [b"%s"]\n' "$app" |
            file /srv/$app/app.wsgi
    done
    printf '; priority=20\nextension=clashext.so\n' | file $ep/mods-available/clash.ini
    printf '[PHP]\nengine = On\n' | file $ep/apache2/php.ini
    link $ep/mods-available/clash.ini $ep/apache2/conf.d/20-clash.ini

    loads apache module $mods/mod_mpm_prefork.so
    loads apache module $mods/libphp8.2.so
    loads apache module $mods/mod_wsgi.so
    loads apache php $php/clashext.so
    # The Apache children: lib-dynload, then WSGIPythonPath.
    loads apache python $dyn/_std.cpython-311-x86_64-linux-gnu.so
    loads apache python /srv/emb/lib/_emb.cpython-311-x86_64-linux-gnu.so
    # Each daemon group in configuration order: the parent's image, its
    # virtualenv's base Python's lib-dynload, its site-packages; never
    # WSGIPythonPath (embedded mode's alone).
    local sp=lib/python3.11/site-packages/clashpkg/_clash.cpython-311-x86_64-linux-gnu.so
    daemon one
    loads wsgi:one python $dyn/_std.cpython-311-x86_64-linux-gnu.so
    loads wsgi:one python /srv/one/venv/$sp
    daemon two
    loads wsgi:two python $dyn/_std.cpython-311-x86_64-linux-gnu.so
    loads wsgi:two python /srv/two/venv/$sp
    daemon idle
    loads wsgi:idle python $dyn/_std.cpython-311-x86_64-linux-gnu.so
    loads wsgi:idle python /srv/two/venv/$sp
}

# python_stack KIND: Python 3.11 built from source under /usr/local with
# httpd 2.4 in /usr/local/apache2, its OpenSSL compiled in and exported
# (-rdynamic), and mod_wsgi built against the interpreter: KIND static
# (mod_wsgi carries libpython: it defines Python's C API and holds the
# strings CPython compiles in: getpath.c's PREFIX and EXEC_PREFIX,
# dynload_shlib.c's extension suffixes, PY_VERSION) or shared (mod_wsgi
# needs /usr/local/lib/libpython3.11.so.1.0). Both import _ssl and _hashlib
# from /usr/local/lib/python3.11/lib-dynload, which need the system's
# libssl.so.3 and libcrypto.so.3 and call SSL_new, SSL_CTX_new and
# EVP_DigestInit_ex, which httpd exports too.
python_stack() {
    local kind=$1
    debian_base
    identity "${kind}py-image" debian 12 "Debian GNU/Linux 12 (bookworm)"
    local ml=/usr/lib/x86_64-linux-gnu ap=/usr/local/apache2
    local mods=$ap/modules dyn=/usr/local/lib/python3.11/lib-dynload

    # The system's OpenSSL 3, its symbols versioned as the real one's.
    printf 'OPENSSL_3.0.0 { global: *; };\n' >"$B/ossl3.map"
    local i ssl_fns='' crypto_fns=''
    for i in 0 1 2 3 4 5; do
        ssl_fns+="int SSL_fn$i(void) { return $i; }"$'\n'
        crypto_fns+="int EVP_fn$i(void) { return $i; }"$'\n'
    done
    printf '%sint SSL_new(void *c) { (void)c; return 3; }\nint SSL_CTX_new(void *m) { (void)m; return 3; }\n' \
        "$ssl_fns" >"$B/libssl.c"
    printf '%sint EVP_DigestInit_ex(void *c, void *t, void *e) { (void)c; (void)t; (void)e; return 3; }\n' \
        "$crypto_fns" >"$B/libcrypto.c"
    # httpd's static OpenSSL 1.1: the same API, unversioned, exported.
    cat "$B/libssl.c" "$B/libcrypto.c" >"$B/httpd-ssl.c"
    echo 'const char openssl_version_text[] = "OpenSSL 1.1.1w  11 Sep 2023";' >>"$B/httpd-ssl.c"
    # The interpreter's C API and its compiled-in strings (kept: exported).
    cat >"$B/libpython.c" <<'EOF'
int Py_Initialize(void) { return 0; }
int Py_IsInitialized(void) { return 1; }
int PyGILState_Ensure(void) { return 1; }
void PyGILState_Release(int s) { (void)s; }
int PyModule_Create2(void *d, int v) { (void)d; return v; }
const char *const getpath_keys[] = { "PREFIX", "EXEC_PREFIX", "PYTHONPATH", "VPATH", "PLATLIBDIR" };
const char getpath_prefix[] = "/usr/local";
const char getpath_exec_prefix[] = "/usr/local";
const char getpath_platlibdir[] = "lib";
const char *const dynload_suffixes[] = { ".cpython-311-x86_64-linux-gnu.so", ".abi3.so", ".so" };
const char py_version[] = "3.11.9";
const char py_version_format[] = "%.80s (%.80s) %.80s";
EOF
    cat >"$B/wsgi.c" <<'EOF'
int Py_Initialize(void);
const char mod_wsgi_version[] = "5.0.0";
int wsgi_init(void) { return Py_Initialize(); }
EOF
    printf 'int SSL_new(void *c);\nint SSL_CTX_new(void *m);\nint PyInit__ssl(void) { return SSL_new(0) + SSL_CTX_new(0); }\n' >"$B/_ssl.c"
    printf 'int EVP_DigestInit_ex(void *c, void *t, void *e);\nint PyInit__hashlib(void) { return EVP_DigestInit_ex(0, 0, 0); }\n' >"$B/_hashlib.c"
    local c
    for c in libssl libcrypto httpd-ssl libpython wsgi _ssl _hashlib; do
        gcc -c -fPIC -o "$B/$c.o" "$B/$c.c"
    done

    link_bg "$R$ml/libcrypto.so.3" -shared "$B/libcrypto.o" -Wl,-soname,libcrypto.so.3 \
        -Wl,--version-script="$B/ossl3.map"
    link_bg "$R$ml/libssl.so.3" -shared "$B/libssl.o" -Wl,-soname,libssl.so.3 \
        -Wl,--version-script="$B/ossl3.map"
    lib $ap/lib/libapr-1.so.0.7.4 libapr-1.so.0
    if [[ $kind == shared ]]; then
        link_bg "$R/usr/local/lib/libpython3.11.so.1.0" -shared "$B/libpython.o" \
            -Wl,-soname,libpython3.11.so.1.0
    fi
    settle
    ln -s libapr-1.so.0.7.4 "$R$ap/lib/libapr-1.so.0"
    exe $ap/bin/httpd "$B/httpd-ssl.o" -rdynamic "$R$ap/lib/libapr-1.so.0.7.4" \
        -Wl,--enable-new-dtags,-rpath,$ap/lib
    process apache $ap/bin/httpd
    so $mods/mod_mpm_prefork.so
    if [[ $kind == static ]]; then
        link_bg "$R$mods/mod_wsgi.so" -shared "$B/wsgi.o" "$B/libpython.o"
    else
        link_bg "$R$mods/mod_wsgi.so" -shared "$B/wsgi.o" -Wl,--no-as-needed \
            "$R/usr/local/lib/libpython3.11.so.1.0"
    fi
    CANDIDATES+=("$mods/mod_wsgi.so")
    link_bg "$R$dyn/_ssl.cpython-311-x86_64-linux-gnu.so" -shared "$B/_ssl.o" \
        -Wl,--no-as-needed "$R$ml/libssl.so.3" "$R$ml/libcrypto.so.3"
    link_bg "$R$dyn/_hashlib.cpython-311-x86_64-linux-gnu.so" -shared "$B/_hashlib.o" \
        -Wl,--no-as-needed "$R$ml/libcrypto.so.3"
    CANDIDATES+=("$dyn/_ssl.cpython-311-x86_64-linux-gnu.so" "$dyn/_hashlib.cpython-311-x86_64-linux-gnu.so")
    # The pure standard library's landmark, and a site-packages module.
    echo '# (sample) the landmark getpath looks for' | file /usr/local/lib/python3.11/os.py
    so /usr/local/lib/python3.11/site-packages/sitepkg/_site.cpython-311-x86_64-linux-gnu.so
    # Another interpreter's installation: neither stack imports from it.
    so /usr/lib/python3.9/lib-dynload/_other.cpython-39-x86_64-linux-gnu.so

    file $ap/conf/httpd.conf <<'EOF'
# (sample) httpd 2.4 built from source, with mod_wsgi built against the
# Python 3.11 built from source under /usr/local.
ServerRoot "/usr/local/apache2"
Listen 80
LoadModule mpm_prefork_module modules/mod_mpm_prefork.so
LoadModule wsgi_module modules/mod_wsgi.so
User daemon
Group daemon
DocumentRoot "/usr/local/apache2/htdocs"
WSGIDaemonProcess site display-name=%{GROUP}
WSGIScriptAlias /site /srv/site/app.wsgi process-group=site
WSGIScriptAlias / /srv/app/app.wsgi
EOF
    mkdir -p "$R$ap/htdocs" "$R$ap/logs"
    local app
    for app in app site; do
        printf 'import ssl, hashlib\ndef application(environ, start_response):\n    start_response("200 OK", [])\n    return [b"%s"]\n' "$app" |
            file /srv/$app/app.wsgi
    done

    loads apache module $mods/mod_mpm_prefork.so
    loads apache module $mods/mod_wsgi.so
    local p
    for p in apache site; do
        if [[ $p == site ]]; then
            daemon site
            p=wsgi:site
        fi
        loads $p python $dyn/_hashlib.cpython-311-x86_64-linux-gnu.so
        loads $p python $dyn/_ssl.cpython-311-x86_64-linux-gnu.so
        loads $p python /usr/local/lib/python3.11/site-packages/sitepkg/_site.cpython-311-x86_64-linux-gnu.so
    done
}

root_staticpy() {
    DESCRIPTION="Python 3.11 and httpd built from source under /usr/local: mod_wsgi with libpython linked statically (Python's C API and CPython's compiled-in PREFIX, extension suffix and version strings in mod_wsgi.so itself), httpd exporting a static OpenSSL; _ssl and _hashlib in /usr/local/lib/python3.11/lib-dynload need the system's libssl/libcrypto; an embedded application and a daemon group without a home"
    python_stack static
}

root_sharedpy() {
    DESCRIPTION="The staticpy stack with mod_wsgi built against the shared /usr/local/lib/libpython3.11.so.1.0"
    python_stack shared
}

# Library plugins: libraries that dlopen modules from a directory of their
# own on demand, each a member of the process that may be loaded, with its
# loader's mode (src/image/plugins.rs): glibc's gconv modules (those its
# gconv-modules configuration names), ImageMagick's coders and filters
# (libltdl), Cyrus SASL's mechanisms, GIO modules, OpenSSL's providers.
root_plugins() {
    DESCRIPTION="Library plugins: mod_php's imagick extension brings libMagickCore-6.Q16 (coders and filters under ImageMagick-6.9.11/modules-Q16), its ldap extension libldap with libsasl2 (sasl2/ mechanisms), its gio extension libgio-2.0 (gio/modules), its openssl extension libcrypto.so.3 (ossl-modules); glibc's gconv directory has modules its gconv-modules names and one it does not"
    debian_base
    identity plugins-image debian 12 "Debian GNU/Linux 12 (bookworm)"
    local ml=/usr/lib/x86_64-linux-gnu mods=/usr/lib/apache2/modules
    local php=/usr/lib/php/20220829 ea=/etc/apache2 ep=/etc/php/8.2
    local im=$ml/ImageMagick-6.9.11/modules-Q16

    lib $ml/libapr-1.so.0.7.2 libapr-1.so.0
    lib $ml/libMagickCore-6.Q16.so.6.0.0 libMagickCore-6.Q16.so.6
    lib $ml/libsasl2.so.2.0.25 libsasl2.so.2
    lib $ml/libgio-2.0.so.0.7400.6 libgio-2.0.so.0
    lib $ml/libcrypto.so.3 libcrypto.so.3
    lib $ml/libpngx.so.16 libpngx.so.16
    lib $ml/gconv/libJISX.so libJISX.so
    local nss
    for nss in ldap mdns4_minimal myhostname; do
        lib $ml/libnss_$nss.so.2 libnss_$nss.so.2
    done
    settle
    ln -s libMagickCore-6.Q16.so.6.0.0 "$R$ml/libMagickCore-6.Q16.so.6"
    ln -s libsasl2.so.2.0.25 "$R$ml/libsasl2.so.2"
    ln -s libgio-2.0.so.0.7400.6 "$R$ml/libgio-2.0.so.0"
    lib $ml/libldapx.so.2 libldapx.so.2 "$R$ml/libsasl2.so.2.0.25"
    settle
    exe /usr/sbin/apache2 "$R$ml/libapr-1.so.0.7.2"
    process apache /usr/sbin/apache2
    so $mods/mod_mpm_prefork.so
    so $mods/libphp8.2.so
    so $php/imagick.so "$R$ml/libMagickCore-6.Q16.so.6.0.0"
    so $php/ldap.so "$R$ml/libldapx.so.2"
    so $php/gio.so "$R$ml/libgio-2.0.so.0.7400.6"
    so $php/openssl.so "$R$ml/libcrypto.so.3"
    # The plugins, each a file of its family's directory.
    so $im/coders/png.so "$R$ml/libpngx.so.16"
    so $im/coders/jpeg.so
    so $im/filters/analyze.so
    so $ml/sasl2/libplain.so
    so $ml/sasl2/libsasldb.so
    so $ml/gio/modules/libgvfsdbus.so
    so $ml/ossl-modules/legacy.so
    so $ml/gconv/ISO8859-15.so
    # As glibc builds them: RUNPATH $ORIGIN finds their helper library.
    # shellcheck disable=SC2016 # $ORIGIN is for the loader
    so $ml/gconv/EUC-JP.so "$R$ml/gconv/libJISX.so" -Wl,--enable-new-dtags,-rpath,'$ORIGIN'
    # Not named by gconv-modules: iconv never loads it.
    so $ml/gconv/STRAY.so
    printf '%s\n' '# GNU libc iconv configuration (sample).' \
        'alias	ISO-IR-203//	ISO-8859-15//' \
        'module	ISO-8859-15//	INTERNAL	ISO8859-15	1' \
        'module	INTERNAL	ISO-8859-15//	ISO8859-15	1' | file $ml/gconv/gconv-modules
    printf '%s\n' 'module	EUC-JP//	INTERNAL	EUC-JP	1' | file $ml/gconv/gconv-modules.d/gconv-modules-extra.conf
    # NSS: the group database's module is loaded by initgroups() in every
    # child; the hosts database's may be, by a lookup.
    printf '%s\n' 'passwd:         files' 'group:          files ldap' \
        'hosts:          files mdns4_minimal [NOTFOUND=return] dns myhostname' | file /etc/nsswitch.conf

    printf '%s\n' 'ServerRoot "/etc/apache2"' 'PidFile /run/apache2/apache2.pid' \
        'User www-data' 'Group www-data' \
        "LoadModule mpm_prefork_module $mods/mod_mpm_prefork.so" \
        "LoadModule php_module $mods/libphp8.2.so" | file $ea/apache2.conf
    printf '[PHP]\nengine = On\n' | file $ep/apache2/php.ini
    local e
    for e in imagick ldap gio openssl; do
        printf 'extension=%s.so\n' "$e" | file $ep/mods-available/$e.ini
        link $ep/mods-available/$e.ini $ep/apache2/conf.d/20-$e.ini
    done

    loads apache module $mods/mod_mpm_prefork.so
    loads apache module $mods/libphp8.2.so
    loads apache php $php/gio.so
    loads apache php $php/imagick.so
    loads apache php $php/ldap.so
    loads apache php $php/openssl.so
    loads apache plugin-lazy $ml/libnss_ldap.so.2
    loads apache plugin-lazy $ml/gconv/EUC-JP.so
    loads apache plugin-lazy $ml/gconv/ISO8859-15.so
    loads apache plugin-now $ml/sasl2/libplain.so
    loads apache plugin-now $ml/sasl2/libsasldb.so
    loads apache plugin-lazy $im/coders/jpeg.so
    loads apache plugin-lazy $im/coders/png.so
    loads apache plugin-lazy $im/filters/analyze.so
    loads apache plugin-lazy $ml/gio/modules/libgvfsdbus.so
    loads apache plugin-now $ml/ossl-modules/legacy.so
    loads apache plugin-lazy $ml/libnss_mdns4_minimal.so.2
    loads apache plugin-lazy $ml/libnss_myhostname.so.2
}

# --- the oracle: glibc's loader inside the root ----------------------------

oracle_tools() {
    mkdir -p "$R/.oracle"
    cp -- "$(command -v env)" "$(command -v realpath)" "$R/.oracle/"
}

declare -A TRACED=()    # in-root path -> canonical paths: itself, then what the loader loads for it

# trace_all PATH...: sets TRACED[PATH] for every PATH from the loader's
# answer for it (the traces run in parallel); every dependency must be
# found. Paths are made canonical by one realpath in the root.
trace_all() {
    local t=$WORK/trace file line i=0 rc canon
    local -a files=() pids=() raw
    local -A seen=() paths_of=()
    mkdir -p -- "$t"
    for file in "$@"; do
        [[ -z ${seen[$file]:-} ]] || continue
        seen[$file]=1
        files+=("$file")
        "$CHROOT" "$R" /.oracle/env -i LD_TRACE_LOADED_OBJECTS=1 "$INTERP" "$file" \
            >"$t/$i.out" 2>"$t/$i.err" &
        pids+=($!)
        i=$((i + 1))
    done
    local -a all=()
    for i in "${!files[@]}"; do
        file=${files[i]}
        rc=0
        wait "${pids[i]}" || rc=$?
        if ((rc != 0)) || [[ -s $t/$i.err ]]; then
            echo "image-roots.sh: $NAME: the loader failed (status $rc) on $file:" >&2
            cat -- "$t/$i.out" "$t/$i.err" >&2
            exit 1
        fi
        raw=("$file")
        while IFS= read -r line; do
            line=${line#$'\t'}
            line=${line% (0x*)}
            if [[ $line == *' => not found' ]]; then
                die "the loader finds no ${line%% *} for $file"
            elif [[ $line == *' => '* ]]; then
                raw+=("${line#* => }")
            elif [[ $line == /* ]]; then
                raw+=("$line")
            fi
        done <"$t/$i.out"
        paths_of[$file]="${raw[*]}"
        all+=("${raw[@]}")
    done
    rm -rf -- "$t"
    # One realpath for every path met, in the root.
    local -A uniq=() canon_of=()
    local -a list=()
    for line in "${all[@]}"; do
        [[ -n ${uniq[$line]:-} ]] || list+=("$line")
        uniq[$line]=1
    done
    mapfile -t raw < <("$CHROOT" "$R" /.oracle/realpath -e -- "${list[@]}")
    ((${#raw[@]} == ${#list[@]})) || die "realpath in the root failed on ${list[*]}"
    for i in "${!list[@]}"; do
        canon_of[${list[i]}]=${raw[i]}
    done
    for file in "${files[@]}"; do
        read -ra raw <<<"${paths_of[$file]}"
        canon=
        for line in "${raw[@]}"; do
            canon+="${canon_of[$line]} "
        done
        TRACED[$file]=$canon
    done
}

flags_of() {
    case $1 in
    survivor | module) echo 'RTLD_NOW|RTLD_GLOBAL' ;;
    zend | php) echo 'RTLD_LAZY|RTLD_GLOBAL|RTLD_DEEPBIND' ;;
    python | plugin-now) echo 'RTLD_NOW|RTLD_LOCAL' ;;
    plugin-lazy) echo 'RTLD_LAZY|RTLD_LOCAL' ;;
    esac
}

# Every member, its mode and scope, and the order of what each process
# loads; then what it does not load.
derive() {
    local p ev kind path c obj
    local -a objs startup order python
    local -A member scope
    local -a traced=("${CANDIDATES[@]}")
    for ev in "${EVENTS[@]}"; do traced+=("${ev##* }"); done
    trace_all "${traced[@]}"
    for p in "${PROCESSES[@]}"; do
        member=() scope=() startup=() order=() python=()
        read -ra objs <<<"${TRACED[${EXE[$p]}]}"
        for obj in "${objs[@]}"; do
            [[ -n ${member[$obj]:-} ]] && continue
            member[$obj]=1
            scope[$obj]=global
            startup+=("$obj")
        done
        for ev in "${EVENTS[@]}"; do
            read -r c kind path <<<"$ev"
            [[ $c == "$p" ]] || continue
            read -ra objs <<<"${TRACED[$path]}"
            [[ -z ${member[${objs[0]}]:-} ]] || die "$p: $path (${objs[0]}) is loaded twice"
            for obj in "${objs[@]}"; do
                [[ -n ${member[$obj]:-} ]] && continue
                member[$obj]=1
                if [[ $kind == python || $kind == plugin-* ]]; then scope[$obj]=local; else scope[$obj]=global; fi
                LINES+=("flags $p $obj $(flags_of "$kind")")
            done
            if [[ $kind == python || $kind == plugin-* ]]; then python+=("${objs[0]}"); else order+=("${objs[0]}"); fi
        done
        for obj in "${!member[@]}"; do
            LINES+=("member $p $obj" "${scope[$obj]} $p $obj")
        done
        # The executable is the first object; the start-up's objects come
        # before anything dlopened (a survivor keeps its pass-1 place, so
        # it precedes the modules of pass 2); dlopened objects in the order
        # listed; Python's modules after everything global.
        for obj in "${startup[@]:1}"; do
            LINES+=("before $p ${startup[0]} $obj")
        done
        if ((${#order[@]})); then
            for obj in "${startup[@]}"; do
                LINES+=("before $p $obj ${order[0]}")
            done
            local i
            for ((i = 1; i < ${#order[@]}; i++)); do
                LINES+=("before $p ${order[i - 1]} ${order[i]}")
            done
            for obj in "${python[@]}"; do
                LINES+=("before $p ${order[-1]} $obj")
            done
        fi
        # Everything built that this process does not load: the other
        # processes' objects, disabled modules and extensions, and what
        # only they need.
        for path in "${CANDIDATES[@]}"; do
            read -ra objs <<<"${TRACED[$path]}"
            for obj in "${objs[@]}"; do
                [[ -n ${member[$obj]:-} ]] || LINES+=("not-member $p $obj")
            done
        done
    done
}

# --- the manifest ----------------------------------------------------------

write_manifest() {
    local line path
    local -a words paths=()
    local -A seen=()
    for line in "${LINES[@]}"; do
        read -ra words <<<"$line"
        for path in "${words[@]:2}"; do
            [[ $path == /* && -z ${seen[$path]:-} ]] || continue
            seen[$path]=1
            paths+=("$path")
            [[ -f $R$path && ! -L $R$path ]] || die "$path is not a regular file in the root"
        done
    done
    # Canonical: realpath changes nothing (no symlink on the way).
    local want canon
    want=$(printf '%s\n' "${paths[@]/#/$R}")
    canon=$(realpath -e -- "${paths[@]/#/$R}")
    [[ $canon == "$want" ]] ||
        die "not canonical: $(diff <(echo "$want") <(echo "$canon") | sed -n 's/^< //p' | tr '\n' ' ')"
    {
        echo "# soclash image sample root '$NAME', generated by sample-libs/image-roots.sh; do not edit."
        echo "# $DESCRIPTION"
        echo "# Check: soclash image --root ROOT --process PROCESS --format json (tests/it/image_roots.rs)."
        echo "# Paths are canonical, inside the root. What each process loads is written by the script"
        echo "# with the configuration; what those objects bring in, and the start-up of each executable,"
        echo "# is what glibc's loader loads for them in a chroot."
        echo "#   member P PATH        PATH is a member of process P"
        echo "#   not-member P PATH    PATH, built here, is not a member of P"
        echo "#   before P A B         A precedes B in P's members (link-map order)"
        echo "#   flags P PATH FLAGS   the dlopen that brought PATH in had mode FLAGS"
        echo "#   global P PATH        PATH is in P's global scope"
        echo "#   local P PATH         PATH is a member outside P's global scope"
        printf '%s\n' "${LINES[@]}" | LC_ALL=C sort -u
    } >"$WORK/expected.txt"
}

# --- main ------------------------------------------------------------------

if ! declare -F "root_$NAME" >/dev/null; then
    echo "image-roots.sh: unknown root '$NAME'" >&2
    exit 2
fi
rm -rf -- "$WORK"
mkdir -p -- "$R" "$B"
compile
"root_$NAME"
settle
"$LDCONFIG" -r "$R"
oracle_tools
derive
rm -rf -- "$R/.oracle" "$B"
write_manifest
rm -rf -- "$DEST"
mkdir -p -- "$OUT/image"
mv -- "$WORK" "$DEST"
rmdir -- "$OUT/.tmp" 2>/dev/null || true
