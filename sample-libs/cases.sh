#!/bin/bash
# Build one conformance case for `soclash deps`: a self-contained sysroot
# that glibc's own loader can run in with chroot, plus the loader's answer.
#
#   bash cases.sh CASE OUT
#
# writes OUT/CASE/root/ (the sysroot), OUT/CASE/case.env (what to query, in
# in-root paths) and OUT/CASE/expected.txt (the oracle: the real loader run
# inside the root by chroot in ldd's trace mode, with load addresses and
# linux-vdso removed).
# The case is built in OUT/.tmp/CASE and moved into place only when complete.
# Needs root (chroot), gcc and ldconfig. Called by the Makefile, one case per
# target; the rule ids (L1-L14, C5-C11) refer to
# research/loader-model.md, the case letters (A-I) to research/peers.md §3.
set -euo pipefail

CASE=$1
OUT=$(realpath -m -- "$2")
SRC=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
HOST_LDSO=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
HOST_LIBC=/lib/x86_64-linux-gnu/libc.so.6
INTERP=/lib64/ld-linux-x86-64.so.2
CHROOT=$(command -v chroot || echo /usr/sbin/chroot)
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)

WORK=$OUT/.tmp/$CASE
R=$WORK/root            # the sysroot being built
B=$WORK/build           # link-time-only files, never part of the root
SERIAL=0

# Case manifest, written by `describe` and the case function.
DESCRIPTION=
FILE=/opt/app/bin/app
LLP=                    # LD_LIBRARY_PATH, in-root paths ("" = unset)
PRELOAD=                # LD_PRELOAD, in-root names or paths ("" = unset)
CPU_LEVEL=              # recorded for glibc-hwcaps cases
STDERR=                 # 1: the loader writes to stderr (kept as expected-stderr.txt)
FATAL=                  # 1: the loader stops with an error (status kept, stderr too)
MUSL=                   # 1: musl's loader, whose oracle is its own --list

# --- helpers ---------------------------------------------------------------

# Debian 12 layout without merged /usr: real directories, the loader as a
# real file at both of its names, libc, and Debian's ld.so.conf.
base_root() {
    mkdir -p "$R/lib64" "$R/lib/x86_64-linux-gnu" "$R/usr/lib/x86_64-linux-gnu" \
        "$R/etc/ld.so.conf.d" "$B"
    cp -- "$HOST_LDSO" "$R/lib64/ld-linux-x86-64.so.2"
    cp -- "$HOST_LDSO" "$R/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R/lib/x86_64-linux-gnu/libc.so.6"
    write_debian_conf
}

write_debian_conf() {
    echo 'include /etc/ld.so.conf.d/*.conf' >"$R/etc/ld.so.conf"
    printf '# libc default configuration\n/usr/local/lib\n' \
        >"$R/etc/ld.so.conf.d/libc.conf"
    printf '# Multiarch support\n%s\n%s\n%s\n' /usr/local/lib/x86_64-linux-gnu \
        /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu \
        >"$R/etc/ld.so.conf.d/x86_64-linux-gnu.conf"
}

# Regenerate the root's etc/ld.so.cache (and soname links) with the real
# ldconfig, which chroots into the root.
run_ldconfig() {
    "$LDCONFIG" -r "$R"
}

# lib IN-ROOT-PATH SONAME [gcc/ld arguments...]: a 64-bit shared object.
# Other objects given as arguments become DT_NEEDED entries (by soname).
lib() {
    local path=$1 soname=$2
    shift 2
    mkdir -p -- "$(dirname -- "$R$path")"
    SERIAL=$((SERIAL + 1))
    gcc -shared -fPIC -DN=$SERIAL -o "$R$path" "$SRC/lib.c" \
        -Wl,-soname,"$soname" -Wl,--no-as-needed "$@"
}

# stub PATH SONAME: a library that exists only at link time (outside the root).
stub() {
    SERIAL=$((SERIAL + 1))
    gcc -shared -fPIC -DN=$SERIAL -o "$B/$1" "$SRC/lib.c" -Wl,-soname,"$2"
}

# exe IN-ROOT-PATH [gcc/ld arguments...]: the program (PIE, PT_INTERP
# /lib64/ld-linux-x86-64.so.2). Debian's gcc passes --as-needed, so every
# DT_NEEDED is kept explicitly.
exe() {
    local path=$1
    shift
    mkdir -p -- "$(dirname -- "$R$path")"
    gcc -o "$R$path" "$SRC/main.c" -Wl,--no-as-needed "$@"
}

# The best x86-64 ISA level (glibc-hwcaps x86-64-vN) the loader searches on
# this CPU, as it reports it inside the root.
cpu_level() {
    local line level=1
    while IFS= read -r line; do
        if [[ $line =~ ^\ +x86-64-v([0-9]+)\ \(supported,\ searched\) ]]; then
            ((BASH_REMATCH[1] > level)) && level=${BASH_REMATCH[1]}
        fi
    done < <(env -i "$CHROOT" "$R" "$INTERP" --help)
    echo "$level"
}

# Run the real loader inside the root the way ldd does (trace mode,
# LD_TRACE_LOADED_OBJECTS=1: `ld.so --list` would instead stop at the first
# missing library) and keep its answer. The environment must be set inside
# the chroot (set outside, it would trace chroot itself), so a static
# `env -i` (env.c) is built into the root for the run: static, so that the
# root's own /etc/ld.so.preload does not apply to it.
oracle() {
    local -a envv=(LD_TRACE_LOADED_OBJECTS=1)
    [[ -n $LLP ]] && envv+=("LD_LIBRARY_PATH=$LLP")
    [[ -n $PRELOAD ]] && envv+=("LD_PRELOAD=$PRELOAD")
    local raw=$WORK/ld.so.out err=$WORK/ld.so.err
    mkdir -p "$R/.oracle"
    gcc -static -O -o "$R/.oracle/env" "$SRC/env.c"
    local rc=0
    if [[ -n $MUSL ]]; then
        # musl's loader has no trace variable: `--list` lists on past a
        # library it cannot load and exits 127.
        envv=()
        [[ -n $LLP ]] && envv+=("LD_LIBRARY_PATH=$LLP")
        "$CHROOT" "$R" /.oracle/env "${envv[@]}" "$INTERP" --list "$FILE" >"$raw" 2>"$err" || rc=$?
    else
        "$CHROOT" "$R" /.oracle/env "${envv[@]}" "$INTERP" "$FILE" >"$raw" 2>"$err" || rc=$?
    fi
    rm -rf -- "$R/.oracle"
    if [[ -n $FATAL && -n $MUSL ]]; then
        if ((rc != 127)) || ! grep -q '^Error loading shared library' "$err"; then
            echo "cases.sh: $CASE: musl's loader was expected to exit 127 on $FILE (status $rc):" >&2
            cat -- "$raw" "$err" >&2
            exit 1
        fi
        grep '^Error loading shared library' "$err" >"$WORK/expected-stderr.txt"
    elif [[ -n $FATAL ]]; then
        if ((rc == 0)) || [[ ! -s $err ]]; then
            echo "cases.sh: $CASE: the loader was expected to stop with an error on $FILE (status $rc):" >&2
            cat -- "$raw" "$err" >&2
            exit 1
        fi
        cp -- "$err" "$WORK/expected-stderr.txt"
    elif ((rc != 0)); then
        echo "cases.sh: $CASE: the loader failed (status $rc) on $FILE:" >&2
        cat -- "$raw" "$err" >&2
        exit 1
    elif [[ -n $STDERR ]]; then
        if [[ ! -s $err ]]; then
            echo "cases.sh: $CASE: the loader was expected to write to stderr for $FILE" >&2
            exit 1
        fi
        cp -- "$err" "$WORK/expected-stderr.txt"
    elif [[ -s $err ]]; then
        echo "cases.sh: $CASE: the loader wrote to stderr for $FILE:" >&2
        cat -- "$err" >&2
        exit 1
    fi
    local line
    while IFS= read -r line; do
        [[ $line == $'\t'linux-vdso.so.1\ * || $line == $'\t'linux-gate.so.1\ * ]] && continue
        printf '%s\n' "${line% (0x*)}"
    done <"$raw" >"$WORK/expected.txt"
    rm -f -- "$raw" "$err"
}

write_manifest() {
    {
        echo "# soclash conformance case, generated by sample-libs/cases.sh; do not edit."
        if [[ -n $MUSL ]]; then
            echo "# Oracle: chroot root env -i${LLP:+ LD_LIBRARY_PATH=$LLP} $INTERP --list $FILE"
        else
            echo "# Oracle (as ldd does it): chroot root env -i LD_TRACE_LOADED_OBJECTS=1${LLP:+ LD_LIBRARY_PATH=$LLP}${PRELOAD:+ LD_PRELOAD=$PRELOAD} $INTERP $FILE"
        fi
        echo "CASE=$CASE"
        echo "DESCRIPTION=$DESCRIPTION"
        echo "FILE=$FILE"
        [[ -n $LLP ]] && echo "LD_LIBRARY_PATH=$LLP"
        [[ -n $CPU_LEVEL ]] && echo "CPU_LEVEL=$CPU_LEVEL"
        [[ -n $PRELOAD ]] && echo "PRELOAD=$PRELOAD"
        [[ -n $STDERR ]] && echo "STDERR=$STDERR"
        [[ -n $FATAL ]] && echo "FATAL=$FATAL"
        [[ -n $MUSL ]] && echo "MUSL=$MUSL"
        true
    } >"$WORK/case.env"
}

# --- cases -----------------------------------------------------------------
# Each function builds $R; base_root and ldconfig are run around it by main.
# A function may define post_ldconfig to change the root after ldconfig ran.

case_A-rpath-inherited() {
    DESCRIPTION="A (L3): exe DT_RPATH -> libb (no rpath) -> libc2 only in the exe's RPATH dir: found"
    lib /opt/app/lib/libc2.so libc2.so
    lib /opt/app/lib/libb.so libb.so "$R/opt/app/lib/libc2.so"
    exe "$FILE" "$R/opt/app/lib/libb.so" -Wl,--disable-new-dtags,-rpath,/opt/app/lib \
        -Wl,-rpath-link,"$R/opt/app/lib"
}

case_B-runpath-not-inherited() {
    DESCRIPTION="B (L3): as A with DT_RUNPATH, which applies to the exe's own NEEDED only: libc2 not found"
    lib /opt/app/lib/libc2.so libc2.so
    lib /opt/app/lib/libb.so libb.so "$R/opt/app/lib/libc2.so"
    exe "$FILE" "$R/opt/app/lib/libb.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib \
        -Wl,-rpath-link,"$R/opt/app/lib"
}

case_C1-ld-library-path-before-runpath() {
    DESCRIPTION="C1 (L3): libx in the exe's DT_RUNPATH dir and in LD_LIBRARY_PATH: the LD_LIBRARY_PATH copy"
    lib /opt/run/libx.so libx.so
    lib /opt/env/libx.so libx.so
    exe "$FILE" "$R/opt/run/libx.so" -Wl,--enable-new-dtags,-rpath,/opt/run
    LLP=/opt/env
}

case_C2-rpath-before-ld-library-path() {
    DESCRIPTION="C2 (L3): libx in the exe's DT_RPATH dir and in LD_LIBRARY_PATH: the RPATH copy"
    lib /opt/run/libx.so libx.so
    lib /opt/env/libx.so libx.so
    exe "$FILE" "$R/opt/run/libx.so" -Wl,--disable-new-dtags,-rpath,/opt/run
    LLP=/opt/env
}

case_D-glibc-hwcaps() {
    DESCRIPTION="D (L5): libh in the RUNPATH dir and in its glibc-hwcaps/x86-64-v2: the hwcaps copy"
    lib /opt/app/lib/libh.so libh.so
    lib /opt/app/lib/glibc-hwcaps/x86-64-v2/libh.so libh.so
    exe "$FILE" "$R/opt/app/lib/libh.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib
    CPU_LEVEL=$(cpu_level)
}

case_D3-glibc-hwcaps-best-level() {
    DESCRIPTION="L5: libh in the RUNPATH dir and in glibc-hwcaps/x86-64-v2 and -v3 (no v4): the best level the CPU supports"
    lib /opt/app/lib/libh.so libh.so
    lib /opt/app/lib/glibc-hwcaps/x86-64-v2/libh.so libh.so
    lib /opt/app/lib/glibc-hwcaps/x86-64-v3/libh.so libh.so
    exe "$FILE" "$R/opt/app/lib/libh.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib
    CPU_LEVEL=$(cpu_level)
}

case_D4-glibc-hwcaps-in-cache() {
    DESCRIPTION="C2/C7: libhc in /usr/local/lib and its glibc-hwcaps/x86-64-v2 and -v3, found through ld.so.cache: the best level"
    lib /usr/local/lib/libhc.so libhc.so
    lib /usr/local/lib/glibc-hwcaps/x86-64-v2/libhc.so libhc.so
    lib /usr/local/lib/glibc-hwcaps/x86-64-v3/libhc.so libhc.so
    exe "$FILE" "$R/usr/local/lib/libhc.so"
    CPU_LEVEL=$(cpu_level)
}

case_I1-dst-lib() {
    DESCRIPTION="I1 (L9): RUNPATH /opt/i1/\$LIB, Debian's \$LIB = lib/x86_64-linux-gnu (decoys in lib64 and lib): found"
    lib /opt/i1/lib/x86_64-linux-gnu/libi1.so libi1.so
    lib /opt/i1/lib64/libi1.so libi1.so
    lib /opt/i1/lib/libi1.so libi1.so
    exe "$FILE" "$R/opt/i1/lib/libi1.so" -Wl,--enable-new-dtags,-rpath,'/opt/i1/$LIB'
}

case_I2-dst-platform() {
    DESCRIPTION="I2 (L9): RUNPATH /opt/i2/\$PLATFORM, copies in x86_64 and haswell: the one for this CPU's platform"
    lib /opt/i2/x86_64/libi2.so libi2.so
    lib /opt/i2/haswell/libi2.so libi2.so
    exe "$FILE" "$R/opt/i2/x86_64/libi2.so" -Wl,--enable-new-dtags,-rpath,'/opt/i2/$PLATFORM'
}

case_E1-conf-without-ldconfig() {
    DESCRIPTION="E1 (C11): /opt/e1 added to etc/ld.so.conf.d after ldconfig ran (stale cache): libe1 not found"
    lib /opt/e1/libe1.so libe1.so
    exe "$FILE" "$R/opt/e1/libe1.so"
    post_ldconfig() { echo /opt/e1 >"$R/etc/ld.so.conf.d/zz-e1.conf"; }
}

case_E2-cache-without-conf() {
    DESCRIPTION="E2 (C11): /opt/e2 in ld.so.cache only (its conf file removed after ldconfig): libe2 found"
    lib /opt/e2/libe2.so libe2.so
    exe "$FILE" "$R/opt/e2/libe2.so"
    echo /opt/e2 >"$R/etc/ld.so.conf.d/zz-e2.conf"
    post_ldconfig() { rm -- "$R/etc/ld.so.conf.d/zz-e2.conf"; }
}

case_G1-origin() {
    DESCRIPTION="G1 (L9): exe RUNPATH \$ORIGIN/../lib, \$ORIGIN taken inside the root: found (path not normalised)"
    lib /opt/app/lib/libo.so libo.so
    exe "$FILE" "$R/opt/app/lib/libo.so" -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
}

case_G2-absolute-symlink-in-root() {
    DESCRIPTION="G2 (L13): /opt/app/lib/libabs.so.1 -> /usr/lib/x86_64-linux-gnu/libabs.so.1.0, an absolute symlink resolved inside the root: found"
    lib /usr/lib/x86_64-linux-gnu/libabs.so.1.0 libabs.so.1
    mkdir -p "$R/opt/app/lib"
    exe "$FILE" "$R/usr/lib/x86_64-linux-gnu/libabs.so.1.0" \
        -Wl,--enable-new-dtags,-rpath,/opt/app/lib
    # After ldconfig, which would rewrite a symlink it maintains.
    post_ldconfig() {
        ln -s /usr/lib/x86_64-linux-gnu/libabs.so.1.0 "$R/opt/app/lib/libabs.so.1"
    }
}

case_G3-absolute-symlink-to-host() {
    DESCRIPTION="G3 (L13): /opt/app/lib/libz.so.1 -> /usr/lib/x86_64-linux-gnu/libz.so.1.2.13, which exists on the host but not in the root: not found"
    stub libz.so.1 libz.so.1
    mkdir -p "$R/opt/app/lib"
    ln -s /usr/lib/x86_64-linux-gnu/libz.so.1.2.13 "$R/opt/app/lib/libz.so.1"
    exe "$FILE" "$B/libz.so.1" -Wl,--enable-new-dtags,-rpath,/opt/app/lib
}

case_G4-root-ld-so-conf() {
    DESCRIPTION="G4 (C5): lib only in /opt/lib3, named by the root's own etc/ld.so.conf: found through the root's cache"
    lib /opt/lib3/libg4.so libg4.so
    exe "$FILE" "$R/opt/lib3/libg4.so"
    printf '/opt/lib3\ninclude /etc/ld.so.conf.d/*.conf\n' >"$R/etc/ld.so.conf"
}

case_L1-soname-reuse() {
    DESCRIPTION="L1: liba (RPATH /opt/one) and libb (RPATH /opt/two) both need libx.so: loaded once, the second requester reuses /opt/one's"
    lib /opt/one/libx.so libx.so
    lib /opt/two/libx.so libx.so
    lib /opt/app/lib/liba.so liba.so "$R/opt/one/libx.so" -Wl,--disable-new-dtags,-rpath,/opt/one
    lib /opt/app/lib/libb.so libb.so "$R/opt/two/libx.so" -Wl,--disable-new-dtags,-rpath,/opt/two
    exe "$FILE" "$R/opt/app/lib/liba.so" "$R/opt/app/lib/libb.so" \
        -Wl,--enable-new-dtags,-rpath,/opt/app/lib -Wl,-rpath-link,"$R/opt/one"
}

case_L2-needed-with-slash() {
    DESCRIPTION="L2: NEEDED \$ORIGIN/sub/libsl.so and /opt/abs/libabsn.so are opened as paths (DSTs expanded), not searched"
    lib /opt/app/bin/sub/libsl.so '$ORIGIN/sub/libsl.so'
    lib /opt/abs/libabsn.so /opt/abs/libabsn.so
    exe "$FILE" "$R/opt/app/bin/sub/libsl.so" "$R/opt/abs/libabsn.so"
}

case_L3-rpath-loader-chain() {
    DESCRIPTION="L3: libtop (RPATH /opt/p) -> libmid (no rpath) -> libleaf: found through the RPATH of the requester's loader"
    lib /opt/p/libleaf.so libleaf.so
    lib /opt/p/libmid.so libmid.so "$R/opt/p/libleaf.so"
    lib /opt/app/lib/libtop.so libtop.so "$R/opt/p/libmid.so" \
        -Wl,--disable-new-dtags,-rpath,/opt/p
    exe "$FILE" "$R/opt/app/lib/libtop.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib \
        -Wl,-rpath-link,"$R/opt/p"
}

case_L3-runpath-disables-rpath() {
    DESCRIPTION="L3: exe RPATH /opt/app/lib -> libr (RUNPATH /opt/empty) -> libc2 in /opt/app/lib: not found (a RUNPATH requester ignores all RPATHs)"
    mkdir -p "$R/opt/empty"
    lib /opt/app/lib/libc2.so libc2.so
    lib /opt/app/lib/libr.so libr.so "$R/opt/app/lib/libc2.so" \
        -Wl,--enable-new-dtags,-rpath,/opt/empty
    exe "$FILE" "$R/opt/app/lib/libr.so" -Wl,--disable-new-dtags,-rpath,/opt/app/lib \
        -Wl,-rpath-link,"$R/opt/app/lib"
}

case_L7-nodeflib() {
    DESCRIPTION="L7: libn has DF_1_NODEFLIB: libdef (cache entry in a trusted dir) not found, libloc (cache entry in /usr/local/lib) found"
    lib /usr/lib/x86_64-linux-gnu/libdef.so libdef.so
    lib /usr/local/lib/libloc.so libloc.so
    lib /opt/app/lib/libn.so libn.so "$R/usr/lib/x86_64-linux-gnu/libdef.so" \
        "$R/usr/local/lib/libloc.so" -Wl,-z,nodefaultlib
    exe "$FILE" "$R/opt/app/lib/libn.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib \
        -Wl,-rpath-link,"$R/usr/lib/x86_64-linux-gnu:$R/usr/local/lib"
}

case_L12-wrong-class() {
    DESCRIPTION="L12: RUNPATH /opt/lib32:/opt/app/lib, a 32-bit libw.so in /opt/lib32 is skipped: the 64-bit copy"
    mkdir -p "$R/opt/lib32"
    # -nostdlib: a 32-bit object without crt files or libgcc, so no multilib needed.
    gcc -m32 -nostdlib -shared -fPIC -DN=32 -o "$R/opt/lib32/libw.so" "$SRC/lib.c" \
        -Wl,-soname,libw.so
    lib /opt/app/lib/libw.so libw.so
    exe "$FILE" "$R/opt/app/lib/libw.so" \
        -Wl,--enable-new-dtags,-rpath,/opt/lib32:/opt/app/lib
}

case_L12-wrong-machine() {
    DESCRIPTION="L12: RUNPATH /opt/arm:/opt/app/lib, a libw.so with e_machine EM_AARCH64 in /opt/arm is skipped: the x86-64 copy"
    lib /opt/arm/libw.so libw.so
    # e_machine is the 16-bit little-endian field at offset 18: 183 = EM_AARCH64.
    printf '\267\000' | dd of="$R/opt/arm/libw.so" bs=1 seek=18 count=2 conv=notrunc status=none
    lib /opt/app/lib/libw.so libw.so
    exe "$FILE" "$R/opt/app/lib/libw.so" \
        -Wl,--enable-new-dtags,-rpath,/opt/arm:/opt/app/lib
}

case_C6-merged-usr() {
    DESCRIPTION="C6: merged-/usr root (lib -> usr/lib): ldconfig drops /usr/lib/x86_64-linux-gnu as a duplicate, the cache says /lib/x86_64-linux-gnu"
    # Replace the base layout with Debian's merged-/usr one.
    rm -rf -- "$R/lib" "$R/lib64"
    mkdir -p "$R/usr/lib64" "$R/usr/lib/x86_64-linux-gnu" "$R/usr/bin"
    ln -s usr/lib "$R/lib"
    ln -s usr/lib64 "$R/lib64"
    ln -s usr/bin "$R/bin"
    cp -- "$HOST_LDSO" "$R/usr/lib64/ld-linux-x86-64.so.2"
    cp -- "$HOST_LDSO" "$R/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R/usr/lib/x86_64-linux-gnu/libc.so.6"
    lib /usr/lib/x86_64-linux-gnu/libm1.so libm1.so
    FILE=/usr/bin/app
    exe "$FILE" "$R/usr/lib/x86_64-linux-gnu/libm1.so"
}

case_L14-ld-so-preload() {
    DESCRIPTION="L14: etc/ld.so.preload names /opt/pre/libpre1.so, libpre2.so (in /usr/local/lib, through the cache) and libnone.so (nowhere): the two listed first, libnone ignored with a message"
    lib /opt/pre/libpre1.so libpre1.so
    lib /usr/local/lib/libpre2.so libpre2.so
    lib /opt/app/lib/liba.so liba.so
    exe "$FILE" "$R/opt/app/lib/liba.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib
    printf '# preloaded into every process\n/opt/pre/libpre1.so libpre2.so:libnone.so\n' \
        >"$R/etc/ld.so.preload"
    STDERR=1
}

case_L14-ld-preload() {
    DESCRIPTION="L14: LD_PRELOAD='/opt/pre/libpre1.so libx.so' before etc/ld.so.preload's libpre2.so; libx.so is also the program's own DT_NEEDED: loaded once, as a preload"
    lib /opt/pre/libpre1.so libpre1.so
    lib /usr/local/lib/libpre2.so libpre2.so
    lib /usr/local/lib/libx.so libx.so
    exe "$FILE" "$R/usr/local/lib/libx.so"
    echo libpre2.so >"$R/etc/ld.so.preload"
    PRELOAD="/opt/pre/libpre1.so libx.so"
}

case_L15-filter-auxiliary() {
    DESCRIPTION="L15: libfilt (NEEDED libdep; DT_FILTER libfiltee, DT_AUXILIARY libauxee and libnoaux): filtees placed before their filter in the list, libnoaux not found"
    lib /opt/app/lib/libfiltee.so libfiltee.so
    lib /opt/app/lib/libauxee.so libauxee.so
    lib /opt/app/lib/libdep.so libdep.so
    lib /opt/app/lib/libfilt.so libfilt.so "$R/opt/app/lib/libdep.so" \
        -Wl,-F,libfiltee.so -Wl,-f,libauxee.so -Wl,-f,libnoaux.so \
        -Wl,--enable-new-dtags,-rpath,/opt/app/lib
    exe "$FILE" "$R/opt/app/lib/libfilt.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib
}

case_L15-filtee-already-loaded() {
    DESCRIPTION="L15: the program needs libfilt then libfiltee; libfilt's DT_FILTER libfiltee, later in the list, is moved before libfilt"
    lib /opt/app/lib/libfiltee.so libfiltee.so
    lib /opt/app/lib/libother.so libother.so
    lib /opt/app/lib/libfilt.so libfilt.so -Wl,-F,libfiltee.so
    exe "$FILE" "$R/opt/app/lib/libother.so" "$R/opt/app/lib/libfilt.so" \
        "$R/opt/app/lib/libfiltee.so" -Wl,--enable-new-dtags,-rpath,/opt/app/lib
}

case_L12-eloop-ends-search() {
    DESCRIPTION="L12: RPATH /opt/d1:/opt/d2, d1/libf.so and d1/libk.so symlink loops, copies in d2 and of libk in LD_LIBRARY_PATH /opt/d3: ELOOP ends the RPATH search, libf not found, libk from /opt/d3"
    lib /opt/d2/libf.so libf.so
    lib /opt/d2/libk.so libk.so
    lib /opt/d3/libk.so libk.so
    mkdir -p "$R/opt/d1"
    ln -s libf2.so "$R/opt/d1/libf.so"
    ln -s libf.so "$R/opt/d1/libf2.so"
    ln -s libk2.so "$R/opt/d1/libk.so"
    ln -s libk.so "$R/opt/d1/libk2.so"
    exe "$FILE" "$R/opt/d2/libf.so" "$R/opt/d2/libk.so" \
        -Wl,--disable-new-dtags,-rpath,/opt/d1:/opt/d2
    LLP=/opt/d3
}

case_L12-directory-is-fatal() {
    DESCRIPTION="L12: RPATH /opt/d1:/opt/d2, d1/libg.so a directory: ld.so stops (cannot read file data), never tries d2"
    lib /opt/d2/libg.so libg.so
    mkdir -p "$R/opt/d1/libg.so"
    exe "$FILE" "$R/opt/d2/libg.so" -Wl,--disable-new-dtags,-rpath,/opt/d1:/opt/d2
    FATAL=1
}

case_L6-empty-runpath-element() {
    DESCRIPTION="L6: RUNPATH '/x:' (an empty element), libe.so in the working directory /: found as the bare name libe.so"
    lib /libe.so libe.so
    exe "$FILE" "$R/libe.so" -Wl,--enable-new-dtags,-rpath,/x:
}

case_C4-no-ld-so-cache() {
    DESCRIPTION="C4: libc4 in /opt/c4, named by etc/ld.so.conf.d/c4.conf, but the root has no etc/ld.so.cache: ld.so reads no ld.so.conf, not found"
    lib /opt/c4/libc4.so libc4.so
    exe "$FILE" "$R/opt/c4/libc4.so"
    echo /opt/c4 >"$R/etc/ld.so.conf.d/c4.conf"
    post_ldconfig() { rm -- "$R/etc/ld.so.cache"; }
}

case_V1-version-not-found() {
    DESCRIPTION="V1: the program needs g@VER_2 of libv.so, the libv.so found defines VER_1 only; libw.so has no versions at all: ld.so lists both and writes the version problems"
    mkdir -p "$B/v" "$R/opt/app/lib"
    printf 'VER_1 { global: f; local: *; };\nVER_2 { global: g; } VER_1;\n' >"$B/v/v2.map"
    printf 'VER_1 { global: f; local: *; };\n' >"$B/v/v1.map"
    printf 'int f(void) { return 1; }\nint g(void) { return 2; }\n' >"$B/v/libv.c"
    printf 'int g(void); int f(void);\nint main(void) { return g() + f(); }\n' >"$B/v/app.c"
    gcc -shared -fPIC -o "$B/v/libv.so" "$B/v/libv.c" -Wl,-soname,libv.so \
        -Wl,--version-script,"$B/v/v2.map"
    gcc -shared -fPIC -o "$B/v/libw.so" "$B/v/libv.c" -Wl,-soname,libw.so \
        -Wl,--version-script,"$B/v/v1.map"
    gcc -shared -fPIC -o "$R/opt/app/lib/libv.so" "$B/v/libv.c" -Wl,-soname,libv.so \
        -Wl,--version-script,"$B/v/v1.map"
    gcc -shared -fPIC -o "$R/opt/app/lib/libw.so" "$B/v/libv.c" -Wl,-soname,libw.so
    mkdir -p -- "$(dirname -- "$R$FILE")"
    gcc -o "$R$FILE" "$B/v/app.c" -Wl,--no-as-needed "$B/v/libv.so" "$B/v/libw.so" \
        -Wl,--enable-new-dtags,-rpath,/opt/app/lib
    STDERR=1
}

case_I3-pt-interp-elsewhere() {
    DESCRIPTION="I3: PT_INTERP /opt/ld/ld.so, a copy of the loader: ld.so --list runs /lib64/ld-linux-x86-64.so.2 and lists the interpreter as PT_INTERP => RTLD"
    mkdir -p "$R/opt/ld"
    cp -- "$HOST_LDSO" "$R/opt/ld/ld.so"
    lib /opt/app/lib/libi3.so libi3.so
    exe "$FILE" "$R/opt/app/lib/libi3.so" -Wl,--dynamic-linker,/opt/ld/ld.so \
        -Wl,--enable-new-dtags,-rpath,/opt/app/lib
}

case_I4-second-ld-so-copy() {
    DESCRIPTION="I4: PT_INTERP /opt/ld/ld.so, and DT_NEEDED /opt/ld2/ld-linux-x86-64.so.2, a second copy of the loader named by path: ld.so loads that copy as a library of its own and lists it by its path, the interpreter last as PT_INTERP => RTLD"
    mkdir -p "$R/opt/ld" "$R/opt/ld2"
    cp -- "$HOST_LDSO" "$R/opt/ld/ld.so"
    cp -- "$HOST_LDSO" "$R/opt/ld2/ld-linux-x86-64.so.2"
    # Linked against a stub whose soname is the path, so that the program
    # names the copy by path (a real ld.so's soname is its bare name).
    stub libld2.so /opt/ld2/ld-linux-x86-64.so.2
    exe "$FILE" "$B/libld2.so" -Wl,--dynamic-linker,/opt/ld/ld.so
}

# The i386 half of a Debian multilib host (gcc-multilib's libc6-i386): the
# 32-bit loader and libc in /lib32, /lib/ld-linux.so.2 -> /lib32/..., as
# the package lays them out.
i386_root() {
    mkdir -p "$R/lib32" "$R/usr/lib32"
    cp -- /usr/lib32/ld-linux.so.2 "$R/lib32/ld-linux.so.2"
    cp -- /usr/lib32/libc.so.6 "$R/lib32/libc.so.6"
    ln -s /lib32/ld-linux.so.2 "$R/lib/ld-linux.so.2"
}

# lib32 IN-ROOT-PATH SONAME [gcc/ld arguments...]: a 32-bit shared object.
lib32() {
    local path=$1 soname=$2
    shift 2
    mkdir -p -- "$(dirname -- "$R$path")"
    SERIAL=$((SERIAL + 1))
    gcc -m32 -shared -fPIC -DN=$SERIAL -o "$R$path" "$SRC/lib.c" \
        -Wl,-soname,"$soname" -Wl,--no-as-needed "$@"
}

case_M1-i386-multilib() {
    DESCRIPTION="M1: a gcc -m32 program on a multilib root, run by /lib/ld-linux.so.2: RPATH /opt/m32/\$LIB:/opt/m32/\$PLATFORM (lib32, i686), libconf in the cache twice (64-bit /opt/c64 listed first, 32-bit /opt/c32: the i386 entry), libsub in /usr/lib32 and its legacy i686/ subdirectory, libhw in /opt/c32 and its i686/ (the cache's legacy platform entry), libc from /lib32"
    INTERP=/lib/ld-linux.so.2
    i386_root
    lib32 /opt/m32/lib32/libdst.so libdst.so
    lib32 /opt/m32/i686/libplat.so libplat.so
    lib /opt/c64/libconf.so libconf.so
    lib32 /opt/c32/libconf.so libconf.so
    printf '/opt/c64\n/opt/c32\n' >"$R/etc/ld.so.conf.d/m1.conf"
    lib32 /usr/lib32/libsub.so libsub.so
    lib32 /usr/lib32/i686/libsub.so libsub.so
    lib32 /opt/c32/libhw.so libhw.so
    lib32 /opt/c32/i686/libhw.so libhw.so
    mkdir -p -- "$(dirname -- "$R$FILE")"
    gcc -m32 -o "$R$FILE" "$SRC/main.c" -Wl,--no-as-needed \
        "$R/opt/m32/lib32/libdst.so" "$R/opt/m32/i686/libplat.so" \
        "$R/opt/c32/libconf.so" "$R/usr/lib32/libsub.so" "$R/opt/c32/libhw.so" \
        -Wl,--disable-new-dtags,-rpath,'/opt/m32/$LIB:/opt/m32/$PLATFORM'
}

# An Alpine layout on musl (Debian's musl and musl-tools): no glibc at all,
# musl's loader (which is also its libc.so) as a real file at
# /lib/ld-musl-x86_64.so.1, no ld.so.conf or cache. The oracle is that
# loader's own `--list`.
alpine_root() {
    rm -rf -- "$R/lib64" "$R/lib/x86_64-linux-gnu" "$R/usr/lib/x86_64-linux-gnu" \
        "$R/etc/ld.so.conf" "$R/etc/ld.so.conf.d"
    mkdir -p "$R/lib" "$R/usr/lib" "$R/usr/local/lib" "$R/etc"
    cp -L -- /lib/ld-musl-x86_64.so.1 "$R/lib/ld-musl-x86_64.so.1"
    INTERP=/lib/ld-musl-x86_64.so.1
    MUSL=1
}

# mlib IN-ROOT-PATH SONAME [musl-gcc/ld arguments...]: a musl shared object.
mlib() {
    local path=$1 soname=$2
    shift 2
    mkdir -p -- "$(dirname -- "$R$path")"
    SERIAL=$((SERIAL + 1))
    musl-gcc -shared -fPIC -DN=$SERIAL -o "$R$path" "$SRC/lib.c" \
        -Wl,-soname,"$soname" -Wl,--no-as-needed "$@"
}

# mexe IN-ROOT-PATH [musl-gcc/ld arguments...]: a musl program.
mexe() {
    local path=$1
    shift
    mkdir -p -- "$(dirname -- "$R$path")"
    musl-gcc -o "$R$path" "$SRC/main.c" -Wl,--no-as-needed "$@"
}

case_U1-musl-alpine() {
    DESCRIPTION="U1 (musl): Alpine root; etc/ld-musl-x86_64.path '/lib' newline '/usr/local/lib:/usr/lib' newline '/opt/extra'; liblocal in /usr/local/lib, libextra in /opt/extra; libapp (RUNPATH of the program) needs libdeep, only in the program's RUNPATH (musl searches the requester chain); libm.so.6 and libpthread.so.0 are musl's loader itself"
    alpine_root
    printf '/lib\n/usr/local/lib:/usr/lib\n/opt/extra\n' >"$R/etc/ld-musl-x86_64.path"
    mlib /usr/local/lib/liblocal.so liblocal.so
    mlib /opt/extra/libextra.so libextra.so
    mlib /opt/app/deep/libdeep.so libdeep.so
    mlib /opt/app/lib/libapp.so libapp.so "$R/opt/app/deep/libdeep.so"
    stub libm.so.6 libm.so.6
    stub libpthread.so.0 libpthread.so.0
    mexe "$FILE" "$R/opt/app/lib/libapp.so" "$R/usr/local/lib/liblocal.so" \
        "$R/opt/extra/libextra.so" "$B/libm.so.6" "$B/libpthread.so.0" \
        -Wl,--enable-new-dtags,-rpath,/opt/app/lib:/opt/app/deep
}

case_U2-musl-rpath-origin() {
    DESCRIPTION="U2 (musl): no path file (default /lib:/usr/local/lib:/usr/lib); the program's DT_RPATH '\$ORIGIN/../lib'; libr's RPATH '/opt/r/\$LIB' is dropped whole (musl knows only \$ORIGIN), so libs2 comes from the program's RPATH up the chain, not /opt/r/lib; libdef in /usr/local/lib"
    alpine_root
    mlib /opt/app/lib/libs2.so libs2.so
    mlib /opt/r/lib/libs2.so libs2.so
    mlib /opt/app/lib/libr.so libr.so "$R/opt/app/lib/libs2.so" \
        -Wl,--disable-new-dtags,-rpath,'/opt/r/$LIB'
    mlib /usr/local/lib/libdef.so libdef.so
    mexe "$FILE" "$R/opt/app/lib/libr.so" "$R/usr/local/lib/libdef.so" \
        -Wl,--disable-new-dtags,-rpath,'$ORIGIN/../lib'
}

case_U3-musl-missing() {
    DESCRIPTION="U3 (musl): libgone is needed and found nowhere, libhere is in /usr/lib: ld-musl --list prints the rest, writes 'Error loading shared library' and exits 127"
    alpine_root
    mlib /usr/lib/libhere.so libhere.so
    stub libgone.so libgone.so
    mexe "$FILE" "$B/libgone.so" "$R/usr/lib/libhere.so"
    FATAL=1
}

case_U4-musl-llp-first-no-soname() {
    DESCRIPTION="U4 (musl): LD_LIBRARY_PATH=/opt/llp before the program's DT_RPATH /opt/rp (libq in both: /opt/llp's, where glibc takes the RPATH's); libs.so (soname libsoname.so.1) needed by that name, libt needs libsoname.so.1, a different file in /usr/lib: musl matches no soname and loads it too"
    alpine_root
    LLP=/opt/llp
    mlib /opt/llp/libq.so libq.so
    mlib /opt/rp/libq.so libq.so
    mlib /opt/rp/libs.so libsoname.so.1
    mlib /usr/lib/libsoname.so.1 libsoname.so.1
    mlib /opt/rp/libt.so libt.so "$R/usr/lib/libsoname.so.1"
    # The program names libs.so (a link-time stub of that soname); the file
    # in the root says libsoname.so.1.
    stub libs.so libs.so
    mexe "$FILE" "$R/opt/rp/libq.so" "$B/libs.so" "$R/opt/rp/libt.so" \
        -Wl,--disable-new-dtags,-rpath,/opt/rp
}

case_U5-musl-eloop-and-directory() {
    DESCRIPTION="U5 (musl): RPATH /opt/d1:/opt/d2; d1/libf.so a symlink loop ends the search (copy in d2 and /usr/lib not taken), d1/libg.so a directory is opened and cannot be mapped: both 'Error loading shared library', status 127"
    alpine_root
    mkdir -p "$R/opt/d1" "$R/opt/d2"
    mlib /opt/d2/libf.so libf.so
    mlib /usr/lib/libf.so libf.so
    mlib /opt/d2/libg.so libg.so
    ln -s libf.so "$R/opt/d1/libf.so.loop"
    ln -s libf.so.loop "$R/opt/d1/libf.so"
    mkdir "$R/opt/d1/libg.so"
    mexe "$FILE" "$R/opt/d2/libf.so" "$R/opt/d2/libg.so" \
        -Wl,--disable-new-dtags,-rpath,/opt/d1:/opt/d2
    FATAL=1
}

# --- main ------------------------------------------------------------------

if ! declare -F "case_$CASE" >/dev/null; then
    echo "cases.sh: unknown case '$CASE'" >&2
    exit 2
fi
rm -rf -- "$WORK"
base_root
"case_$CASE"
if [[ -z $MUSL ]]; then run_ldconfig; fi
if declare -F post_ldconfig >/dev/null; then post_ldconfig; fi
oracle
write_manifest
rm -rf -- "$B" "$OUT/$CASE"
mv -- "$WORK" "$OUT/$CASE"
rmdir -- "$OUT/.tmp" 2>/dev/null || true
