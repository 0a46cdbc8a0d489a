//! Library plugins (issue 16): the modules a library `dlopen`s on demand
//! from a directory of its own, which no configuration names and no
//! `DT_NEEDED` reaches. A real Apache maps them as soon as a request makes
//! the library want one (an `iconv()` to a legacy charset, an image
//! format, a SASL bind), and they share the process with everything else,
//! so each is a "may be loaded" member of every process that holds its
//! library, with that library as `brought_by` and the way it is loaded in
//! `via`. Each family's mode is its loader's, from its source:
//!
//! | family | loader | mode |
//! | --- | --- | --- |
//! | glibc gconv modules | `iconv/gconv_dl.c`: `__libc_dlopen` | `RTLD_LAZY`, local |
//! | NSS modules | `nss/nss_module.c`: `__libc_dlopen` | `RTLD_LAZY`, local |
//! | Cyrus SASL mechanisms | `lib/dlopen.c` `_sasl_get_plugin` | `RTLD_NOW`, local |
//! | ImageMagick coders, filters | `MagickCore/module.c` through libltdl `lt_dlopen` (`loaders/dlopen.c`: `LT_LAZY_OR_NOW`, no advice) | `RTLD_LAZY`, local |
//! | GIO modules | `gio/giomodule.c`: `g_module_open(BIND_LAZY \| BIND_LOCAL)` | `RTLD_LAZY`, local |
//! | OpenSSL engines, providers | `crypto/dso/dso_dlfcn.c`: `DLOPEN_FLAG` | `RTLD_NOW`, local |
//! | Kerberos plugins | `util/support/plugins.c`: `PLUGIN_DLOPEN_FLAGS` | `RTLD_NOW\|RTLD_LOCAL\|RTLD_NODELETE` |
//! | GDAL drivers | `port/cplgetsymbol.cpp`: `dlopen(RTLD_LAZY)` | `RTLD_LAZY`, local |
//!
//! PROJ loads no code on demand (its grids and `proj.db` are data). The
//! files of one directory are bounded by `PLUGINS_PER_DIRECTORY`.

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use bstr::ByteSlice;

use super::{Origin, Origins};
use crate::budget;
use crate::model::Role;
use crate::resolve::{Namespace, rtld};
use crate::root::{Kind, Root};

/// Where a family's plugins are, from the directory of the library that
/// loads them.
#[derive(Clone, Copy)]
enum Place {
    /// `*.so` of these subdirectories.
    Dirs(&'static [&'static str]),
    /// glibc's gconv directory: the modules its `gconv-modules`
    /// configuration names.
    Gconv,
    /// `ImageMagick-*/modules-*/{coders,filters}/*.so`.
    ImageMagick,
    /// `krb5/plugins/*/*.so`.
    Kerberos,
    /// `gdalplugins/*.so` and `gdalplugins/*/*.so`.
    Gdal,
}

/// One family of plugins: the library that loads them (by soname), where
/// they are, and how it loads them.
struct Family {
    name: &'static str,
    loader: fn(&[u8]) -> bool,
    place: Place,
    flags: u32,
    how: &'static str,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "glibc gconv module",
        loader: |s| s == b"libc.so.6",
        place: Place::Gconv,
        flags: rtld::LAZY,
        how: "iconv_open() loads it with __libc_dlopen (RTLD_LAZY, local; iconv/gconv_dl.c)",
    },
    Family {
        name: "Cyrus SASL mechanism",
        loader: |s| s == b"libsasl2.so.2",
        place: Place::Dirs(&["sasl2"]),
        flags: rtld::NOW,
        how: "sasl_client_init()/sasl_server_init() load every plugin of the directory with dlopen(RTLD_NOW) (lib/dlopen.c)",
    },
    Family {
        name: "ImageMagick coder or filter",
        loader: |s| s.starts_with(b"libMagickCore-"),
        place: Place::ImageMagick,
        flags: rtld::LAZY,
        how: "reading or writing its format loads it through libltdl's lt_dlopen (RTLD_LAZY, local; MagickCore/module.c)",
    },
    Family {
        name: "GIO module",
        loader: |s| s == b"libgio-2.0.so.0",
        place: Place::Dirs(&["gio/modules"]),
        flags: rtld::LAZY,
        how: "g_io_modules_scan_all_in_directory() loads it with g_module_open(G_MODULE_BIND_LAZY|G_MODULE_BIND_LOCAL)",
    },
    Family {
        name: "OpenSSL 3 engine or provider",
        loader: |s| s == b"libcrypto.so.3",
        place: Place::Dirs(&["engines-3", "ossl-modules"]),
        flags: rtld::NOW,
        how: "ENGINE_by_id()/OSSL_PROVIDER_load() or openssl.cnf load it through DSO_load (dlopen(RTLD_NOW), local; crypto/dso/dso_dlfcn.c)",
    },
    Family {
        name: "OpenSSL 1.1 engine",
        loader: |s| s == b"libcrypto.so.1.1",
        place: Place::Dirs(&["engines-1.1"]),
        flags: rtld::NOW,
        how: "ENGINE_by_id() or openssl.cnf loads it through DSO_load (dlopen(RTLD_NOW), local; crypto/dso/dso_dlfcn.c)",
    },
    Family {
        name: "Kerberos plugin",
        loader: |s| s == b"libkrb5.so.3",
        place: Place::Kerberos,
        flags: rtld::NOW | rtld::NODELETE,
        how: "krb5 loads it with dlopen(RTLD_NOW|RTLD_LOCAL|RTLD_NODELETE) (util/support/plugins.c)",
    },
    Family {
        name: "GDAL driver",
        loader: |s| s.starts_with(b"libgdal.so."),
        place: Place::Gdal,
        flags: rtld::LAZY,
        how: "GDALAllRegister() loads it with dlopen(RTLD_LAZY), local (port/cplgetsymbol.cpp)",
    },
];

/// The plugin files of `family` for the library in `libdir`, in byte
/// order, at most `limit` per directory; `notes` says what was cut.
fn plugin_files(
    root: &Root,
    family: &Family,
    libdir: &Path,
    limit: usize,
    notes: &mut Vec<String>,
) -> Vec<PathBuf> {
    let subdirs = |dir: &Path, prefix: &[u8]| -> Vec<PathBuf> {
        root.entries(dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|(n, k)| n.as_bytes().starts_with(prefix) && *k == Kind::Directory)
            .map(|(n, _)| dir.join(n))
            .collect()
    };
    let dirs: Vec<PathBuf> = match family.place {
        Place::Dirs(ds) => ds.iter().map(|d| libdir.join(d)).collect(),
        Place::Gconv => {
            let dir = libdir.join("gconv");
            return capped(gconv_modules(root, &dir), limit, &dir, notes);
        }
        Place::ImageMagick => subdirs(libdir, b"ImageMagick-")
            .iter()
            .flat_map(|d| subdirs(d, b"modules-"))
            .flat_map(|d| [d.join("coders"), d.join("filters")])
            .collect(),
        Place::Kerberos => subdirs(&libdir.join("krb5/plugins"), b""),
        Place::Gdal => {
            let top = libdir.join("gdalplugins");
            let mut v = vec![top.clone()];
            v.extend(subdirs(&top, b""));
            v
        }
    };
    let mut out = Vec::new();
    for dir in dirs {
        let files: Vec<PathBuf> = root
            .entries(&dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|(n, k)| {
                n.as_bytes().ends_with(b".so") && matches!(k, Kind::Regular | Kind::Other(_))
            })
            .map(|(n, _)| dir.join(n))
            .collect();
        out.extend(capped(files, limit, &dir, notes));
    }
    out
}

fn capped(
    mut files: Vec<PathBuf>,
    limit: usize,
    dir: &Path,
    notes: &mut Vec<String>,
) -> Vec<PathBuf> {
    if files.len() > limit {
        notes.push(format!(
            "{}: {} plugins, {}; the first {limit} in byte order are modelled",
            dir.display(),
            files.len(),
            budget::exceeded("PLUGINS_PER_DIRECTORY", limit)
        ));
        files.truncate(limit);
    }
    files
}

/// The modules glibc's `gconv-modules` configuration in `dir` names
/// (`module FROM TO FILE COST`, FILE relative to `dir` without `.so`),
/// with the files of its `gconv-modules.d/*.conf` (glibc ≥ 2.35), sorted
/// and each once: what `iconv_open` can load, and nothing else of the
/// directory.
fn gconv_modules(root: &Root, dir: &Path) -> Vec<PathBuf> {
    let mut configs = vec![dir.join("gconv-modules")];
    let d = dir.join("gconv-modules.d");
    configs.extend(
        root.entries(&d)
            .unwrap_or_default()
            .into_iter()
            .filter(|(n, _)| n.as_bytes().ends_with(b".conf"))
            .map(|(n, _)| d.join(n)),
    );
    let mut out: Vec<PathBuf> = configs
        .iter()
        .filter_map(|c| root.read(c, budget::named!(SMALL_FILE)).ok())
        .flat_map(|text| gconv_files(&text))
        .map(|f| {
            let file = format!("{f}.so");
            if file.starts_with('/') {
                PathBuf::from(file)
            } else {
                dir.join(file)
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The FILE field of every `module` line of a gconv-modules text.
fn gconv_files(text: &[u8]) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.split(|&b| b == b'#').next().unwrap_or_default();
            let mut words = line.fields();
            if words.next()? != b"module" {
                return None;
            }
            let file = words.nth(2)?;
            let ok = !file.is_empty() && !file.split_str("/").any(|c| c == b"..");
            ok.then(|| file.to_str_lossy().into_owned())
        })
        .collect()
}

/// Every NSS service of the root's `nsswitch.conf` beyond the ones libc
/// builds in (`files`, `dns`) and those already loaded (`skip`), by
/// database: what any lookup (`getaddrinfo`, `getpwnam`) may load.
fn nss_services(root: &Root, skip: &[String]) -> Vec<(String, String)> {
    let Ok(text) = root.read(Path::new("/etc/nsswitch.conf"), budget::named!(SMALL_FILE)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.split(|&b| b == b'#').next().unwrap_or_default();
        let Some((db, rest)) = line.split_once_str(":") else {
            continue;
        };
        let mut in_action = false;
        for word in rest.fields() {
            if word.starts_with(b"[") {
                in_action = true;
            }
            let service = word.to_str_lossy().into_owned();
            let name_ok = word
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-');
            if !in_action
                && name_ok
                && service != "files"
                && service != "dns"
                && !skip.contains(&service)
                && !out.iter().any(|(_, s)| *s == service)
            {
                out.push((db.trim().to_str_lossy().into_owned(), service));
            }
            if word.ends_with(b"]") {
                in_action = false;
            }
        }
    }
    out
}

/// Adds to `ns` the plugins every member library of a family may load,
/// each a local "may be loaded" `dlopen` with its family's mode, brought
/// by that library; and the NSS modules of every database but the group
/// database's (`nss_loaded`), brought by libc.
/// The plugin files of each (family, library directory), listed once for
/// every process a model forks: forty mod_wsgi daemon groups share libc's
/// gconv directory.
#[derive(Default)]
pub(super) struct Listings(Mutex<FxHashMap<(&'static str, PathBuf), Listed>>);

/// A directory's plugin files and the notes listing them gave.
type Listed = Arc<(Vec<PathBuf>, Vec<String>)>;

impl Listings {
    fn files(
        &self,
        root: &Root,
        family: &'static Family,
        libdir: &Path,
        notes: &mut Vec<String>,
    ) -> Listed {
        let key = (family.name, libdir.to_path_buf());
        let cached = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key)
            .cloned();
        let listed = cached.unwrap_or_else(|| {
            let mut said = Vec::new();
            let files = plugin_files(
                root,
                family,
                libdir,
                budget::PLUGINS_PER_DIRECTORY,
                &mut said,
            );
            let listed = Arc::new((files, said));
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key, Arc::clone(&listed));
            listed
        });
        notes.extend(listed.1.iter().cloned());
        listed
    }
}

pub(super) fn load(
    root: &Root,
    listings: &Listings,
    ns: &mut Namespace<'_, '_>,
    origins: &mut Origins,
    notes: &mut Vec<String>,
    nss_loaded: &[String],
) {
    // The loaders among the members now, by namespace index.
    let loaders: Vec<(usize, &'static Family, PathBuf)> = ns
        .objects()
        .iter()
        .enumerate()
        .filter_map(|(j, o)| {
            let opened = o.opened.as_ref()?;
            let soname = o.facts()?.soname.clone()?;
            Some(
                FAMILIES
                    .iter()
                    .filter(move |f| (f.loader)(soname.as_slice()))
                    .map(move |f| (j, f, opened.canonical.clone())),
            )
        })
        .flatten()
        .collect();
    let mut added: std::collections::BTreeMap<&str, usize> = Default::default();
    // The namespace's objects by canonical path and by the path loaded,
    // kept up to date as plugins (and what they need) join it.
    let mut known: rustc_hash::FxHashSet<PathBuf> = Default::default();
    let mut seen = 0;
    for (j, family, lib) in &loaders {
        let Some(libdir) = lib.parent() else { continue };
        let listed = listings.files(root, family, libdir, notes);
        for file in &listed.0 {
            for o in ns.objects().get(seen..).unwrap_or_default() {
                known.extend(o.opened.as_ref().map(|x| x.canonical.clone()));
                known.extend(o.path.clone());
            }
            seen = ns.objects().len();
            if known.contains(file) {
                continue;
            }
            let origin = Origin {
                via: format!("{} {} may load: {}", lib.display(), family.name, family.how),
                role: Role::Library,
                may_be_imported: true,
                installed_only: false,
                uncertain: false,
                brought_by: Some(lib.display().to_string()),
            };
            if origins
                .dlopen(ns, file, family.flags, Some(*j), origin)
                .is_ok()
            {
                *added.entry(family.name).or_default() += 1;
            }
        }
    }
    let libc = loaders
        .iter()
        .find(|(_, f, _)| matches!(f.place, Place::Gconv))
        .map(|(j, _, lib)| (*j, lib.clone()));
    if let Some((j, lib)) = libc {
        for (db, service) in nss_services(root, nss_loaded) {
            let name = format!("libnss_{service}.so.2");
            let origin = Origin {
                via: format!(
                    "NSS module {service} (nsswitch.conf {db}), which a lookup in that database may make libc load with __libc_dlopen (RTLD_LAZY, local; nss/nss_module.c)"
                ),
                role: Role::Library,
                may_be_imported: true,
                installed_only: false,
                uncertain: false,
                brought_by: Some(lib.display().to_string()),
            };
            match origins.dlopen(ns, Path::new(&name), rtld::LAZY, Some(j), origin) {
                Ok(_) => *added.entry("NSS module").or_default() += 1,
                Err(why) => notes.push(format!("NSS service {service}: {why}")),
            }
        }
    }
    if !added.is_empty() {
        notes.push(format!(
            "library plugins that may be loaded on demand, each dlopened locally after everything else: {}",
            added
                .iter()
                .map(|(f, n)| format!("{f}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// gconv-modules as glibc 2.36 ships it: aliases, comments, costs;
    /// `..` refused.
    #[test]
    fn gconv_module_lines() {
        let text = b"# GNU libc iconv configuration.\n\
            alias\tISO-IR-100//\tISO-8859-1//\n\
            module\tISO-8859-1//\tINTERNAL\tISO8859-1\t1\n\
            module\tINTERNAL\tISO-8859-1//\tISO8859-1\t1\n\
            module  EUC-JP//  INTERNAL  EUC-JP  1 # comment\n\
            module\tX//\tINTERNAL\t../../evil\t1\n\
            module\tY//\tINTERNAL\n";
        assert_eq!(gconv_files(text), ["ISO8859-1", "ISO8859-1", "EUC-JP"]);
    }

    #[test]
    fn every_family_has_a_loader_and_a_mode() {
        assert!(
            FAMILIES
                .iter()
                .any(|f| (f.loader)(b"libMagickCore-6.Q16.so.6"))
        );
        assert!(
            FAMILIES
                .iter()
                .any(|f| (f.loader)(b"libMagickCore-7.Q16HDRI.so.10"))
        );
        assert!(!FAMILIES.iter().any(|f| (f.loader)(b"libssl.so.3")));
        for f in FAMILIES {
            assert!(f.flags & (rtld::LAZY | rtld::NOW) != 0, "{}", f.name);
            assert_eq!(f.flags & rtld::GLOBAL, 0, "{} is local", f.name);
        }
    }
}
