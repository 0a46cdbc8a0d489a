#!/bin/bash
# Build one sample host for `soclash scan`: a sysroot laid out like a web
# server of one distribution, plus the manifest of what a scan of it must
# report, derived from what was built here and from glibc's own loader run
# inside the root (never from soclash).
#
#   bash scan-roots.sh NAME OUT        NAME: debian | rhel | bad
#
# writes OUT/scan/NAME/root/ (the sysroot) and OUT/scan/NAME/expected.txt
# (the manifest; its line kinds are described in write_manifest below and in
# README.md). The root is built in OUT/.tmp/scan-NAME and moved into place
# only when complete. Needs root (chroot, mknod), gcc, ldconfig and readelf.
# Called by the Makefile, one root per target; tests/it/scan_roots.rs reads it.
set -euo pipefail

NAME=$1
OUT=$(realpath -m -- "$2")
SRC=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
HOST_LDSO=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
HOST_LIBC=/lib/x86_64-linux-gnu/libc.so.6
INTERP=/lib64/ld-linux-x86-64.so.2
CHROOT=$(command -v chroot || echo /usr/sbin/chroot)
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)

WORK=$OUT/.tmp/scan-$NAME
R=$WORK/root            # the sysroot being built
B=$WORK/build           # link-time-only files, never part of the root
DEST=$OUT/scan/$NAME
SERIAL=0
DESCRIPTION=

declare -A ROLE=()      # candidate (canonical in-root path) -> role
TRACE=()                # 64-bit ELF candidates the real loader is run on
EXPECT_UNRESOLVED=()    # candidates built with a DT_NEEDED that exists nowhere
LINES=()                # finding/error/absent/... lines of the manifest

die() {
    echo "scan-roots.sh: $NAME: $*" >&2
    exit 1
}

# --- building blocks -------------------------------------------------------

# so ROLE IN-ROOT-PATH [gcc/ld arguments...]: a 64-bit shared object found
# by its place (module, extension); no SONAME, like real modules.
so() {
    local role=$1 path=$2
    shift 2
    mkdir -p -- "$(dirname -- "$R$path")"
    SERIAL=$((SERIAL + 1))
    gcc -shared -fPIC -DN=$SERIAL -o "$R$path" "$SRC/lib.c" -Wl,--no-as-needed "$@"
    candidate "$role" "$path"
    TRACE+=("$path")
}

# lib IN-ROOT-PATH SONAME [gcc/ld arguments...]: a library that candidates
# pull in; not a candidate itself (the manifest takes it from the loader).
lib() {
    local path=$1 soname=$2
    shift 2
    mkdir -p -- "$(dirname -- "$R$path")"
    SERIAL=$((SERIAL + 1))
    gcc -shared -fPIC -DN=$SERIAL -o "$R$path" "$SRC/lib.c" \
        -Wl,-soname,"$soname" -Wl,--no-as-needed "$@"
}

# stub FILE SONAME: a library that exists only at link time (outside the root).
stub() {
    mkdir -p -- "$B"
    SERIAL=$((SERIAL + 1))
    gcc -shared -fPIC -DN=$SERIAL -o "$B/$1" "$SRC/lib.c" -Wl,-soname,"$2"
}

# httpd IN-ROOT-PATH [gcc/ld arguments...]: the web server executable (PIE,
# PT_INTERP /lib64/ld-linux-x86-64.so.2), every DT_NEEDED kept.
httpd() {
    local path=$1
    shift
    mkdir -p -- "$(dirname -- "$R$path")"
    gcc -o "$R$path" "$SRC/main.c" -Wl,--no-as-needed "$@"
    candidate httpd "$path"
    TRACE+=("$path")
}

# so32 ROLE IN-ROOT-PATH: a 32-bit (ELFCLASS32, EM_386) shared object, linked
# without crt files or libgcc so gcc-multilib is not needed.
so32() {
    local role=$1 path=$2
    mkdir -p -- "$(dirname -- "$R$path")"
    gcc -m32 -nostdlib -shared -fPIC -DN=32 -o "$R$path" "$SRC/lib.c"
    candidate "$role" "$path"
}

candidate() {
    ROLE[$2]=$1
}

expect() {
    LINES+=("$*")
}

# The host's ld.so and libc as real files at their Debian places.
debian_conf() {
    mkdir -p "$R/etc/ld.so.conf.d"
    echo 'include /etc/ld.so.conf.d/*.conf' >"$R/etc/ld.so.conf"
    printf '# libc default configuration\n/usr/local/lib\n' \
        >"$R/etc/ld.so.conf.d/libc.conf"
    printf '# Multiarch support\n%s\n%s\n%s\n' /usr/local/lib/x86_64-linux-gnu \
        /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu \
        >"$R/etc/ld.so.conf.d/x86_64-linux-gnu.conf"
}

# Identity files; /etc/os-release is a relative link into /usr/lib, as both
# Debian and RHEL ship it. ID is written as given (RHEL quotes it, Debian
# does not).
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

# A Debian 12 web stack below $R (merged /usr or not: the lib directories
# are reached through /lib either way). Used by the debian root in full.
debian_stack() {
    local ml=/usr/lib/x86_64-linux-gnu mods=/usr/lib/apache2/modules
    local php=/usr/lib/php/20220829 py=/usr/lib/python3.11
    lib $ml/libapr-1.so.0.7.2 libapr-1.so.0
    lib $ml/libxmlx.so.2.9.14 libxmlx.so.2
    lib $ml/libpython3.11.so.1.0 libpython3.11.so.1.0
    httpd /usr/sbin/apache2 "$R$ml/libapr-1.so.0.7.2"

    so apache-module $mods/mod_status.so "$R$ml/libapr-1.so.0.7.2"
    so apache-module $mods/mod_rewrite.so
    so apache-module $mods/mod_wsgi.so "$R$ml/libpython3.11.so.1.0"
    so apache-module $mods/libphp8.2.so "$R$ml/libxmlx.so.2.9.14"

    # Needs a library that exists nowhere: unresolved-dependency.
    stub libmissing.so.1 libmissing.so.1
    so apache-module $mods/mod_missing.so "$B/libmissing.so.1"
    EXPECT_UNRESOLVED+=($mods/mod_missing.so)

    # 32-bit: wrong-architecture (the httpd binary is x86-64).
    so32 apache-module $mods/mod_x86.so
    expect finding wrong-architecture $mods/mod_x86.so

    # Not ELF at all: an unreadable-object finding, never a module.
    printf 'This is not a module.\nLoadModule foo_module modules/mod_foo.so\n' \
        >"$R$mods/mod_broken.so"
    expect error $mods/mod_broken.so
    expect absent $mods/mod_broken.so

    so php-extension $php/mysqli.so
    so php-extension $php/opcache.so
    so php-extension $php/xml.so "$R$ml/libxmlx.so.2.9.14"

    so python-extension $py/lib-dynload/_foo.cpython-311-x86_64-linux-gnu.so
    so python-extension $py/lib-dynload/_bar.cpython-311-x86_64-linux-gnu.so
    so python-extension /usr/lib/python3/dist-packages/pkg/_ext.cpython-311-x86_64-linux-gnu.so \
        "$R$ml/libxmlx.so.2.9.14"

    # An auditwheel-repaired wheel: the library it bundles, with a hashed
    # soname, beside the package, found through $ORIGIN.
    local sp=/usr/local/lib/python3.11/site-packages
    mkdir -p "$R$sp/wheelpkg.libs"
    SERIAL=$((SERIAL + 1))
    gcc -shared -fPIC -DN=$SERIAL -o "$R$sp/wheelpkg.libs/libgrafted-1a2b3c4d.so.1" \
        "$SRC/lib.c" -Wl,-soname,libgrafted-1a2b3c4d.so.1
    candidate library $sp/wheelpkg.libs/libgrafted-1a2b3c4d.so.1
    so python-extension $sp/wheelpkg/_core.cpython-311-x86_64-linux-gnu.so \
        "$R$sp/wheelpkg.libs/libgrafted-1a2b3c4d.so.1" \
        -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../wheelpkg.libs'
}

# --- roots -----------------------------------------------------------------
# Each function builds $R and may define post_ldconfig to change the root
# after ldconfig wrote its cache.

root_debian() {
    DESCRIPTION="Debian 12 (merged /usr): apache2, modules, mod_php with extensions, Python lib-dynload, dist-packages and a wheel; a non-ELF, a 32-bit and an unresolvable module; a library installed after ldconfig ran"
    # Merged /usr as Debian 12 ships it; /usr/lib64/ld-linux-x86-64.so.2 is
    # an absolute link into the multiarch directory, as on Debian.
    mkdir -p "$R/usr/lib/x86_64-linux-gnu" "$R/usr/lib64" "$R/usr/bin" "$R/usr/sbin"
    ln -s usr/lib "$R/lib"
    ln -s usr/lib64 "$R/lib64"
    ln -s usr/bin "$R/bin"
    ln -s usr/sbin "$R/sbin"
    cp -- "$HOST_LDSO" "$R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R/usr/lib/x86_64-linux-gnu/libc.so.6"
    ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/usr/lib64/ld-linux-x86-64.so.2"
    mkdir -p "$R/usr/local/lib"
    debian_conf
    identity debian-sample debian 12 "Debian GNU/Linux 12 (bookworm)"
    debian_stack

    # Installed into /usr/local/lib (named by ld.so.conf.d/libc.conf) after
    # ldconfig ran: the configuration gives it, the cache does not.
    post_ldconfig() {
        SERIAL=$((SERIAL + 1))
        gcc -shared -fPIC -DN=$SERIAL -o "$R/usr/local/lib/libstale.so.1" "$SRC/lib.c" \
            -Wl,-soname,libstale.so.1
        expect finding stale-ld-cache /usr/local/lib/libstale.so.1
    }
}

root_rhel() {
    DESCRIPTION="RHEL 9 layout: httpd, /usr/lib64/httpd/modules (also as /etc/httpd/modules), libphp.so, /usr/lib64/php/modules, python3.9 lib-dynload and site-packages; no Debian path; clean"
    mkdir -p "$R/usr/lib64" "$R/usr/lib" "$R/usr/bin" "$R/usr/sbin" "$R/etc/ld.so.conf.d"
    ln -s usr/lib "$R/lib"
    ln -s usr/lib64 "$R/lib64"
    ln -s usr/bin "$R/bin"
    ln -s usr/sbin "$R/sbin"
    cp -- "$HOST_LDSO" "$R/usr/lib64/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R/usr/lib64/libc.so.6"
    # RHEL's own ld.so.conf, with its relative include.
    echo 'include ld.so.conf.d/*.conf' >"$R/etc/ld.so.conf"
    # RHEL's ldconfig and ld.so have /lib64:/usr/lib64 built in; the
    # Debian ldconfig and ld.so this root is built and checked with do not,
    # so the directory is named here (the cache then reads /lib64/..., as
    # on RHEL).
    printf '# for the Debian ldconfig that built this sample root\n/lib64\n' \
        >"$R/etc/ld.so.conf.d/lib64.conf"
    identity rhel-sample '"rhel"' 9.4 "Red Hat Enterprise Linux 9.4 (Plow)"

    local mods=/usr/lib64/httpd/modules php=/usr/lib64/php/modules py=/usr/lib64/python3.9
    lib /usr/lib64/libapr-1.so.0.7.0 libapr-1.so.0
    lib /usr/lib64/libxmlx.so.2.9.13 libxmlx.so.2
    lib /usr/lib64/libpython3.9.so.1.0 libpython3.9.so.1.0
    httpd /usr/sbin/httpd "$R/usr/lib64/libapr-1.so.0.7.0"
    so apache-module $mods/mod_status.so "$R/usr/lib64/libapr-1.so.0.7.0"
    so apache-module $mods/mod_rewrite.so
    so apache-module $mods/mod_wsgi_python3.so "$R/usr/lib64/libpython3.9.so.1.0"
    so apache-module $mods/libphp.so "$R/usr/lib64/libxmlx.so.2.9.13"
    mkdir -p "$R/etc/httpd"
    ln -s ../../usr/lib64/httpd/modules "$R/etc/httpd/modules"

    so php-extension $php/mysqli.so
    so php-extension $php/xml.so "$R/usr/lib64/libxmlx.so.2.9.13"
    so php-extension $php/opcache.so

    so python-extension $py/lib-dynload/_foo.cpython-39-x86_64-linux-gnu.so
    so python-extension $py/lib-dynload/_bar.cpython-39-x86_64-linux-gnu.so
    so python-extension $py/site-packages/x/_x.cpython-39-x86_64-linux-gnu.so \
        "$R/usr/lib64/libxmlx.so.2.9.13"

    # Nothing is wrong with this host.
    expect no-finding unresolved-dependency
    expect no-finding wrong-architecture
    expect no-finding stale-ld-cache
    # No Debian place may appear (python's own file names do carry the
    # x86_64-linux-gnu platform tag on RHEL too, so directories are meant).
    expect no-path /x86_64-linux-gnu/
    expect no-path /usr/lib/apache2
}

root_bad() {
    DESCRIPTION="Debian 12 (separate /usr): apache2 and one good module, plus a FIFO, a device node, a symlink loop, a link out of the root, empty and truncated files, mode-000 directories and a linker script where the crawler looks"
    mkdir -p "$R/lib/x86_64-linux-gnu" "$R/lib64" "$R/usr/lib/x86_64-linux-gnu"
    cp -- "$HOST_LDSO" "$R/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R/lib/x86_64-linux-gnu/libc.so.6"
    ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/lib64/ld-linux-x86-64.so.2"
    debian_conf
    identity bad-sample debian 12 "Debian GNU/Linux 12 (bookworm)"
    # libc's development link as Debian ships it: a linker script, not ELF.
    cat >"$R/usr/lib/x86_64-linux-gnu/libc.so" <<'EOF'
/* GNU ld script
   Use the shared library, but some functions are only in
   the static library, so try that secondarily.  */
OUTPUT_FORMAT(elf64-x86-64)
GROUP ( /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc_nonshared.a  AS_NEEDED ( /lib64/ld-linux-x86-64.so.2 ) )
EOF
    expect absent /usr/lib/x86_64-linux-gnu/libc.so

    local mods=/usr/lib/apache2/modules
    lib /usr/lib/x86_64-linux-gnu/libapr-1.so.0.7.2 libapr-1.so.0
    httpd /usr/sbin/apache2 "$R/usr/lib/x86_64-linux-gnu/libapr-1.so.0.7.2"
    so apache-module $mods/mod_ok.so

    # Made after the loader ran (post_ldconfig), so nothing here ever
    # meets them but the scan.
    post_ldconfig() {
        local mods=/usr/lib/apache2/modules
        local m=$R$mods
        mkfifo -- "$m/mod_fifo.so"
        mknod -- "$m/mod_dev.so" c 1 3          # what /dev/null is
        ln -s mod_loop2.so "$m/mod_loop.so"
        ln -s mod_loop.so "$m/mod_loop2.so"
        : >"$m/mod_empty.so"
        head -c 100 -- "$m/mod_ok.so" >"$m/mod_trunc.so"   # ELF header, no program headers
        local f
        for f in mod_fifo.so mod_dev.so mod_loop.so mod_loop2.so mod_empty.so mod_trunc.so; do
            expect error $mods/$f
            expect absent $mods/$f
        done

        # An absolute link to a file the host has and the root does not: read
        # inside the root it dangles; following it on the host would read
        # the host's zlib.
        local escape=/usr/lib/x86_64-linux-gnu/libz.so.1
        [[ -f $escape ]] || die "$escape is missing on this host (zlib1g)"
        [[ ! -e $R$escape ]] || die "$escape exists in the root"
        ln -s "$escape" "$m/mod_escape.so"
        expect error $mods/mod_escape.so
        expect absent $mods/mod_escape.so
        expect absent $escape
        expect absent "$(realpath -- "$escape")"
        local soname
        soname=$(readelf -d -- "$escape" | sed -n 's/.*(SONAME).*\[\(.*\)\]$/\1/p')
        [[ -n $soname ]] || die "no SONAME in $escape"
        expect absent-soname "$soname"

        # Mode-000 directories. Root's capabilities bypass permission bits, so
        # a scan as root may read what is inside; as another user it gets
        # EACCES. Either is right, as long as the scan goes on (`unreadable`).
        # The PHP extension directory is flat (the crawler need not enter
        # locked/), dist-packages is walked recursively.
        local d
        for d in /usr/lib/php/20220829/locked \
            /usr/lib/python3/dist-packages/locked; do
            mkdir -p -- "$R$d"
            SERIAL=$((SERIAL + 1))
            local f=$d/locked.so
            [[ $d == */dist-packages/* ]] && f=$d/_locked.cpython-311-x86_64-linux-gnu.so
            gcc -shared -fPIC -DN=$SERIAL -o "$R$f" "$SRC/lib.c"
            chmod 000 -- "$R$d"
            expect unreadable "$f"
        done
    }
}

# --- the oracle: glibc's loader inside the root ----------------------------

# Tools run inside the root by chroot (they need only libc.so.6, which every
# root has in its cache), removed again afterwards.
oracle_tools() {
    mkdir -p "$R/.oracle"
    cp -- "$(command -v env)" "$(command -v realpath)" "$R/.oracle/"
}

# trace FILE: what ldd prints for FILE, load addresses kept out:
# `NAME => PATH`, `NAME => not found`, or a bare PATH (the interpreter).
trace() {
    local file=$1 rc=0 err=$WORK/trace.err
    local out
    out=$("$CHROOT" "$R" /.oracle/env -i LD_TRACE_LOADED_OBJECTS=1 "$INTERP" "$file" 2>"$err") || rc=$?
    if ((rc != 0)) || [[ -s $err ]]; then
        echo "scan-roots.sh: $NAME: the loader failed (status $rc) on $file:" >&2
        printf '%s\n' "$out" >&2
        cat -- "$err" >&2
        exit 1
    fi
    rm -f -- "$err"
    printf '%s\n' "$out"
}

# Runs the loader on every traced candidate. Libraries: every object it
# loaded, by canonical path inside the root; unresolved-dependency: the
# candidates with a `not found` line, which must be the ones built so.
derive_from_loader() {
    local file line paths=() unresolved=()
    oracle_tools
    for file in "${TRACE[@]}"; do
        local missing=0
        while IFS= read -r line; do
            line=${line#$'\t'}
            line=${line% (0x*)}
            if [[ $line == *' => not found' ]]; then
                missing=1
            elif [[ $line == *' => '* ]]; then
                paths+=("${line#* => }")
            elif [[ $line == /* ]]; then
                paths+=("$line")
            fi
        done < <(trace "$file")
        ((missing)) && unresolved+=("$file")
    done
    local got want
    got=$(printf '%s\n' "${unresolved[@]}" | LC_ALL=C sort -u | sed '/^$/d')
    want=$(printf '%s\n' "${EXPECT_UNRESOLVED[@]}" | LC_ALL=C sort -u | sed '/^$/d')
    [[ $got == "$want" ]] || die "the loader finds unresolved dependencies in [${got//$'\n'/ }], built for [${want//$'\n'/ }]"
    for file in "${unresolved[@]}"; do
        expect finding unresolved-dependency "$file"
    done

    local canon
    if ((${#paths[@]})); then
        while IFS= read -r canon; do
            [[ -n ${ROLE[$canon]:-} ]] || ROLE[$canon]=library
        done < <("$CHROOT" "$R" /.oracle/realpath -e -- $(printf '%s\n' "${paths[@]}" | sort -u))
    fi
    rm -rf -- "$R/.oracle"
}

# --- the manifest ----------------------------------------------------------

write_manifest() {
    local path
    for path in "${!ROLE[@]}"; do
        # Canonical: a regular file reached through no symlink.
        [[ -f $R$path && ! -L $R$path && $(realpath -- "$R$path") == "$R$path" ]] ||
            die "$path is not a canonical regular file in the root"
    done
    {
        echo "# soclash scan sample root '$NAME', generated by sample-libs/scan-roots.sh; do not edit."
        echo "# $DESCRIPTION"
        echo "# Check: soclash scan --root ROOT --format json (tests/it/scan_roots.rs). Paths are inside the root."
        echo "#   object ROLE PATH      an object with this role at this canonical path"
        echo "#                         (candidates as built; libraries as glibc's loader loaded them in a chroot)"
        echo "#   finding ID PATH       a finding with this id whose objects contain PATH"
        echo "#   no-finding ID         no finding with this id"
        echo "#   error PATH            a file not audited: an errors[] entry for PATH, or an"
        echo "#                         unreadable-object finding for an object of the web stack"
        echo "#   absent PATH           PATH is no object's path nor one of its names"
        echo "#   absent-soname NAME    no object has this soname"
        echo "#   unreadable PATH       PATH is inside a mode-000 directory: an object (root bypasses"
        echo "#                         permission bits), an error for it or a directory above it, or unlisted"
        echo "#                         where the crawler does not descend; the scan must not fail or hang"
        echo "#   no-path TEXT          no object path, object name, resolved path or finding object contains TEXT"
        echo "# host.hostname and host.os_release come from the root's etc/hostname and etc/os-release."
        {
            for path in "${!ROLE[@]}"; do
                echo "object ${ROLE[$path]} $path"
            done
            printf '%s\n' "${LINES[@]}"
        } | LC_ALL=C sort -u
    } >"$WORK/expected.txt"
}

# Every no-path line must hold for the root as built.
check_no_paths() {
    local line text
    for line in "${LINES[@]}"; do
        [[ $line == no-path\ * ]] || continue
        text=${line#no-path }
        if (cd "$R" && find . | cut -c2- | grep -F -- "$text" >/dev/null); then
            die "the root has a path containing '$text'"
        fi
    done
}

# --- main ------------------------------------------------------------------

if ! declare -F "root_$NAME" >/dev/null; then
    echo "scan-roots.sh: unknown root '$NAME'" >&2
    exit 2
fi
rm -rf -- "$WORK"
mkdir -p -- "$R" "$B"
"root_$NAME"
"$LDCONFIG" -r "$R"
derive_from_loader
if declare -F post_ldconfig >/dev/null; then post_ldconfig; fi
check_no_paths
write_manifest
rm -rf -- "$B" "$DEST"
mkdir -p -- "$OUT/scan"
mv -- "$WORK" "$DEST"
rmdir -- "$OUT/.tmp" 2>/dev/null || true
