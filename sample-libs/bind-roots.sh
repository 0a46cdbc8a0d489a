#!/bin/bash
# Build one sample host for the binding model (`soclash::image::bind`): a
# Debian 12 sysroot whose "Apache" is a small driver program (driver.c)
# that performs a plan of dlopen()s, with tiny C objects built here that
# show one symbol-binding rule each (research/loader-model.md §4).
#
#   bash bind-roots.sh NAME OUT        NAME: one of the scenarios below
#
# writes OUT/bind/NAME/root/ (the sysroot) and OUT/bind/NAME/expected.txt
# (what the scenario is built to show). The root is built in
# OUT/.tmp/bind-NAME and moved into place only when complete. Needs gcc
# and ldconfig. Called by the Makefile, one root per target.
#
# The oracle is not here: tests/it/bind_oracle.rs models each root's Apache
# process with soclash, writes the model's dlopen()s as a plan into the
# root, runs /usr/sbin/apache2 (the driver) under chroot with
# LD_DEBUG=bindings, with and without LD_BIND_NOW=1, and compares glibc's
# bindings with soclash's. expected.txt only names each scenario's focal
# references and the definition the scenario is built to make glibc pick
# (written by hand from the design below, never from soclash); the test
# checks glibc does pick it, then that the model agrees with glibc.
#
# Every root has the same frame: /usr/sbin/apache2 (the driver, PIE unless
# the scenario says), /etc/apache2/apache2.conf with LoadModule lines (the
# base modules libphp8.2.so and mod_wsgi.so first, then the scenario's),
# mod_wsgi needing a libpython3.11.so.1.0 stand-in, /etc/php/8.2/apache2
# (php.ini with extension_dir /usr/lib/php/20220829, conf.d/20-NAME.ini per
# extension) and /usr/lib/python3.11/lib-dynload. Every extension and module
# with calls to make exports `soclash_run`; after the last dlopen the
# driver calls that of each object it dlopened itself (not a dependency's).
set -euo pipefail

NAME=$1
OUT=$(realpath -m -- "$2")
SRC=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
HOST_LDSO=/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
HOST_LIBC=/lib/x86_64-linux-gnu/libc.so.6
LDCONFIG=$(command -v ldconfig || echo /sbin/ldconfig)

WORK=$OUT/.tmp/bind-$NAME
R=$WORK/root            # the sysroot being built
B=$WORK/build           # sources and version scripts
DEST=$OUT/bind/$NAME
SERIAL=0
DESCRIPTION=

ML=/usr/lib/x86_64-linux-gnu
MODS=/usr/lib/apache2/modules
PHPEXT=/usr/lib/php/20220829
DYN=/usr/lib/python3.11/lib-dynload
LIBPYTHON=$ML/libpython3.11.so.1.0

CONF=()                 # LoadModule lines, in order
LINES=()                # expected.txt's lines

die() {
    echo "bind-roots.sh: $NAME: $*" >&2
    exit 1
}

# --- building blocks -------------------------------------------------------
# Every object is one gcc call (compile and link) from a source given on
# stdin, run in the background. A library is linked while the next one is;
# an object that may link libraries waits for those started before it, and
# ldconfig waits for everything (settle).

PIDS=()
LIBS_PENDING=0

settle() {
    local pid
    for pid in "${PIDS[@]}"; do
        wait "$pid" || die "a link failed (see above)"
    done
    PIDS=()
    LIBS_PENDING=0
}

# build IN-ROOT-PATH gcc-arguments... <SOURCE: gcc -o, in the background,
# from stdin's C source. Give the source with a here-document or `< <(...)`,
# never through a pipe: that would run these functions in a subshell,
# whose links settle never waits for.
build() {
    local out=$1
    shift
    SERIAL=$((SERIAL + 1))
    local src=$B/$SERIAL.c
    cat >"$src"
    mkdir -p -- "$(dirname -- "$R$out")"
    gcc -o "$R$out" "$src" -Wl,--no-as-needed "$@" &
    PIDS+=($!)
}

# lib IN-ROOT-PATH SONAME [gcc/ld arguments...] <SOURCE: a library.
lib() {
    local path=$1 soname=$2
    shift 2
    build "$path" -shared -fPIC -Wl,-soname,"$soname" "$@"
    LIBS_PENDING=1
}

# so IN-ROOT-PATH [gcc/ld arguments...] <SOURCE: a module, extension or
# Python extension module (no SONAME), after the libraries.
so() {
    local path=$1
    shift
    ((LIBS_PENDING == 0)) || settle
    build "$path" -shared -fPIC "$@"
}

# module NAME FILE [so arguments...] <SOURCE: $MODS/FILE, loaded by a
# LoadModule line after those before it.
module() {
    local name=$1 file=$2
    shift 2
    so "$MODS/$file" "$@"
    CONF+=("LoadModule ${name}_module $MODS/$file")
}

# phpext NAME [so arguments...] <SOURCE: $PHPEXT/NAME.so, enabled for the
# apache2 SAPI by conf.d/20-NAME.ini (conf.d is read in byte order).
phpext() {
    local name=$1
    shift
    so "$PHPEXT/$name.so" "$@"
    mkdir -p "$R/etc/php/8.2/apache2/conf.d"
    printf '; priority=20\nextension=%s.so\n' "$name" >"$R/etc/php/8.2/apache2/conf.d/20-$name.ini"
}

# pymod NAME [so arguments...] <SOURCE: a Python 3.11 extension module in
# lib-dynload (imported, local).
pymod() {
    local name=$1
    shift
    so "$DYN/$name.cpython-311-x86_64-linux-gnu.so" "$@"
}

# vscript NAME <SCRIPT: a version script; prints the ld option using it.
vscript() {
    cat >"$B/$1.map"
    echo "-Wl,--version-script=$B/$1.map"
}

# httpd [--source] [gcc arguments...]: the driver as /usr/sbin/apache2;
# with --source, stdin's C source is linked into it too.
httpd() {
    ((LIBS_PENDING == 0)) || settle
    if [[ ${1:-} == --source ]]; then
        shift
        cat >"$B/httpd-extra.c"
        set -- "$B/httpd-extra.c" "$@"
    fi
    build /usr/sbin/apache2 "$@" <"$SRC/driver.c"
}

# expect MODE REF SYMBOL DEF [protected]: the scenario is built so that
# glibc binds REF's reference to SYMBOL to DEF (`-`: to nothing), in runs
# with LD_BIND_NOW=1 (MODE now), without (lazy) or both; `protected`:
# LD_DEBUG calls it a protected symbol. Paths as the root has them.
expect() {
    case $1 in
    now | lazy | both) ;;
    *) die "expect: bad mode $1" ;;
    esac
    LINES+=("$*")
}

# alone LOADER REF SYMBOL DEF: ld.so run on LOADER alone, in trace mode
# with relocation (what `ldd -r LOADER` does), binds REF's reference to
# SYMBOL to DEF: where REF's reference binds "loaded on its own with its
# dependencies" (the model's `expected`). LOADER is REF itself, or, for a
# library that finds its dependencies only through the DT_RPATH of the
# objects that load it, the object that loads it with them.
alone() {
    (($# == 4)) || die "alone: LOADER REF SYMBOL DEF"
    LINES+=("alone $*")
}

# unresolved SEVERITY PATH: `soclash scan` reports unresolved-dependency
# for PATH at SEVERITY: `ldd PATH` prints "not found", and, unless
# SEVERITY is low (nothing the configuration loads has it), the process
# misses the name too: a dlopen of PATH after the plan fails.
unresolved() {
    (($# == 2)) || die "unresolved: SEVERITY PATH"
    LINES+=("unresolved $*")
}

# Debian 12's merged /usr, as image-roots.sh builds it: the host's ld.so
# and libc as real files in the multiarch directory,
# /usr/lib64/ld-linux-x86-64.so.2 an absolute link to it, Debian's
# ld.so.conf.
debian_base() {
    mkdir -p "$R$ML" "$R/usr/lib64" "$R/usr/bin" "$R/usr/sbin" "$R/usr/local/lib" \
        "$R/etc/ld.so.conf.d" "$R/tmp" "$R$DYN" "$R$PHPEXT"
    chmod 1777 "$R/tmp"
    ln -s usr/lib "$R/lib"
    ln -s usr/lib64 "$R/lib64"
    ln -s usr/bin "$R/bin"
    ln -s usr/sbin "$R/sbin"
    cp -- "$HOST_LDSO" "$R$ML/ld-linux-x86-64.so.2"
    cp -- "$HOST_LIBC" "$R$ML/libc.so.6"
    ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$R/usr/lib64/ld-linux-x86-64.so.2"
    echo 'include /etc/ld.so.conf.d/*.conf' >"$R/etc/ld.so.conf"
    printf '# libc default configuration\n/usr/local/lib\n' >"$R/etc/ld.so.conf.d/libc.conf"
    printf '# Multiarch support\n%s\n%s\n%s\n' /usr/local/lib/x86_64-linux-gnu \
        /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu \
        >"$R/etc/ld.so.conf.d/x86_64-linux-gnu.conf"
    echo "bind-$NAME" >"$R/etc/hostname"
    printf 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n' \
        >"$R/usr/lib/os-release"
    ln -s ../usr/lib/os-release "$R/etc/os-release"
}

# The frame every scenario starts with: mod_php and mod_wsgi (with its
# libpython), so that PHP extensions and Python modules are loaded.
frame() {
    debian_base
    lib $LIBPYTHON libpython3.11.so.1.0 <<'EOF'
int Py_IsInitialized(void) { return 1; }
int PyGILState_Ensure(void) { return 1; }
void PyGILState_Release(int state) { (void)state; }
EOF
    module php libphp8.2.so <<'EOF'
int php_module_startup(void) { return 0; }
EOF
    module wsgi mod_wsgi.so "$R$LIBPYTHON" <<'EOF'
int Py_IsInitialized(void);
int wsgi_init(void) { return Py_IsInitialized(); }
EOF
}

# --- scenarios (research/loader-model.md §4, §8) ---------------------------

# a: §8.1. A PHP extension (LAZY|GLOBAL|DEEPBIND) brings libmhashx, which
# defines MD5Init, into the global scope; the md5 module (NOW|LOCAL)
# defines MD5Init too and calls it through its PLT (B1): the global scope
# comes first (B4), so it calls libmhashx's.
scenario_a-self-reference() {
    DESCRIPTION="MD5Init: md5's call to its own MD5Init goes to libmhashx, global through PHP's mhash extension (B1, B4, §8.1)"
    frame
    lib $ML/libmhashx.so.2 libmhashx.so.2 <<'EOF'
int MD5Init(void *ctx) { (void)ctx; return 2; }
EOF
    phpext mhash "$R$ML/libmhashx.so.2" <<'EOF'
int MD5Init(void *ctx);
int soclash_run(void) { return MD5Init(0); }
EOF
    pymod md5 <<'EOF'
int MD5Init(void *ctx) { (void)ctx; return 1; }
int soclash_run(void) { return MD5Init(0); }
EOF
    httpd
    expect both $DYN/md5.cpython-311-x86_64-linux-gnu.so MD5Init $ML/libmhashx.so.2
    expect both $PHPEXT/mhash.so MD5Init $ML/libmhashx.so.2
}

# b: §8.2. mod_mem_cache exports cache_init; _sqlite stores the address of
# its own cache_init in a static type object: an R_X86_64_64 relocation,
# bound at dlopen, to the module's.
scenario_b-function-pointer() {
    DESCRIPTION="cache_init: a function pointer in _sqlite's static data (R_X86_64_64) binds to mod_mem_cache's cache_init (B1, G8, §8.2)"
    frame
    module mem_cache mod_mem_cache.so <<'EOF'
int cache_init(int max_entries, unsigned long max_size)
{
    return max_entries > 0 ? 0 : (int)max_size;
}
EOF
    pymod _sqlite <<'EOF'
int cache_init(void *self, void *args, void *kwds)
{
    (void)self; (void)args; (void)kwds;
    return 0;
}
struct type { const char *name; int (*tp_init)(void *, void *, void *); };
struct type CacheType = { "sqlite.Cache", cache_init };
int soclash_run(void) { return CacheType.tp_init != 0; }
EOF
    httpd
    expect both $DYN/_sqlite.cpython-311-x86_64-linux-gnu.so cache_init $MODS/mod_mem_cache.so
}

# c: a module defines shield_fn globally before PHP loads an extension
# whose own library defines it too: DEEPBIND puts the extension's group
# first (B5). The same order makes the extension's reference to stderr
# bind to libc's, not to the copy the (PIE) httpd made with a COPY
# relocation, where the module's goes (B5, B15).
scenario_c-deepbind() {
    DESCRIPTION="DEEPBIND: a PHP extension binds shield_fn to its own libshieldx, not to an earlier global module's, and stderr to libc's, not to httpd's copy (B5, B15)"
    frame
    module early mod_early.so <<'EOF'
#include <stdio.h>
int shield_fn(void) { return 1; }
int soclash_run(void) { return stderr != 0; }
EOF
    lib $ML/libshieldx.so.1 libshieldx.so.1 <<'EOF'
int shield_fn(void) { return 2; }
EOF
    phpext shielded "$R$ML/libshieldx.so.1" <<'EOF'
#include <stdio.h>
int shield_fn(void);
int soclash_run(void) { return shield_fn() + (stderr != 0); }
EOF
    httpd
    expect both $PHPEXT/shielded.so shield_fn $ML/libshieldx.so.1
    expect both $PHPEXT/shielded.so stderr $ML/libc.so.6
    expect both $MODS/mod_early.so stderr /usr/sbin/apache2
}

# d: the same pair seen from a Python module (NOW|LOCAL): the global scope
# comes before its own dependency (B4).
scenario_d-local-global-first() {
    DESCRIPTION="RTLD_LOCAL: a Python module's call to localdep_fn binds to an earlier global module's, not to its own dependency's (B4)"
    frame
    module localdep mod_localdep.so <<'EOF'
int localdep_fn(void) { return 1; }
EOF
    lib $ML/liblocaldepx.so.1 liblocaldepx.so.1 <<'EOF'
int localdep_fn(void) { return 2; }
EOF
    pymod _localdep "$R$ML/liblocaldepx.so.1" <<'EOF'
int localdep_fn(void);
int soclash_run(void) { return localdep_fn(); }
EOF
    httpd
    expect both $DYN/_localdep.cpython-311-x86_64-linux-gnu.so localdep_fn $MODS/mod_localdep.so
}

# e: vfoo@@VERA_1 (global through a module) and vfoo@@VERB_1 (a Python
# module's dependency): each user asks for its own version (B9), the
# libraries' calls to their own vfoo too (B8: a reference to one's own
# symbol asks for the version one defines it with).
scenario_e-versioned-duplicates() {
    DESCRIPTION="versions: vfoo@@VERA_1 and vfoo@@VERB_1 in two libraries, each user bound to the version it requires (B8, B9)"
    frame
    lib $ML/libverax.so.1 libverax.so.1 "$(vscript vera <<<'VERA_1 { global: vfoo; vfoo_self; local: *; };')" <<'EOF'
int vfoo(void) { return 1; }
int vfoo_self(void) { return vfoo(); }
EOF
    lib $ML/libverbx.so.1 libverbx.so.1 "$(vscript verb <<<'VERB_1 { global: vfoo; vfoo_self; local: *; };')" <<'EOF'
int vfoo(void) { return 2; }
int vfoo_self(void) { return vfoo(); }
EOF
    module vera mod_vera.so "$R$ML/libverax.so.1" <<'EOF'
int vfoo(void);
int soclash_run(void) { return vfoo(); }
EOF
    pymod _verb "$R$ML/libverbx.so.1" <<'EOF'
int vfoo(void);
int soclash_run(void) { return vfoo(); }
EOF
    httpd
    expect both $MODS/mod_vera.so vfoo $ML/libverax.so.1
    expect both $DYN/_verb.cpython-311-x86_64-linux-gnu.so vfoo $ML/libverbx.so.1
    expect both $ML/libverax.so.1 vfoo $ML/libverax.so.1
    expect both $ML/libverbx.so.1 vfoo $ML/libverbx.so.1
}

# f: a Python module requires vbar@VERF_1 of its dependency, but an earlier
# global module defines vbar without a version: accepted (B9); so is the
# dependency's call to its own vbar, a reference to vbar@VERF_1 (B8).
scenario_f-versioned-to-unversioned() {
    DESCRIPTION="versions: a reference to vbar@VERF_1 binds to an earlier global module's unversioned vbar (B9)"
    frame
    module unversioned mod_unversioned.so <<'EOF'
int vbar(void) { return 1; }
EOF
    lib $ML/libverfx.so.1 libverfx.so.1 "$(vscript verf <<<'VERF_1 { global: vbar; vbar_self; local: *; };')" <<'EOF'
int vbar(void) { return 2; }
int vbar_self(void) { return vbar(); }
EOF
    pymod _verf "$R$ML/libverfx.so.1" <<'EOF'
int vbar(void);
int soclash_run(void) { return vbar(); }
EOF
    httpd
    expect both $DYN/_verf.cpython-311-x86_64-linux-gnu.so vbar $MODS/mod_unversioned.so
    expect both $ML/libverfx.so.1 vbar $MODS/mod_unversioned.so
}

# g: a weak definition in an earlier module wins over a later module's
# global one, for that module's own call too (B12, without LD_DYNAMIC_WEAK).
scenario_g-weak-first() {
    DESCRIPTION="weak: an earlier module's weak wk_fn wins over a later module's global one, for that module's own call and a Python module's (B12)"
    frame
    module weakdef mod_weakdef.so <<'EOF'
__attribute__((weak)) int wk_fn(void) { return 1; }
EOF
    module strongdef mod_strongdef.so <<'EOF'
int wk_fn(void) { return 2; }
int soclash_run(void) { return wk_fn(); }
EOF
    pymod _weak <<'EOF'
int wk_fn(void);
int soclash_run(void) { return wk_fn(); }
EOF
    httpd
    expect both $MODS/mod_strongdef.so wk_fn $MODS/mod_weakdef.so
    expect both $DYN/_weak.cpython-311-x86_64-linux-gnu.so wk_fn $MODS/mod_weakdef.so
}

# h: protected definitions whose own object references them through a
# dynamic relocation, while mod_protearly, global before them, defines the
# same names: ld.so keeps those references in their object and LD_DEBUG
# calls them protected (B13); a Python module's references are normal ones
# and find mod_protearly first. mod_protfn stores the address of its
# protected prot_fn in data (R_X86_64_64, as GNU ld links it);
# mod_protdata reads its protected prot_data through its GOT (GLOB_DAT):
# GCC 12 and GNU ld 2.40 bind protected data locally, so the GOT load is
# written in asm and the module linked with gold, which keeps the
# relocation as older toolchains did.
scenario_h-protected() {
    DESCRIPTION="protected: mod_protfn's pointer to its protected prot_fn and mod_protdata's GOT load of its protected prot_data stay in their objects although an earlier global module defines both; a Python module's references go to the earlier one (B13)"
    frame
    module protearly mod_protearly.so <<'EOF'
int prot_data = 1;
int prot_fn(void) { return 1; }
EOF
    module protfn mod_protfn.so <<'EOF'
__attribute__((visibility("protected"))) int prot_fn(void) { return 2; }
int (*prot_fn_ptr)(void) = prot_fn;
int soclash_run(void) { return prot_fn_ptr(); }
EOF
    module protdata mod_protdata.so -fuse-ld=gold <<'EOF'
__attribute__((visibility("protected"))) int prot_data = 2;
int soclash_run(void)
{
    int *p;
    __asm__("movq prot_data@GOTPCREL(%%rip), %0" : "=r"(p));
    return *p;
}
EOF
    pymod _prot <<'EOF'
extern int prot_data;
int prot_fn(void);
int soclash_run(void) { return prot_data + prot_fn(); }
EOF
    httpd
    expect both $MODS/mod_protfn.so prot_fn $MODS/mod_protfn.so protected
    expect both $MODS/mod_protdata.so prot_data $MODS/mod_protdata.so protected
    expect both $DYN/_prot.cpython-311-x86_64-linux-gnu.so prot_data $MODS/mod_protearly.so
    expect both $DYN/_prot.cpython-311-x86_64-linux-gnu.so prot_fn $MODS/mod_protearly.so
}

# i: a module loads /usr/lib/.../libdup.so.1; a Python module's RPATH has
# another libdup.so.1, which is never loaded: the soname is taken (L1).
scenario_i-soname-reuse() {
    DESCRIPTION="L1: a Python module whose RPATH copy of libdup.so.1 loses to the copy a module loaded first calls that copy's dup_fn"
    frame
    lib $ML/libdup.so.1 libdup.so.1 <<'EOF'
int dup_fn(void) { return 1; }
EOF
    lib /opt/pyi/lib/libdup.so.1 libdup.so.1 <<'EOF'
int dup_fn(void) { return 2; }
EOF
    module dup mod_dup.so "$R$ML/libdup.so.1" <<'EOF'
int dup_fn(void);
int soclash_run(void) { return dup_fn(); }
EOF
    pymod _dup "$R/opt/pyi/lib/libdup.so.1" -Wl,--disable-new-dtags,-rpath,/opt/pyi/lib <<'EOF'
int dup_fn(void);
int soclash_run(void) { return dup_fn(); }
EOF
    httpd
    expect both $MODS/mod_dup.so dup_fn $ML/libdup.so.1
    expect both $DYN/_dup.cpython-311-x86_64-linux-gnu.so dup_fn $ML/libdup.so.1
}

# j: a non-PIE httpd reads jdata of its start-up library libjdatax: a COPY
# relocation (looked up skipping the executable), after which libjdatax's
# own reference and a module's bind to the executable's copy (B15).
scenario_j-copy-relocation() {
    DESCRIPTION="COPY: a non-PIE httpd copies libjdatax's jdata; libjdatax's own reference and a module's bind to the executable's copy (B15)"
    frame
    lib $ML/libjdatax.so.1 libjdatax.so.1 <<'EOF'
int jdata[4] = { 1, 2, 3, 4 };
int jdata_first(void) { return jdata[0]; }
EOF
    module jdata mod_jdata.so <<'EOF'
extern int jdata[];
int soclash_run(void) { return jdata[2]; }
EOF
    httpd --source -fno-pie -no-pie "$R$ML/libjdatax.so.1" <<'EOF'
extern int jdata[];
int driver_copy_peek(void) { return jdata[1]; }
EOF
    expect both /usr/sbin/apache2 jdata $ML/libjdatax.so.1
    expect both $ML/libjdatax.so.1 jdata /usr/sbin/apache2
    expect both $MODS/mod_jdata.so jdata /usr/sbin/apache2
}

# k: two Python modules (NOW|LOCAL, in lib-dynload order) define the same
# STB_GNU_UNIQUE object uniq_v and read it through their GOT: the first
# registers it, the second gets the first's (B14). The object is written
# in asm as g++ emits a C++ inline static member (a comdat section, type
# gnu_unique_object): C cannot ask for it, and g++ is not needed.
unique_source() {
    cat <<EOF
__asm__(".pushsection .data.uniq_v,\"awG\",@progbits,uniq_v,comdat\n"
        ".globl uniq_v\n"
        ".type uniq_v, @gnu_unique_object\n"
        ".size uniq_v, 4\n"
        ".balign 4\n"
        "uniq_v: .long $1\n"
        ".popsection");
extern int uniq_v;
int soclash_run(void) { return uniq_v; }
EOF
}
scenario_k-gnu-unique() {
    DESCRIPTION="STB_GNU_UNIQUE: two local Python modules define uniq_v; the second module's reference binds to the first's (B14)"
    frame
    pymod _uniq1 < <(unique_source 1)
    pymod _uniq2 < <(unique_source 2)
    httpd
    expect both $DYN/_uniq1.cpython-311-x86_64-linux-gnu.so uniq_v $DYN/_uniq1.cpython-311-x86_64-linux-gnu.so
    expect both $DYN/_uniq2.cpython-311-x86_64-linux-gnu.so uniq_v $DYN/_uniq1.cpython-311-x86_64-linux-gnu.so
}

# l: a lazy PHP extension calls the weak late_fn, which nothing defines
# when it is loaded and a later extension defines: bound at the first call
# (after every dlopen) to the later one; with LD_BIND_NOW unresolved (0),
# and then not called (G8, B16).
scenario_l-lazy-first-call() {
    DESCRIPTION="lazy: a PHP extension's PLT slot for late_fn, undefined when it is loaded, binds at the first call to a later extension's (G8); with LD_BIND_NOW it stays unresolved"
    frame
    phpext lazyearly <<'EOF'
#include <stdlib.h>
__attribute__((weak)) int late_fn(void);
int soclash_run(void)
{
    /* With LD_BIND_NOW the slot is 0: do not call it. */
    return getenv("LD_BIND_NOW") ? 0 : late_fn();
}
EOF
    phpext lazylate <<'EOF'
int late_fn(void) { return 7; }
EOF
    httpd
    expect lazy $PHPEXT/lazyearly.so late_fn $PHPEXT/lazylate.so
    expect now $PHPEXT/lazyearly.so late_fn -
}

# m: a non-PIE httpd (linked with gold: GNU ld 2.40 refuses it) takes the
# addresses of libcanonx's cfunc and protected pfunc: it gets canonical PLT
# entries, undefined symbols with a value. References that are not PLT
# slots bind to those for pointer equality (B7): libcanonx's and
# mod_canon's pointers to cfunc, and, although pfunc is protected,
# libcanonx's own pointer to pfunc (glibc keeps the first lookup's answer
# when a lookup that skips undefined symbols finds the object itself, and
# warns). PLT slots skip them: the program's own slots and a Python
# module's call bind to libcanonx (B7, B13).
scenario_m-canonical-plt() {
    DESCRIPTION="canonical PLT: a non-PIE httpd takes the addresses of libcanonx's cfunc and protected pfunc; pointers to them bind to the program's PLT entries (libcanonx's own to protected pfunc too), PLT calls to libcanonx (B7, B13)"
    frame
    lib $ML/libcanonx.so.1 libcanonx.so.1 <<'EOF'
int cfunc(void) { return 1; }
__attribute__((visibility("protected"))) int pfunc(void) { return 2; }
int (*canon_cptr)(void) = cfunc;
int (*canon_pptr)(void) = pfunc;
EOF
    # Calling the pointers calls the program's PLT entries, which binds
    # their slots in the lazy run.
    module canon mod_canon.so "$R$ML/libcanonx.so.1" <<'EOF'
int cfunc(void);
extern int (*canon_cptr)(void), (*canon_pptr)(void);
int (*mod_cptr)(void) = cfunc;
int soclash_run(void) { return mod_cptr() + canon_cptr() + canon_pptr(); }
EOF
    pymod _canon <<'EOF'
int cfunc(void);
int soclash_run(void) { return cfunc(); }
EOF
    httpd --source -fno-pie -no-pie -fuse-ld=gold "$R$ML/libcanonx.so.1" <<'EOF'
int cfunc(void);
int pfunc(void);
int (*driver_address(int i))(void) { return i ? cfunc : pfunc; }
EOF
    expect both /usr/sbin/apache2 cfunc $ML/libcanonx.so.1
    expect both /usr/sbin/apache2 pfunc $ML/libcanonx.so.1
    expect both $ML/libcanonx.so.1 cfunc /usr/sbin/apache2
    expect both $ML/libcanonx.so.1 pfunc /usr/sbin/apache2 protected
    expect both $MODS/mod_canon.so cfunc /usr/sbin/apache2
    expect both $DYN/_canon.cpython-311-x86_64-linux-gnu.so cfunc $ML/libcanonx.so.1
}

# n: thread-local variables: mod_tlsdef's only TLS variable has st_value 0,
# a definition all the same (B7); a Python module's reference to its own
# tls_counter (DTPMOD64/DTPOFF64) binds to mod_tlsdef's, global first (B4).
scenario_n-tls() {
    DESCRIPTION="TLS: a Python module's reference to its own tls_counter binds to an earlier global module's, whose st_value is 0 (B4, B7)"
    frame
    module tlsdef mod_tlsdef.so <<'EOF'
__thread int tls_counter = 1;
int soclash_run(void) { return tls_counter; }
EOF
    pymod _tls <<'EOF'
__thread int tls_counter = 2;
int soclash_run(void) { return tls_counter; }
EOF
    httpd
    expect both $MODS/mod_tlsdef.so tls_counter $MODS/mod_tlsdef.so
    expect both $DYN/_tls.cpython-311-x86_64-linux-gnu.so tls_counter $MODS/mod_tlsdef.so
}

# o: §8.1's Debian 12 analogue: libbsdx, global through a module, defines
# hmd5 only as the hidden weak hmd5@LIBBSDX_0.0 (version index 2) and
# hmd6 only as the hidden hmd6@LIBBSDX_0.1 (index 3). A Python module's
# unversioned calls to its own hmd5 and hmd6: index 2 is accepted even
# hidden, index 3 hidden never (B8, B12).
scenario_o-hidden-version() {
    DESCRIPTION="versions: unversioned references bind to an earlier global weak hidden hmd5@LIBBSDX_0.0 (index 2), not to hidden hmd6@LIBBSDX_0.1 (index 3) (B8, §8.1)"
    frame
    lib $ML/libbsdx.so.0 libbsdx.so.0 "$(vscript bsdx <<<'LIBBSDX_0.0 { global: hmd5; local: *; }; LIBBSDX_0.1 { global: hmd6; } LIBBSDX_0.0;')" <<'EOF'
__attribute__((weak)) int hmd5_impl(void) { return 2; }
__asm__(".symver hmd5_impl, hmd5@LIBBSDX_0.0");
int hmd6_impl(void) { return 2; }
__asm__(".symver hmd6_impl, hmd6@LIBBSDX_0.1");
EOF
    module bsd mod_bsd.so "$R$ML/libbsdx.so.0" <<'EOF'
int bsd_status(void) { return 0; }
EOF
    pymod _md <<'EOF'
int hmd5(void) { return 1; }
int hmd6(void) { return 1; }
int soclash_run(void) { return hmd5() + hmd6(); }
EOF
    httpd
    expect both $DYN/_md.cpython-311-x86_64-linux-gnu.so hmd5 $ML/libbsdx.so.0
    expect both $DYN/_md.cpython-311-x86_64-linux-gnu.so hmd6 $DYN/_md.cpython-311-x86_64-linux-gnu.so
}

# p: G2.5: libsharedx comes in lazily with a PHP extension; a Python
# module that needs it too is dlopened later, and its search list is
# appended to libsharedx's scopes. libsharedx's PLT slot for the weak
# py_provided, which neither its group nor the global scope defines, binds
# at the first call (after every dlopen) to the Python module's definition;
# with LD_BIND_NOW it stays unresolved (and is not called).
scenario_p-scope-update() {
    DESCRIPTION="scope update: a lazily loaded library's first call to py_provided binds to a Python module loaded later that needs the same library (G2.5, G8)"
    frame
    lib $ML/libsharedx.so.1 libsharedx.so.1 <<'EOF'
#include <stdlib.h>
__attribute__((weak)) int py_provided(void);
int shared_call(void)
{
    /* With LD_BIND_NOW the slot is 0: do not call it. */
    return getenv("LD_BIND_NOW") ? 0 : py_provided();
}
EOF
    phpext sharer "$R$ML/libsharedx.so.1" <<'EOF'
int shared_call(void);
int soclash_run(void) { return shared_call(); }
EOF
    pymod _provider "$R$ML/libsharedx.so.1" <<'EOF'
int py_provided(void) { return 3; }
EOF
    httpd
    expect lazy $ML/libsharedx.so.1 py_provided $DYN/_provider.cpython-311-x86_64-linux-gnu.so
    expect now $ML/libsharedx.so.1 py_provided -
}

# q: an auditwheel-style wheel. The Python module _qwheel has
# DT_RPATH=$ORIGIN/../qwheel.libs and needs libqfront-1a1a1a1a.so.1 there,
# which needs libqdec-2b2b2b2b.so.1, which needs libqcommon-3c3c3c3c.so.1;
# none of the three has an RPATH of its own: they find each other through
# the module's, which glibc searches for the whole chain of loaders
# (elf/dl-load.c _dl_map_object, the loop over l_loader). A module loaded
# first put the system's libqcommon.so.1 in the global scope; it defines
# qc_dict too, so libqdec's call binds to it (B4), while qc_only, which
# only the wheel's copy defines, stays there. Loaded alone, libqfront and
# libqdec find nothing: where libqdec binds "on its own" is where it binds
# when the module alone loads it (ld.so on the module), the wheel's copy.
QDIST=/usr/lib/python3/dist-packages/qwheel
QLIBS=/usr/lib/python3/dist-packages/qwheel.libs
scenario_q-rpath-loader-chain() {
    DESCRIPTION="loader chain: libqdec in a wheel's .libs, found only through the module's DT_RPATH, loses qc_dict to the global system libqcommon; alone (as the module loads it) it binds to the wheel's copy (L3, B4)"
    frame
    lib $ML/libqcommon.so.1 libqcommon.so.1 <<'EOF'
int qc_dict(void) { return 1; }
EOF
    lib $QLIBS/libqcommon-3c3c3c3c.so.1 libqcommon-3c3c3c3c.so.1 <<'EOF'
int qc_dict(void) { return 2; }
int qc_only(void) { return 2; }
EOF
    settle
    lib $QLIBS/libqdec-2b2b2b2b.so.1 libqdec-2b2b2b2b.so.1 "$R$QLIBS/libqcommon-3c3c3c3c.so.1" <<'EOF'
int qc_dict(void);
int qc_only(void);
int qd_decode(void) { return qc_dict() + qc_only(); }
EOF
    settle
    lib $QLIBS/libqfront-1a1a1a1a.so.1 libqfront-1a1a1a1a.so.1 "$R$QLIBS/libqdec-2b2b2b2b.so.1" \
        "-Wl,-rpath-link,$R$QLIBS" <<'EOF'
int qd_decode(void);
int qf_open(void) { return qd_decode(); }
EOF
    module qsys mod_qsys.so "$R$ML/libqcommon.so.1" <<'EOF'
int qc_dict(void);
int soclash_run(void) { return qc_dict(); }
EOF
    so "$QDIST/_qwheel.cpython-311-x86_64-linux-gnu.so" "$R$QLIBS/libqfront-1a1a1a1a.so.1" \
        "-Wl,-rpath,\$ORIGIN/../qwheel.libs" -Wl,--disable-new-dtags "-Wl,-rpath-link,$R$QLIBS" <<'EOF'
int qf_open(void);
int soclash_run(void) { return qf_open(); }
EOF
    httpd
    local mod=$QDIST/_qwheel.cpython-311-x86_64-linux-gnu.so
    expect both $QLIBS/libqdec-2b2b2b2b.so.1 qc_dict $ML/libqcommon.so.1
    expect both $QLIBS/libqdec-2b2b2b2b.so.1 qc_only $QLIBS/libqcommon-3c3c3c3c.so.1
    expect both $QLIBS/libqfront-1a1a1a1a.so.1 qd_decode $QLIBS/libqdec-2b2b2b2b.so.1
    alone "$mod" $QLIBS/libqdec-2b2b2b2b.so.1 qc_dict $QLIBS/libqcommon-3c3c3c3c.so.1
    alone "$mod" $QLIBS/libqdec-2b2b2b2b.so.1 qc_only $QLIBS/libqcommon-3c3c3c3c.so.1
    alone "$mod" $QLIBS/libqfront-1a1a1a1a.so.1 qd_decode $QLIBS/libqdec-2b2b2b2b.so.1
    alone $MODS/mod_qsys.so $MODS/mod_qsys.so qc_dict $ML/libqcommon.so.1
}

# r: unresolved-dependency judged in the process. librgone.so.1 is
# linked against and then removed: the Python module _rgone needs it, so
# its import fails in the process as it does alone (high; likely, as the
# application may not import it); mod_rlost.so needs it too but no
# LoadModule names it, so nothing loads it (low).
scenario_r-unresolved-in-process() {
    DESCRIPTION="unresolved-dependency in the process: a Python module whose import fails for a library that exists nowhere (high), and an installed module nothing loads that needs it too (low)"
    frame
    lib $ML/librgone.so.1 librgone.so.1 <<'EOF'
int rgone(void) { return 1; }
EOF
    pymod _rgone "$R$ML/librgone.so.1" <<'EOF'
int rgone(void);
int soclash_run(void) { return rgone(); }
EOF
    so "$MODS/mod_rlost.so" "$R$ML/librgone.so.1" <<'EOF'
int rgone(void);
int soclash_run(void) { return rgone(); }
EOF
    httpd
    settle
    rm -f -- "$R$ML/librgone.so.1"
    unresolved high $DYN/_rgone.cpython-311-x86_64-linux-gnu.so
    unresolved low $MODS/mod_rlost.so
}

# --- signature scenarios (signatures/*.yaml, tests/it/findings_roots.rs) -----
# For each signature, sig-<id>-pos reproduces the clash and sig-<id>-neg is
# the near-miss that must stay silent. The objects carry the real sonames
# and symbol names of research/signatures.md.

# conf LINE: one more line of apache2.conf, after the LoadModule lines so far.
conf() {
    CONF+=("$1")
}

# An md5 module exporting and calling the four MD5 names, or, given a
# prefix, those names with it (Debian's _PyDFSG_ renaming).
md5_module() {
    local p=${1:-}
    pymod md5 <<EOF
int ${p}MD5Init(void *c) { (void)c; return 1; }
int ${p}MD5Update(void *c) { (void)c; return 1; }
int ${p}MD5Final(void *c) { (void)c; return 1; }
int ${p}MD5Transform(void *c) { (void)c; return 1; }
int soclash_run(void) { return ${p}MD5Init(0) + ${p}MD5Update(0) + ${p}MD5Final(0) + ${p}MD5Transform(0); }
EOF
}

mhash_extension() {
    lib $ML/libmhash.so.2 libmhash.so.2 <<'EOF'
int MD5Init(void *c) { (void)c; return 2; }
int MD5Update(void *c) { (void)c; return 2; }
int MD5Final(void *c) { (void)c; return 2; }
int MD5Transform(void *c) { (void)c; return 2; }
EOF
    phpext mhash "$R$ML/libmhash.so.2" <<'EOF'
int MD5Init(void *c);
int soclash_run(void) { return MD5Init(0); }
EOF
}

scenario_sig-python-md5-vs-libmhash-pos() {
    DESCRIPTION="python-md5-vs-libmhash: md5's own MD5* calls go to libmhash.so.2 (PHP mhash)"
    frame
    mhash_extension
    md5_module
    httpd
    expect both $DYN/md5.cpython-311-x86_64-linux-gnu.so MD5Init $ML/libmhash.so.2
}

scenario_sig-python-md5-vs-libmhash-neg() {
    DESCRIPTION="python-md5-vs-libmhash near-miss: md5 uses Debian's _PyDFSG_ names"
    frame
    mhash_extension
    md5_module _PyDFSG_
    httpd
    expect both $DYN/md5.cpython-311-x86_64-linux-gnu.so _PyDFSG_MD5Init $DYN/md5.cpython-311-x86_64-linux-gnu.so
}

# pysqlite's type object points at its cache function (a pointer in data).
sqlite_module() {
    local name=$1
    pymod _sqlite <<EOF
int $name(void *self, void *args, void *kwds) { (void)self; (void)args; (void)kwds; return 0; }
struct type { const char *name; int (*tp_init)(void *, void *, void *); };
struct type CacheType = { "sqlite.Cache", $name };
int soclash_run(void) { return CacheType.tp_init != 0; }
EOF
}

mem_cache_module() {
    module mem_cache mod_mem_cache.so <<'EOF'
int cache_init(int max_entries, unsigned long max_size) { return max_entries > 0 ? 0 : (int)max_size; }
EOF
}

scenario_sig-pysqlite-cache-init-vs-mod-cache-pos() {
    DESCRIPTION="pysqlite-cache-init-vs-mod-cache: _sqlite's cache_init pointer binds to mod_mem_cache"
    frame
    mem_cache_module
    sqlite_module cache_init
    httpd
    expect both $DYN/_sqlite.cpython-311-x86_64-linux-gnu.so cache_init $MODS/mod_mem_cache.so
}

scenario_sig-pysqlite-cache-init-vs-mod-cache-neg() {
    DESCRIPTION="pysqlite-cache-init-vs-mod-cache near-miss: pysqlite 2.3.3's pysqlite_cache_init"
    frame
    mem_cache_module
    sqlite_module pysqlite_cache_init
    httpd
    expect both $DYN/_sqlite.cpython-311-x86_64-linux-gnu.so pysqlite_cache_init $DYN/_sqlite.cpython-311-x86_64-linux-gnu.so
}

# httpd needs libexpat.so.1 (as through libaprutil); pyexpat embeds expat.
expat_httpd() {
    lib $ML/libexpat.so.1 libexpat.so.1 <<'EOF'
void *XML_ParserCreate(const char *enc) { (void)enc; return (void *)1; }
int XML_Parse(void *p, const char *s, int len, int final) { (void)p; (void)s; (void)final; return len; }
const char *XML_ExpatVersion(void) { return "expat_2.5.0"; }
EOF
    httpd "$R$ML/libexpat.so.1"
}

pyexpat_module() {
    local p=$1
    pymod pyexpat <<EOF
void *${p}XML_ParserCreate(const char *enc) { (void)enc; return (void *)2; }
int ${p}XML_Parse(void *p, const char *s, int len, int final) { (void)p; (void)s; (void)final; return -len; }
const char *${p}XML_ExpatVersion(void) { return "expat_1.95.8"; }
int soclash_run(void) { return ${p}XML_Parse(${p}XML_ParserCreate(0), "", 0, 1) + (${p}XML_ExpatVersion() != 0); }
EOF
}

scenario_sig-pyexpat-vs-httpd-libexpat-pos() {
    DESCRIPTION="pyexpat-vs-httpd-libexpat: pyexpat's unprefixed expat calls go to httpd's libexpat.so.1"
    frame
    pyexpat_module ""
    expat_httpd
    expect both $DYN/pyexpat.cpython-311-x86_64-linux-gnu.so XML_Parse $ML/libexpat.so.1
}

scenario_sig-pyexpat-vs-httpd-libexpat-neg() {
    DESCRIPTION="pyexpat-vs-httpd-libexpat near-miss: CPython's PyExpat_ namespacing"
    frame
    pyexpat_module PyExpat_
    expat_httpd
    expect both $DYN/pyexpat.cpython-311-x86_64-linux-gnu.so PyExpat_XML_Parse $DYN/pyexpat.cpython-311-x86_64-linux-gnu.so
}

mysql_lib() {
    lib "$ML/$1" "$1" <<'EOF'
int mysql_init(void *m) { (void)m; return 0; }
EOF
}

mysql_user() {
    cat <<'EOF'
int mysql_init(void *m);
int soclash_run(void) { return mysql_init(0); }
EOF
}

scenario_sig-mysql-client-library-mismatch-pos() {
    DESCRIPTION="mysql-client-library-mismatch: mod_auth_mysql with libmysqlclient.so.12, _mysql with libmysqlclient_r.so.15"
    frame
    mysql_lib libmysqlclient.so.12
    mysql_lib libmysqlclient_r.so.15
    module auth_mysql mod_auth_mysql.so "$R$ML/libmysqlclient.so.12" < <(mysql_user)
    pymod _mysql "$R$ML/libmysqlclient_r.so.15" < <(mysql_user)
    httpd
}

scenario_sig-mysql-client-library-mismatch-neg() {
    DESCRIPTION="mysql-client-library-mismatch near-miss: both use libmysqlclient.so.21"
    frame
    mysql_lib libmysqlclient.so.21
    module auth_mysql mod_auth_mysql.so "$R$ML/libmysqlclient.so.21" < <(mysql_user)
    pymod _mysql "$R$ML/libmysqlclient.so.21" < <(mysql_user)
    httpd
}

# An OpenSSL 3 stand-in: libssl.so.3 with the OPENSSL_3.0.0 node.
openssl3() {
    lib $ML/libssl.so.3 libssl.so.3 "$(vscript ossl3 <<<'OPENSSL_3.0.0 { global: *; };')" <<'EOF'
int SSL_new(void *ctx) { (void)ctx; return 3; }
int SSL_CTX_new(void *m) { (void)m; return 3; }
EOF
}

ssl_user() {
    cat <<'EOF'
int SSL_new(void *ctx);
int soclash_run(void) { return SSL_new(0); }
EOF
}

# Ten SSL_/EVP_ definitions and a version string, as a static OpenSSL
# leaves them in httpd.
static_openssl_source() {
    local i
    for i in 0 1 2 3 4; do
        echo "int SSL_fn$i(void) { return $i; }"
        echo "int EVP_fn$i(void) { return $i; }"
    done
    echo 'const char openssl_version_text[] = "OpenSSL 1.0.2u  20 Dec 2019";'
}

scenario_sig-httpd-static-openssl-vs-libssl-pos() {
    DESCRIPTION="httpd-static-openssl-vs-libssl: httpd exports a static OpenSSL, a Python module needs libssl.so.3"
    frame
    openssl3
    pymod _ssl "$R$ML/libssl.so.3" < <(ssl_user)
    httpd --source -rdynamic < <(static_openssl_source)
}

scenario_sig-httpd-static-openssl-vs-libssl-neg() {
    DESCRIPTION="httpd-static-openssl-vs-libssl near-miss: httpd needs the shared libssl.so.3 itself"
    frame
    openssl3
    pymod _ssl "$R$ML/libssl.so.3" < <(ssl_user)
    httpd "$R$ML/libssl.so.3"
}

gilstate_module() {
    pymod _swigmod <<'EOF'
int PyGILState_Ensure(void);
void PyGILState_Release(int state);
int soclash_run(void) { int s = PyGILState_Ensure(); PyGILState_Release(s); return s; }
EOF
}

scenario_sig-python-gilstate-subinterpreter-pos() {
    DESCRIPTION="python-gilstate-subinterpreter: a PyGILState_* user in an application run in a sub-interpreter"
    frame
    gilstate_module
    conf 'WSGIScriptAlias / /srv/app/app.wsgi'
    httpd
}

scenario_sig-python-gilstate-subinterpreter-neg() {
    DESCRIPTION="python-gilstate-subinterpreter near-miss: WSGIApplicationGroup %{GLOBAL}"
    frame
    gilstate_module
    conf 'WSGIScriptAlias / /srv/app/app.wsgi'
    conf 'WSGIApplicationGroup %{GLOBAL}'
    httpd
}

scenario_sig-textrel-selinux-static-libpython-pos() {
    DESCRIPTION="textrel-selinux-static-libpython: a module with text relocations (DT_TEXTREL)"
    frame
    module textrel mod_textrel.so -Wl,-z,notext <<'EOF'
int textrel_target = 5;
__asm__(".text\n.globl textrel_ptr\ntextrel_ptr: .quad textrel_target\n");
int soclash_run(void) { return textrel_target; }
EOF
    httpd
}

scenario_sig-textrel-selinux-static-libpython-neg() {
    DESCRIPTION="textrel-selinux-static-libpython near-miss: the same module as position-independent code"
    frame
    module textrel mod_textrel.so <<'EOF'
int textrel_target = 5;
int *textrel_ptr = &textrel_target;
int soclash_run(void) { return *textrel_ptr; }
EOF
    httpd
}

oracle_client() {
    lib $ML/libclntsh.so.19.1 libclntsh.so.19.1 <<'EOF'
int OCIEnvCreate(void) { return 0; }
EOF
    pymod cx_Oracle "$R$ML/libclntsh.so.19.1" <<'EOF'
int OCIEnvCreate(void);
int soclash_run(void) { return OCIEnvCreate(); }
EOF
}

scenario_sig-cx-oracle-process-name-parens-pos() {
    DESCRIPTION="cx-oracle-process-name-parens: libclntsh in a daemon with display-name=%{GROUP}"
    frame
    oracle_client
    conf 'WSGIDaemonProcess app display-name=%{GROUP}'
    conf 'WSGIScriptAlias / /srv/app/app.wsgi process-group=app'
    httpd
}

scenario_sig-cx-oracle-process-name-parens-neg() {
    DESCRIPTION="cx-oracle-process-name-parens near-miss: display-name without parentheses"
    frame
    oracle_client
    conf 'WSGIDaemonProcess app display-name=app-daemon'
    conf 'WSGIScriptAlias / /srv/app/app.wsgi process-group=app'
    httpd
}

scenario_sig-mixed-openssl-in-process-pos() {
    DESCRIPTION="mixed-openssl-in-process: mod_ssl with libssl.so.3, another module with libssl.so.1.1"
    frame
    openssl3
    lib $ML/libssl.so.1.1 libssl.so.1.1 "$(vscript ossl11 <<<'OPENSSL_1_1_0 { global: *; };')" <<'EOF'
int SSL_new(void *ctx) { (void)ctx; return 11; }
EOF
    module ssl mod_ssl.so "$R$ML/libssl.so.3" < <(ssl_user)
    module auth_openidc mod_auth_openidc.so "$R$ML/libssl.so.1.1" < <(ssl_user)
    httpd
}

scenario_sig-mixed-openssl-in-process-neg() {
    DESCRIPTION="mixed-openssl-in-process near-miss: both modules use libssl.so.3"
    frame
    openssl3
    module ssl mod_ssl.so "$R$ML/libssl.so.3" < <(ssl_user)
    module auth_openidc mod_auth_openidc.so "$R$ML/libssl.so.3" < <(ssl_user)
    httpd
}

PSYCO=/usr/lib/python3/dist-packages/psycopg2
WHEELLIBS=/usr/lib/python3/dist-packages/psycopg2_binary.libs

scenario_sig-wheel-vendored-openssl-pos() {
    DESCRIPTION="wheel-vendored-openssl: psycopg2-binary's libssl-a1b2c3d4.so.3 next to mod_ssl's libssl.so.3"
    frame
    openssl3
    module ssl mod_ssl.so "$R$ML/libssl.so.3" < <(ssl_user)
    lib $WHEELLIBS/libssl-a1b2c3d4.so.3 libssl-a1b2c3d4.so.3 \
        "$(vscript wheel <<<'OPENSSL_3.0.0 { global: *; };')" <<'EOF'
int SSL_new(void *ctx) { (void)ctx; return 4; }
EOF
    so "$PSYCO/_psycopg.cpython-311-x86_64-linux-gnu.so" "$R$WHEELLIBS/libssl-a1b2c3d4.so.3" \
        "-Wl,-rpath,\$ORIGIN/../psycopg2_binary.libs" -Wl,--disable-new-dtags < <(ssl_user)
    httpd
    expect both $PSYCO/_psycopg.cpython-311-x86_64-linux-gnu.so SSL_new $ML/libssl.so.3
}

scenario_sig-wheel-vendored-openssl-neg() {
    DESCRIPTION="wheel-vendored-openssl near-miss: psycopg2 built from source against libssl.so.3"
    frame
    openssl3
    module ssl mod_ssl.so "$R$ML/libssl.so.3" < <(ssl_user)
    so "$PSYCO/_psycopg.cpython-311-x86_64-linux-gnu.so" "$R$ML/libssl.so.3" < <(ssl_user)
    httpd
    expect both $PSYCO/_psycopg.cpython-311-x86_64-linux-gnu.so SSL_new $ML/libssl.so.3
}

sqlite_source() {
    local f
    for f in sqlite3_open sqlite3_close sqlite3_exec sqlite3_prepare_v2 sqlite3_step sqlite3_libversion; do
        echo "int $f(void) { return $1; }"
    done
}

py_sqlite3() {
    lib $ML/libsqlite3.so.0 libsqlite3.so.0 < <(sqlite_source 3)
    pymod _sqlite3 "$R$ML/libsqlite3.so.0" <<'EOF'
int sqlite3_open(void);
int soclash_run(void) { return sqlite3_open(); }
EOF
}

scenario_sig-duplicate-sqlite3-in-process-pos() {
    DESCRIPTION="duplicate-sqlite3-in-process: a PHP extension embeds SQLite, Python's _sqlite3 uses libsqlite3.so.0"
    frame
    py_sqlite3
    phpext sqlite3 < <(sqlite_source 1; echo 'int soclash_run(void) { return sqlite3_open(); }')
    httpd
    expect both $DYN/_sqlite3.cpython-311-x86_64-linux-gnu.so sqlite3_open $PHPEXT/sqlite3.so
}

scenario_sig-duplicate-sqlite3-in-process-neg() {
    DESCRIPTION="duplicate-sqlite3-in-process near-miss: the PHP extension uses libsqlite3.so.0 too"
    frame
    py_sqlite3
    phpext sqlite3 "$R$ML/libsqlite3.so.0" <<'EOF'
int sqlite3_open(void);
int soclash_run(void) { return sqlite3_open(); }
EOF
    httpd
    expect both $DYN/_sqlite3.cpython-311-x86_64-linux-gnu.so sqlite3_open $ML/libsqlite3.so.0
}

LXML=/usr/lib/python3/dist-packages/lxml

xml_source() {
    local i
    for i in $(seq 1 120); do
        echo "int xmlFn$i(void) { return $i; }"
    done
    echo 'int xmlNewDoc(void) { return 0; }'
    echo 'int soclash_run(void) { return xmlNewDoc(); }'
}

xml2_module() {
    lib $ML/libxml2.so.2 libxml2.so.2 "$(vscript xml2 <<<'LIBXML2_2.4.30 { global: *; };')" <<'EOF'
int xmlNewDoc(void) { return 2; }
EOF
    module xml2enc mod_xml2enc.so "$R$ML/libxml2.so.2" <<'EOF'
int xmlNewDoc(void);
int soclash_run(void) { return xmlNewDoc(); }
EOF
}

scenario_sig-lxml-wheel-static-libxml2-pos() {
    DESCRIPTION="lxml-wheel-static-libxml2: lxml's etree embeds libxml2 while mod_xml2enc loads libxml2.so.2"
    frame
    xml2_module
    so "$LXML/etree.cpython-311-x86_64-linux-gnu.so" < <(xml_source)
    httpd
}

scenario_sig-lxml-wheel-static-libxml2-neg() {
    DESCRIPTION="lxml-wheel-static-libxml2 near-miss: lxml built against libxml2.so.2"
    frame
    xml2_module
    so "$LXML/etree.cpython-311-x86_64-linux-gnu.so" "$R$ML/libxml2.so.2" <<'EOF'
int xmlNewDoc(void);
int soclash_run(void) { return xmlNewDoc(); }
EOF
    httpd
}

scenario_sig-two-libphp-in-one-httpd-pos() {
    DESCRIPTION="two-libphp-in-one-httpd: libphp8.1.so loaded next to libphp8.2.so"
    frame
    module php81 libphp8.1.so <<'EOF'
int php_module_startup(void) { return 81; }
EOF
    httpd
}

scenario_sig-two-libphp-in-one-httpd-neg() {
    DESCRIPTION="two-libphp-in-one-httpd near-miss: libphp8.1.so installed, not loaded"
    frame
    so "$MODS/libphp8.1.so" <<'EOF'
int php_module_startup(void) { return 81; }
EOF
    httpd
}

python27() {
    lib $ML/libpython2.7.so.1.0 libpython2.7.so.1.0 <<'EOF'
int Py_Initialize(void) { return 27; }
EOF
}

mod_python_source() {
    cat <<'EOF'
int Py_Initialize(void);
int soclash_run(void) { return Py_Initialize(); }
EOF
}

scenario_sig-multiple-libpython-or-mod-python-with-mod-wsgi-pos() {
    DESCRIPTION="multiple-libpython-or-mod-python-with-mod-wsgi: mod_python (libpython2.7) with mod_wsgi (libpython3.11)"
    frame
    python27
    module python mod_python.so "$R$ML/libpython2.7.so.1.0" < <(mod_python_source)
    httpd
}

scenario_sig-multiple-libpython-or-mod-python-with-mod-wsgi-neg() {
    DESCRIPTION="multiple-libpython-or-mod-python-with-mod-wsgi near-miss: mod_python installed, not loaded"
    frame
    python27
    so "$MODS/mod_python.so" "$R$ML/libpython2.7.so.1.0" < <(mod_python_source)
    httpd
}

# libz.so.1 as zlib ships it: a module built against one with ZLIB_1.2.9
# (in the build directory, not in the root) needs that version; the root's
# libz.so.1 defines it (neg) or stops at ZLIB_1.2.0 (pos).
zlib_pair() {
    local z=$B/zbuild
    mkdir -p "$z"
    printf 'ZLIB_1.2.0 { global: zlibVersion; local: *; };\nZLIB_1.2.9 { global: inflateValidate; } ZLIB_1.2.0;\n' >"$z/new.map"
    printf 'int zlibVersion(void) { return 1; }\nint inflateValidate(void) { return 9; }\n' >"$z/z.c"
    gcc -shared -fPIC -o "$z/libz.so.1" -Wl,-soname,libz.so.1 -Wl,--version-script="$z/new.map" "$z/z.c" ||
        die "cannot build the build-time libz"
    if [[ $1 == new ]]; then
        lib $ML/libz.so.1 libz.so.1 "-Wl,--version-script=$z/new.map" <"$z/z.c"
    else
        lib $ML/libz.so.1 libz.so.1 "$(vscript oldz <<<'ZLIB_1.2.0 { global: *; };')" <<'EOF'
int zlibVersion(void) { return 1; }
EOF
    fi
    module deflate mod_zdeflate.so "$z/libz.so.1" <<'EOF'
int inflateValidate(void);
int soclash_run(void) { return inflateValidate(); }
EOF
}

scenario_sig-missing-version-node-pos() {
    DESCRIPTION="missing-version-node: a module needing ZLIB_1.2.9 meets an older libz.so.1"
    frame
    zlib_pair old
    httpd
}

scenario_sig-missing-version-node-neg() {
    DESCRIPTION="missing-version-node near-miss: the root's libz.so.1 defines ZLIB_1.2.9"
    frame
    zlib_pair new
    httpd
}

readline_source() {
    echo "int readline(void) { return $1; }"
    echo "int add_history(void) { return $1; }"
    echo "int rl_line_buffer = $1;"
}

readline_pair() {
    lib $ML/libedit.so.2 libedit.so.2 < <(readline_source 2)
    lib $ML/libreadline.so.8 libreadline.so.8 < <(readline_source 8)
    pymod readline "$R$ML/libreadline.so.8" <<'EOF'
int add_history(void);
extern int rl_line_buffer;
int soclash_run(void) { return add_history() + rl_line_buffer; }
EOF
}

readline_extension() {
    cat <<'EOF'
int add_history(void);
int soclash_run(void) { return add_history(); }
EOF
}

scenario_sig-libedit-vs-libreadline-pos() {
    DESCRIPTION="libedit-vs-libreadline: PHP's readline extension (libedit) takes the Python readline module's libreadline symbols"
    frame
    readline_pair
    phpext readline "$R$ML/libedit.so.2" < <(readline_extension)
    httpd
    expect both $DYN/readline.cpython-311-x86_64-linux-gnu.so add_history $ML/libedit.so.2
}

scenario_sig-libedit-vs-libreadline-neg() {
    DESCRIPTION="libedit-vs-libreadline near-miss: the readline extension is enabled for php-fpm only"
    frame
    readline_pair
    so "$PHPEXT/readline.so" "$R$ML/libedit.so.2" < <(readline_extension)
    mkdir -p "$R/etc/php/8.2/fpm/conf.d"
    printf '; priority=20\nextension=readline.so\n' >"$R/etc/php/8.2/fpm/conf.d/20-readline.ini"
    httpd
    expect both $DYN/readline.cpython-311-x86_64-linux-gnu.so add_history $ML/libreadline.so.8
}

# --- signature scenarios for the 14 signatures beyond the required 16 -------
# (for sample-libs/bind-roots.sh, after the existing sig-* scenarios; they use
# its building blocks: frame, lib, so, module, phpext, pymod, conf, httpd,
# expect, vscript)

DIST=/usr/lib/python3/dist-packages

# The frame with a libphp of one's own (stdin: its source), for scenarios
# about what libphp itself carries or needs; extra gcc arguments for libphp.
frame_php() {
    debian_base
    lib $LIBPYTHON libpython3.11.so.1.0 <<'EOF'
int Py_IsInitialized(void) { return 1; }
int PyGILState_Ensure(void) { return 1; }
void PyGILState_Release(int state) { (void)state; }
EOF
    module php libphp8.2.so "$@"
    module wsgi mod_wsgi.so "$R$LIBPYTHON" <<'EOF'
int Py_IsInitialized(void);
int wsgi_init(void) { return Py_IsInitialized(); }
EOF
}

# The frame with a libpython of one's own: its in-root path, then its
# source on stdin.
frame_python() {
    local libpython=$1
    debian_base
    lib "$libpython" libpython3.11.so.1.0
    module php libphp8.2.so <<'EOF'
int php_module_startup(void) { return 0; }
EOF
    module wsgi mod_wsgi.so "$R$libpython" "-Wl,-rpath,$(dirname -- "$libpython")" -Wl,--disable-new-dtags <<'EOF'
int Py_IsInitialized(void);
int wsgi_init(void) { return Py_IsInitialized(); }
EOF
}

# -- php-bundled-pcre-vs-libpcre ---------------------------------------------

pcre_system() {
    lib $ML/libpcre.so.3 libpcre.so.3 <<'EOF'
int pcre_jit_exec(void) { return 3; }
EOF
}

scenario_sig-php-bundled-pcre-vs-libpcre-pos() {
    DESCRIPTION="php-bundled-pcre-vs-libpcre: libphp's bundled PCRE leaks pcre_jit_exec, httpd's libpcre.so.3 takes it"
    pcre_system
    frame_php <<'EOF'
int php_module_startup(void) { return 0; }
int php_pcre_compile2(void) { return 0; }
int pcre_jit_exec(void) { return 8; }
int soclash_run(void) { return pcre_jit_exec(); }
EOF
    httpd "$R$ML/libpcre.so.3"
    expect both $MODS/libphp8.2.so pcre_jit_exec $ML/libpcre.so.3
}

scenario_sig-php-bundled-pcre-vs-libpcre-neg() {
    DESCRIPTION="php-bundled-pcre-vs-libpcre near-miss: libphp built against the system libpcre.so.3"
    pcre_system
    frame_php "$R$ML/libpcre.so.3" <<'EOF'
int php_module_startup(void) { return 0; }
int pcre_jit_exec(void);
int soclash_run(void) { return pcre_jit_exec(); }
EOF
    httpd "$R$ML/libpcre.so.3"
    expect both $MODS/libphp8.2.so pcre_jit_exec $ML/libpcre.so.3
}

# -- php-recode-mysql-imap-hash-symbols --------------------------------------

recode_mysql_libs() {
    lib $ML/librecode.so.0 librecode.so.0 <<'EOF'
int hash_insert(void *table, void *item) { (void)table; (void)item; return 1; }
int recode_new_outer(void) { return hash_insert(0, 0); }
EOF
    lib $ML/libmysqlclient.so.15 libmysqlclient.so.15 <<'EOF'
int hash_insert(void *hash, const void *record) { (void)hash; (void)record; return 15; }
int mysql_init(void *m) { (void)m; return hash_insert(0, 0); }
EOF
}

scenario_sig-php-recode-mysql-imap-hash-symbols-pos() {
    DESCRIPTION="php-recode-mysql-imap-hash-symbols: recode and mysql built into libphp; libmysqlclient's hash_insert call goes to librecode"
    recode_mysql_libs
    frame_php "$R$ML/librecode.so.0" "$R$ML/libmysqlclient.so.15" <<'EOF'
int php_module_startup(void) { return 0; }
int mysql_init(void *m);
int recode_new_outer(void);
int soclash_run(void) { return mysql_init(0) + recode_new_outer(); }
EOF
    httpd
    expect both $ML/libmysqlclient.so.15 hash_insert $ML/librecode.so.0
}

scenario_sig-php-recode-mysql-imap-hash-symbols-neg() {
    DESCRIPTION="php-recode-mysql-imap-hash-symbols near-miss: recode and mysql as extensions, loaded with RTLD_DEEPBIND"
    recode_mysql_libs
    frame
    phpext recode "$R$ML/librecode.so.0" <<'EOF'
int recode_new_outer(void);
int soclash_run(void) { return recode_new_outer(); }
EOF
    phpext mysql "$R$ML/libmysqlclient.so.15" <<'EOF'
int mysql_init(void *m);
int soclash_run(void) { return mysql_init(0); }
EOF
    httpd
    expect both $ML/libmysqlclient.so.15 hash_insert $ML/libmysqlclient.so.15
}

# -- apache13-expat-lite-vs-xml-parser ---------------------------------------

expat_lib() {
    lib $ML/libexpat.so.1 libexpat.so.1 <<'EOF'
void *XML_ParserCreate(const char *enc) { (void)enc; return (void *)1; }
int XML_Parse(void *p, const char *s, int len, int final) { (void)p; (void)s; (void)final; return len; }
EOF
}

expat_user() {
    cat <<'EOF'
void *XML_ParserCreate(const char *enc);
int XML_Parse(void *p, const char *s, int len, int final);
int soclash_run(void) { return XML_Parse(XML_ParserCreate(0), "", 0, 1); }
EOF
}

scenario_sig-apache13-expat-lite-vs-xml-parser-pos() {
    DESCRIPTION="apache13-expat-lite-vs-xml-parser: httpd exports a compiled-in expat, a module's libexpat.so.1 calls go to it"
    frame
    expat_lib
    module xmlparser mod_xmlparser.so "$R$ML/libexpat.so.1" < <(expat_user)
    httpd --source -rdynamic <<'EOF'
void *XML_ParserCreate(const char *enc) { (void)enc; return (void *)13; }
int XML_Parse(void *p, const char *s, int len, int final) { (void)p; (void)s; (void)final; return -len; }
EOF
    expect both $MODS/mod_xmlparser.so XML_Parse /usr/sbin/apache2
}

scenario_sig-apache13-expat-lite-vs-xml-parser-neg() {
    DESCRIPTION="apache13-expat-lite-vs-xml-parser near-miss: httpd links the shared libexpat.so.1 like the module"
    frame
    expat_lib
    module xmlparser mod_xmlparser.so "$R$ML/libexpat.so.1" < <(expat_user)
    httpd "$R$ML/libexpat.so.1"
    expect both $MODS/mod_xmlparser.so XML_Parse $ML/libexpat.so.1
}

# -- berkeley-db-version-mismatch --------------------------------------------

libdb() {
    lib "$ML/libdb-$1.so" "libdb-$1.so" <<EOF
int db_create(void **db, void *env, unsigned flags) { (void)db; (void)env; (void)flags; return ${1//./}; }
EOF
}

db_user() {
    cat <<'EOF'
int db_create(void **db, void *env, unsigned flags);
int soclash_run(void) { return db_create(0, 0, 0); }
EOF
}

scenario_sig-berkeley-db-version-mismatch-pos() {
    DESCRIPTION="berkeley-db-version-mismatch: mod_authn_dbm with libdb-5.3.so, PHP dba with libdb-4.8.so"
    frame
    libdb 5.3
    libdb 4.8
    module authn_dbm mod_authn_dbm.so "$R$ML/libdb-5.3.so" < <(db_user)
    phpext dba "$R$ML/libdb-4.8.so" < <(db_user)
    httpd
}

scenario_sig-berkeley-db-version-mismatch-neg() {
    DESCRIPTION="berkeley-db-version-mismatch near-miss: both use libdb-5.3.so"
    frame
    libdb 5.3
    module authn_dbm mod_authn_dbm.so "$R$ML/libdb-5.3.so" < <(db_user)
    phpext dba "$R$ML/libdb-5.3.so" < <(db_user)
    httpd
}

# -- perl-cryptx-vs-heimdal-asn1 ---------------------------------------------

heimdal() {
    lib $ML/libasn1.so.8 libasn1.so.8 <<'EOF'
unsigned long der_length_octet_string(const void *k) { (void)k; return 8; }
EOF
    module auth_gssapi mod_auth_gssapi.so "$R$ML/libasn1.so.8" <<'EOF'
unsigned long der_length_octet_string(const void *k);
int soclash_run(void) { return (int)der_length_octet_string(0); }
EOF
}

tomcrypt() {
    local p=$1
    lib $ML/libtomcrypt.so.1 libtomcrypt.so.1 <<EOF
int ${p}der_length_octet_string(unsigned long noctets, unsigned long *outlen) { (void)noctets; (void)outlen; return 1; }
int der_encode_octet_string(void) { unsigned long n; return ${p}der_length_octet_string(1, &n); }
EOF
    pymod _tomcrypt "$R$ML/libtomcrypt.so.1" <<'EOF'
int der_encode_octet_string(void);
int soclash_run(void) { return der_encode_octet_string(); }
EOF
}

scenario_sig-perl-cryptx-vs-heimdal-asn1-pos() {
    DESCRIPTION="perl-cryptx-vs-heimdal-asn1: libtomcrypt's der_length_octet_string call goes to Heimdal's libasn1.so.8"
    frame
    heimdal
    tomcrypt ""
    httpd
    expect both $ML/libtomcrypt.so.1 der_length_octet_string $ML/libasn1.so.8
}

scenario_sig-perl-cryptx-vs-heimdal-asn1-neg() {
    DESCRIPTION="perl-cryptx-vs-heimdal-asn1 near-miss: CryptX's cryptx_der_* prefix"
    frame
    heimdal
    tomcrypt cryptx_
    httpd
    expect both $ML/libtomcrypt.so.1 cryptx_der_length_octet_string $ML/libtomcrypt.so.1
}

# -- ossp-uuid-vs-libuuid ----------------------------------------------------

uuid_libs() {
    lib $ML/libossp-uuid.so.16 libossp-uuid.so.16 <<'EOF'
int uuid_compare(const void *a, const void *b, int *result) { (void)a; (void)b; (void)result; return 16; }
EOF
    lib $ML/libuuid.so.1 libuuid.so.1 "$(vscript uuid <<<'UUID_1.0 { global: *; };')" <<'EOF'
int uuid_compare(const unsigned char *a, const unsigned char *b) { (void)a; (void)b; return 1; }
EOF
    pymod _uuid "$R$ML/libuuid.so.1" <<'EOF'
int uuid_compare(const unsigned char *a, const unsigned char *b);
int soclash_run(void) { return uuid_compare(0, 0); }
EOF
}

ossp_user() {
    cat <<'EOF'
int uuid_compare(const void *a, const void *b, int *result);
int soclash_run(void) { int r; return uuid_compare(0, 0, &r); }
EOF
}

scenario_sig-ossp-uuid-vs-libuuid-pos() {
    DESCRIPTION="ossp-uuid-vs-libuuid: a module brings OSSP's libossp-uuid.so.16, Python's _uuid calls its uuid_compare"
    frame
    uuid_libs
    module ossp mod_ossp.so "$R$ML/libossp-uuid.so.16" < <(ossp_user)
    httpd
    expect both $DYN/_uuid.cpython-311-x86_64-linux-gnu.so uuid_compare $ML/libossp-uuid.so.16
}

scenario_sig-ossp-uuid-vs-libuuid-neg() {
    DESCRIPTION="ossp-uuid-vs-libuuid near-miss: the OSSP user is installed, not loaded"
    frame
    uuid_libs
    so "$MODS/mod_ossp.so" "$R$ML/libossp-uuid.so.16" < <(ossp_user)
    httpd
    expect both $DYN/_uuid.cpython-311-x86_64-linux-gnu.so uuid_compare $ML/libuuid.so.1
}

# -- php-bundled-gd-vs-libgd -------------------------------------------------

gd_source() {
    local f
    for f in gdImageCreate gdImageCreateTrueColor gdImageDestroy gdImageStringFT; do
        echo "int $f(void) { return $1; }"
    done
}

gd_python() {
    lib $ML/libgd.so.3 libgd.so.3 < <(gd_source 3)
    pymod _gd "$R$ML/libgd.so.3" <<'EOF'
int gdImageCreate(void);
int soclash_run(void) { return gdImageCreate(); }
EOF
}

scenario_sig-php-bundled-gd-vs-libgd-pos() {
    DESCRIPTION="php-bundled-gd-vs-libgd: PHP's gd.so carries GD, a Python module's libgd.so.3 calls go to it"
    frame
    gd_python
    phpext gd < <(gd_source 1; echo 'int soclash_run(void) { return gdImageCreate(); }')
    httpd
    expect both $DYN/_gd.cpython-311-x86_64-linux-gnu.so gdImageCreate $PHPEXT/gd.so
}

scenario_sig-php-bundled-gd-vs-libgd-neg() {
    DESCRIPTION="php-bundled-gd-vs-libgd near-miss: gd.so linked against libgd.so.3"
    frame
    gd_python
    phpext gd "$R$ML/libgd.so.3" <<'EOF'
int gdImageCreate(void);
int soclash_run(void) { return gdImageCreate(); }
EOF
    httpd
    expect both $DYN/_gd.cpython-311-x86_64-linux-gnu.so gdImageCreate $ML/libgd.so.3
}

# -- php-nts-module-with-threaded-mpm ----------------------------------------

scenario_sig-php-nts-module-with-threaded-mpm-pos() {
    DESCRIPTION="php-nts-module-with-threaded-mpm: the NTS libphp8.2.so with mod_mpm_event"
    frame
    module mpm_event mod_mpm_event.so <<'EOF'
int mpm_event_run(void) { return 0; }
EOF
    httpd
}

scenario_sig-php-nts-module-with-threaded-mpm-neg() {
    DESCRIPTION="php-nts-module-with-threaded-mpm near-miss: mod_mpm_prefork"
    frame
    module mpm_prefork mod_mpm_prefork.so <<'EOF'
int mpm_prefork_run(void) { return 0; }
EOF
    httpd
}

# -- php-rtld-deepbind-vs-preloaded-allocator --------------------------------
# The allocator forwards to glibc's, so that a preloaded run works.

allocator() {
    lib $ML/libjemalloc.so.2 libjemalloc.so.2 <<'EOF'
#include <stddef.h>
void *__libc_malloc(size_t n);
void __libc_free(void *p);
void *__libc_calloc(size_t n, size_t s);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n) { return __libc_malloc(n); }
void free(void *p) { __libc_free(p); }
void *calloc(size_t n, size_t s) { return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }
EOF
    phpext zip <<'EOF'
#include <stdlib.h>
int soclash_run(void) { void *p = malloc(8); free(p); return p != 0; }
EOF
}

scenario_sig-php-rtld-deepbind-vs-preloaded-allocator-pos() {
    DESCRIPTION="php-rtld-deepbind-vs-preloaded-allocator: LD_PRELOAD=libjemalloc.so.2 in envvars, PHP extensions loaded"
    frame
    allocator
    mkdir -p "$R/etc/apache2"
    echo "export LD_PRELOAD=$ML/libjemalloc.so.2" >"$R/etc/apache2/envvars"
    httpd
}

scenario_sig-php-rtld-deepbind-vs-preloaded-allocator-neg() {
    DESCRIPTION="php-rtld-deepbind-vs-preloaded-allocator near-miss: libjemalloc.so.2 installed, not preloaded"
    frame
    allocator
    mkdir -p "$R/etc/apache2"
    echo "export LANG=C" >"$R/etc/apache2/envvars"
    httpd
}

# -- openssl-1-0-global-callback-teardown ------------------------------------

openssl10_stack() {
    lib $ML/libcrypto.so.1.0.0 libcrypto.so.1.0.0 <<'EOF'
void CRYPTO_set_locking_callback(void (*f)(int, int, const char *, int)) { (void)f; }
void ENGINE_cleanup(void) { }
EOF
    settle # libcurl and libmysqlclient link it
    lib $ML/libcurl.so.4 libcurl.so.4 "$R$ML/libcrypto.so.1.0.0" <<'EOF'
void ENGINE_cleanup(void);
int curl_global_cleanup(void) { ENGINE_cleanup(); return 0; }
EOF
    phpext curl "$R$ML/libcurl.so.4" <<'EOF'
int curl_global_cleanup(void);
int soclash_run(void) { return curl_global_cleanup(); }
EOF
}

scenario_sig-openssl-1-0-global-callback-teardown-pos() {
    DESCRIPTION="openssl-1-0-global-callback-teardown: libmysqlclient.so.20 sets OpenSSL 1.0 locking callbacks, libcurl cleans up"
    frame
    openssl10_stack
    lib $ML/libmysqlclient.so.20 libmysqlclient.so.20 "$R$ML/libcrypto.so.1.0.0" <<'EOF'
void CRYPTO_set_locking_callback(void (*f)(int, int, const char *, int));
int mysql_server_init(void) { CRYPTO_set_locking_callback(0); return 0; }
EOF
    phpext pdo_mysql "$R$ML/libmysqlclient.so.20" <<'EOF'
int mysql_server_init(void);
int soclash_run(void) { return mysql_server_init(); }
EOF
    httpd
}

scenario_sig-openssl-1-0-global-callback-teardown-neg() {
    DESCRIPTION="openssl-1-0-global-callback-teardown near-miss: pdo_mysql with mysqlnd (no libmysqlclient)"
    frame
    openssl10_stack
    phpext pdo_mysql <<'EOF'
int soclash_run(void) { return 0; }
EOF
    httpd
}

# -- pycurl-ssl-backend-mismatch ---------------------------------------------

php_curl_openssl() {
    lib $ML/libcurl.so.4 libcurl.so.4 "$(vscript curl <<<'CURL_OPENSSL_4 { global: *; };')" <<'EOF'
void *curl_easy_init(void) { return (void *)4; }
EOF
    phpext curl "$R$ML/libcurl.so.4" <<'EOF'
void *curl_easy_init(void);
int soclash_run(void) { return curl_easy_init() != 0; }
EOF
}

pycurl_source() {
    cat <<'EOF'
void *curl_easy_init(void);
int soclash_run(void) { return curl_easy_init() != 0; }
EOF
}

scenario_sig-pycurl-ssl-backend-mismatch-pos() {
    DESCRIPTION="pycurl-ssl-backend-mismatch: the pycurl wheel's libcurl-330bcbb6.so.4.8.0 loses curl_easy_init to php-curl's libcurl.so.4"
    frame
    php_curl_openssl
    lib $DIST/pycurl.libs/libcurl-330bcbb6.so.4.8.0 libcurl-330bcbb6.so.4.8.0 <<'EOF'
void *curl_easy_init(void) { return (void *)1; }
EOF
    so "$DIST/pycurl.cpython-311-x86_64-linux-gnu.so" "$R$DIST/pycurl.libs/libcurl-330bcbb6.so.4.8.0" \
        "-Wl,-rpath,\$ORIGIN/pycurl.libs" -Wl,--disable-new-dtags < <(pycurl_source)
    httpd
    expect both $DIST/pycurl.cpython-311-x86_64-linux-gnu.so curl_easy_init $ML/libcurl.so.4
}

scenario_sig-pycurl-ssl-backend-mismatch-neg() {
    DESCRIPTION="pycurl-ssl-backend-mismatch near-miss: Debian's pycurl on libcurl-gnutls.so.4 (CURL_GNUTLS_3) next to libcurl.so.4 (CURL_OPENSSL_4)"
    frame
    php_curl_openssl
    lib $ML/libcurl-gnutls.so.4 libcurl-gnutls.so.4 "$(vscript curlg <<<'CURL_GNUTLS_3 { global: *; };')" <<'EOF'
void *curl_easy_init(void) { return (void *)3; }
EOF
    so "$DIST/pycurl.cpython-311-x86_64-linux-gnu.so" "$R$ML/libcurl-gnutls.so.4" < <(pycurl_source)
    httpd
    expect both $DIST/pycurl.cpython-311-x86_64-linux-gnu.so curl_easy_init $ML/libcurl-gnutls.so.4
}

# -- python-abi-mismatch -----------------------------------------------------

scenario_sig-python-abi-mismatch-pos() {
    DESCRIPTION="python-abi-mismatch: a UCS2 extension module under a UCS4 libpython"
    frame_python $LIBPYTHON <<'EOF'
int Py_IsInitialized(void) { return 1; }
int PyUnicodeUCS4_Replace(void) { return 4; }
EOF
    pymod _ucs2mod <<'EOF'
int PyUnicodeUCS2_Replace(void);
int soclash_run(void) { return PyUnicodeUCS2_Replace(); }
EOF
    httpd
}

scenario_sig-python-abi-mismatch-neg() {
    DESCRIPTION="python-abi-mismatch near-miss: the extension module is UCS4 like libpython"
    frame_python $LIBPYTHON <<'EOF'
int Py_IsInitialized(void) { return 1; }
int PyUnicodeUCS4_Replace(void) { return 4; }
EOF
    pymod _ucs4mod <<'EOF'
int PyUnicodeUCS4_Replace(void);
int soclash_run(void) { return PyUnicodeUCS4_Replace(); }
EOF
    httpd
    expect both $DYN/_ucs4mod.cpython-311-x86_64-linux-gnu.so PyUnicodeUCS4_Replace $LIBPYTHON
}

# -- anaconda-python-in-httpd ------------------------------------------------

CONDA=/opt/conda/lib

ssl_module() {
    lib $ML/libssl.so.3 libssl.so.3 <<'EOF'
int SSL_new(void *ctx) { (void)ctx; return 3; }
EOF
    module ssl mod_ssl.so "$R$ML/libssl.so.3" <<'EOF'
int SSL_new(void *ctx);
int soclash_run(void) { return SSL_new(0); }
EOF
}

scenario_sig-anaconda-python-in-httpd-pos() {
    DESCRIPTION="anaconda-python-in-httpd: mod_wsgi runs /opt/conda's libpython next to mod_ssl and mod_php"
    frame_python $CONDA/libpython3.11.so.1.0 <<'EOF'
int Py_IsInitialized(void) { return 1; }
EOF
    ssl_module
    httpd
}

scenario_sig-anaconda-python-in-httpd-neg() {
    DESCRIPTION="anaconda-python-in-httpd near-miss: mod_wsgi built against the system Python"
    frame_python $LIBPYTHON <<'EOF'
int Py_IsInitialized(void) { return 1; }
EOF
    ssl_module
    httpd
}

# -- extension-not-subinterpreter-safe ---------------------------------------

psycopg_module() {
    so "$DIST/psycopg2/_psycopg.cpython-311-x86_64-linux-gnu.so" <<'EOF'
int soclash_run(void) { return 0; }
EOF
}

scenario_sig-extension-not-subinterpreter-safe-pos() {
    DESCRIPTION="extension-not-subinterpreter-safe: psycopg2 in an application run in a sub-interpreter"
    frame
    psycopg_module
    conf 'WSGIScriptAlias / /srv/app/app.wsgi'
    httpd
}

scenario_sig-extension-not-subinterpreter-safe-neg() {
    DESCRIPTION="extension-not-subinterpreter-safe near-miss: WSGIApplicationGroup %{GLOBAL}"
    frame
    psycopg_module
    conf 'WSGIScriptAlias / /srv/app/app.wsgi'
    conf 'WSGIApplicationGroup %{GLOBAL}'
    httpd
}

# --- configuration and manifest --------------------------------------------

write_config() {
    mkdir -p "$R/etc/apache2" "$R/etc/php/8.2/apache2/conf.d" "$R/var/www/html"
    {
        echo "# (soclash bind sample root '$NAME': modules in the order httpd loads them)"
        echo 'ServerRoot "/etc/apache2"'
        echo 'Listen 80'
        printf '%s\n' "${CONF[@]}"
        echo 'DocumentRoot /var/www/html'
    } >"$R/etc/apache2/apache2.conf"
    cat >"$R/etc/php/8.2/apache2/php.ini" <<EOF
[PHP]
engine = On
extension_dir = "$PHPEXT"
EOF
}

write_manifest() {
    local line path
    local -a words
    for line in "${LINES[@]}"; do
        read -ra words <<<"$line"
        local -a paths
        case ${words[0]} in
        alone) paths=("${words[1]}" "${words[2]}" "${words[4]}") ;;
        unresolved) paths=("${words[2]}") ;;
        *) paths=("${words[1]}" "${words[3]}") ;;
        esac
        for path in "${paths[@]}"; do
            [[ $path == - ]] && continue
            [[ -f $R$path && ! -L $R$path ]] || die "$path is not a regular file in the root"
            [[ $(realpath -e -- "$R$path") == "$R$path" ]] || die "$path is not canonical"
        done
    done
    {
        echo "# soclash bind sample root '$NAME', generated by sample-libs/bind-roots.sh; do not edit."
        echo "# $DESCRIPTION"
        echo "# Check: tests/it/bind_oracle.rs (glibc's LD_DEBUG=bindings against soclash::image::bind)."
        echo "#   MODE REF SYMBOL DEF [protected]: the scenario is built so that glibc binds REF's"
        echo "#   reference to SYMBOL to DEF ('-': to nothing), with LD_BIND_NOW=1 (now), without"
        echo "#   (lazy) or both; 'protected': LD_DEBUG says protected symbol. Written by hand."
        echo "#   alone LOADER REF SYMBOL DEF: ld.so run on LOADER alone (ldd -r) binds REF's reference"
        echo "#   to SYMBOL to DEF: where it binds loaded on its own (the model's 'expected')."
        echo "#   unresolved SEVERITY PATH: soclash scan reports unresolved-dependency for PATH at"
        echo "#   SEVERITY; ldd PATH misses a name, and unless low, a dlopen of PATH after the plan fails."
        printf '%s\n' "${LINES[@]}"
    } >"$WORK/expected.txt"
}

# --- main ------------------------------------------------------------------

if ! declare -F "scenario_$NAME" >/dev/null; then
    echo "bind-roots.sh: unknown scenario '$NAME'" >&2
    exit 2
fi
rm -rf -- "$WORK"
mkdir -p -- "$R" "$B"
"scenario_$NAME"
settle
write_config
"$LDCONFIG" -r "$R"
rm -rf -- "$B"
write_manifest
rm -rf -- "$DEST"
mkdir -p -- "$OUT/bind"
mv -- "$WORK" "$DEST"
rmdir -- "$OUT/.tmp" 2>/dev/null || true
