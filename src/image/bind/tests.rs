//! The binding rules of research/loader-model.md §3 (G2.3 scopes, G8
//! lazy binding) and §4 (B1–B16) on hand-made link maps. The fixture
//! (`def`, `O`, `P`, `one`) is shared with the tests of `crate::rules`.

use super::*;
use crate::elf::{Relocation, SymbolVersion, VersionDefinition, VersionNeeded, VersionRequirement};
use crate::image::{How, Member, ProcessImage, Scopes};
use RelocClass::{Copy, Data, Plt};
use Scope::{Global, List};

pub(crate) const STT_OBJECT: u8 = 1;
pub(crate) const STT_FUNC: u8 = 2;
pub(crate) const STT_SECTION: u8 = 3;
pub(crate) const STT_FILE: u8 = 4;
pub(crate) const STT_GNU_IFUNC: u8 = 10;
pub(crate) const VER_FLG_WEAK: u16 = 0x2;

/// A defined `STB_GLOBAL` default-visibility function.
pub(crate) fn def(name: &str) -> Symbol {
    Symbol {
        name: name.into(),
        bind: STB_GLOBAL,
        kind: STT_FUNC,
        visibility: 0,
        shndx: 12,
        value: 0x1000,
        size: 16,
        version: None,
    }
}

/// An undefined reference.
pub(crate) fn undef(name: &str) -> Symbol {
    Symbol {
        shndx: 0,
        value: 0,
        size: 0,
        ..def(name)
    }
}

pub(crate) fn weak(s: Symbol) -> Symbol {
    Symbol {
        bind: STB_WEAK,
        ..s
    }
}

pub(crate) fn unique(s: Symbol) -> Symbol {
    Symbol {
        bind: STB_GNU_UNIQUE,
        ..s
    }
}

pub(crate) fn local(s: Symbol) -> Symbol {
    Symbol {
        bind: STB_LOCAL,
        ..s
    }
}

pub(crate) fn data(s: Symbol) -> Symbol {
    Symbol {
        kind: STT_OBJECT,
        ..s
    }
}

pub(crate) fn kind(s: Symbol, kind: u8) -> Symbol {
    Symbol { kind, ..s }
}

pub(crate) fn visibility(s: Symbol, visibility: u8) -> Symbol {
    Symbol { visibility, ..s }
}

/// `name@VER` (`hidden`) or `name@@VER` with `DT_VERSYM` index `index`.
pub(crate) fn ver(s: Symbol, index: u16, hidden: bool, name: &str) -> Symbol {
    Symbol {
        version: Some(SymbolVersion {
            index,
            hidden,
            name: (index >= 2).then(|| name.into()),
            file: None,
        }),
        ..s
    }
}

/// A reference to `name@VER` required (`Verneed`) from `file`.
pub(crate) fn needs(s: Symbol, index: u16, name: &str, file: &str) -> Symbol {
    Symbol {
        version: Some(SymbolVersion {
            index,
            hidden: false,
            name: Some(name.into()),
            file: Some(file.into()),
        }),
        ..s
    }
}

/// An object's facts: `.dynsym` (entry 0 is the null symbol), versions,
/// relocations.
pub(crate) struct O {
    f: ElfFacts,
    versym: bool,
}

impl O {
    pub(crate) fn new() -> O {
        O {
            f: ElfFacts {
                symbols: vec![Symbol {
                    bind: STB_LOCAL,
                    kind: 0,
                    ..undef("")
                }],
                ..ElfFacts::default()
            },
            versym: false,
        }
    }

    pub(crate) fn soname(mut self, s: &str) -> O {
        self.f.soname = Some(s.into());
        self
    }

    pub(crate) fn build_id(mut self, id: &[u8]) -> O {
        self.f.build_id = Some(id.to_vec());
        self
    }

    /// The object has `DT_VERSYM` (symbols without an explicit version
    /// get index 1, the null symbol index 0).
    pub(crate) fn versym(mut self) -> O {
        self.versym = true;
        self
    }

    /// A symbol nothing in this object relocates against.
    pub(crate) fn sym(mut self, s: Symbol) -> O {
        self.f.symbols.push(s);
        self
    }

    /// A symbol and a relocation against it.
    pub(crate) fn reloc(mut self, s: Symbol, class: RelocClass) -> O {
        self.f.symbols.push(s);
        let symbol = u32::try_from(self.f.symbols.len() - 1).unwrap();
        self.f.relocations.push(Relocation {
            r_type: 0,
            symbol,
            class,
        });
        self
    }

    /// One more relocation against the first symbol called `name`.
    pub(crate) fn reloc_again(mut self, name: &str, class: RelocClass) -> O {
        let i = self
            .f
            .symbols
            .iter()
            .position(|s| s.name.as_slice() == name.as_bytes())
            .expect("symbol added before");
        self.f.relocations.push(Relocation {
            r_type: 0,
            symbol: u32::try_from(i).unwrap(),
            class,
        });
        self
    }

    pub(crate) fn verdef(mut self, index: u16, name: &str) -> O {
        self.f.version_definitions.push(VersionDefinition {
            index,
            flags: u16::from(index == 1),
            hash: 0,
            name: name.into(),
            parents: Vec::new(),
        });
        self
    }

    pub(crate) fn verneed(mut self, file: &str, name: &str, index: u16, flags: u16) -> O {
        let v = VersionNeeded {
            name: name.into(),
            hash: 0,
            flags,
            index,
        };
        match self
            .f
            .version_requirements
            .iter_mut()
            .find(|r| r.file.as_slice() == file.as_bytes())
        {
            Some(r) => r.versions.push(v),
            None => self.f.version_requirements.push(VersionRequirement {
                file: file.into(),
                versions: vec![v],
            }),
        }
        self
    }

    pub(crate) fn facts(mut self) -> Arc<ElfFacts> {
        if self.versym || self.f.symbols.iter().any(|s| s.version.is_some()) {
            for (i, s) in self.f.symbols.iter_mut().enumerate() {
                s.version.get_or_insert(SymbolVersion {
                    index: u16::from(i != 0),
                    hidden: false,
                    name: None,
                    file: None,
                });
            }
        }
        Arc::new(self.f)
    }
}

/// A process: objects, members with their scopes, the global scope.
pub(crate) struct P {
    pub(crate) link: LinkMap,
    vias: Vec<String>,
}

impl P {
    pub(crate) fn new() -> P {
        P {
            link: LinkMap::default(),
            vias: Vec::new(),
        }
    }

    /// An object (a member only once [`P::member`] makes it one).
    pub(crate) fn obj(&mut self, path: &str, o: O) -> usize {
        self.link.objects.push(Obj {
            path: path.into(),
            facts: Some(o.facts()),
        });
        self.link.objects.len() - 1
    }

    /// Makes object `o` the next member with these scopes, relocated
    /// after the members before it, loaded on its own as `[o]`.
    pub(crate) fn member(&mut self, o: usize, scopes: Vec<Scope>) -> usize {
        self.link.members.push(MemberLink {
            object: o,
            scopes,
            later: Vec::new(),
            lazy: false,
            exec: false,
            solo: vec![o],
            closure: None,
            may_be_imported: false,
            installed_only: false,
        });
        self.vias.push("test".into());
        let m = self.link.members.len() - 1;
        self.link.relocation_order.push(m);
        m
    }

    pub(crate) fn m(&mut self, m: usize) -> &mut MemberLink {
        &mut self.link.members[m]
    }

    pub(crate) fn via(&mut self, m: usize, via: &str) {
        self.vias[m] = via.into();
    }

    pub(crate) fn image(&self) -> ProcessImage {
        let path = |o: usize| self.link.objects[o].path.clone();
        ProcessImage {
            name: "test".into(),
            members: self
                .link
                .members
                .iter()
                .zip(&self.vias)
                .map(|(m, via)| Member {
                    object: path(m.object),
                    how: if m.exec {
                        How::Exec
                    } else if m.scopes.len() > 1 {
                        How::Dlopen
                    } else {
                        How::Needed
                    },
                    flags: String::new(),
                    via: via.clone(),
                    global: self.link.global.contains(&m.object),
                    may_be_imported: m.may_be_imported,
                    uncertain: false,
                    installed_only: m.installed_only,
                    brought_by: None,
                    role: crate::model::Role::Library,
                })
                .collect(),
            scopes: Scopes {
                global: self.link.global.iter().map(|&o| path(o)).collect(),
            },
            errors: Vec::new(),
            notes: Vec::new(),
            link: self.link.clone(),
            config: Default::default(),
            unresolved: Vec::new(),
            refused: Vec::new(),
        }
    }

    pub(crate) fn bind(&self, opts: BindOptions) -> Bindings {
        bind(&self.image(), &opts)
    }
}

/// The references of `object` to `symbol` with class `class`.
pub(crate) fn refs<'a>(
    b: &'a Bindings,
    object: &str,
    symbol: &str,
    class: Option<RelocClass>,
) -> Vec<&'a Reference> {
    b.references
        .iter()
        .filter(|r| {
            *r.object == *object && *r.symbol == *symbol && class.is_none_or(|c| c == r.class)
        })
        .collect()
}

/// The only reference of `object` to `symbol`.
pub(crate) fn one<'a>(b: &'a Bindings, object: &str, symbol: &str) -> &'a Reference {
    let r = refs(b, object, symbol, None);
    assert_eq!(r.len(), 1, "references of {object} to {symbol}: {r:#?}");
    r[0]
}

/// The only reference of `object` to `symbol` with class `class`.
pub(crate) fn one_of<'a>(
    b: &'a Bindings,
    object: &str,
    symbol: &str,
    class: RelocClass,
) -> &'a Reference {
    let r = refs(b, object, symbol, Some(class));
    assert_eq!(
        r.len(),
        1,
        "{class:?} references of {object} to {symbol}: {r:#?}"
    );
    r[0]
}

fn to(r: &Reference) -> Option<&str> {
    r.binds_to.as_deref()
}

const DEFAULT: BindOptions = BindOptions {
    bind_now: false,
    dynamic_weak: false,
};

/// B1: "Every dynamic relocation with a non-zero symbol index in object
/// X, whether or not X itself defines that symbol. A default-visibility
/// function or variable that X defines and uses through its PLT/GOT is
/// interposable … Relocation symbols that are `STB_LOCAL`, or have
/// `STV_HIDDEN`/`STV_INTERNAL` visibility, bind to X without lookup."
#[test]
fn b1_self_reference_interposed_local_and_hidden_direct() {
    let mut p = P::new();
    let g = p.obj(
        "/lib/libg.so",
        O::new()
            .sym(def("foo"))
            .sym(def("loc"))
            .sym(def("hid"))
            .sym(def("int")),
    );
    let m = p.obj(
        "/mod/m.so",
        O::new()
            .reloc(def("foo"), Plt)
            .reloc_again("foo", Data)
            .reloc(local(def("loc")), Data)
            .reloc(visibility(def("hid"), STV_HIDDEN), Plt)
            .reloc(visibility(def("int"), STV_INTERNAL), Data),
    );
    p.link.global = vec![g];
    p.member(g, vec![Global(1)]);
    p.member(m, vec![Global(1), List(vec![m])]);
    let b = p.bind(DEFAULT);
    for class in [Plt, Data] {
        let r = one_of(&b, "/mod/m.so", "foo", class);
        assert_eq!(to(r), Some("/lib/libg.so"), "{class:?}");
        assert_eq!(r.expected.as_deref(), Some("/mod/m.so"));
        assert!(r.interposed && !r.direct);
    }
    for name in ["loc", "hid", "int"] {
        let r = one(&b, "/mod/m.so", name);
        assert!(r.direct, "{name}");
        assert_eq!(to(r), Some("/mod/m.so"), "{name}");
        assert!(!r.interposed, "{name}");
    }
}

/// B3: "Reference from a startup object …: scope = global scope only;
/// definitions in `RTLD_LOCAL` modules are never visible to them."
/// B4 / G2.3: a dlopen'd member's scopes are `[global scope, own
/// group]`, the global scope as it was when the member was relocated
/// (`Scope::Global(n)`): "An earlier global definition beats the
/// module's own definition."
#[test]
fn b3_b4_startup_sees_global_dlopened_sees_global_then_group() {
    let mut p = P::new();
    let e = p.obj("/usr/sbin/httpd", O::new().reloc(undef("only_local"), Data));
    let s = p.obj("/lib/libs.so", O::new().sym(def("foo")));
    // RTLD_GLOBAL module loaded before g: global position 3.
    let m = p.obj("/mod/m.so", O::new().reloc(def("late"), Data));
    // RTLD_GLOBAL module: global position 4.
    let g = p.obj("/mod/g.so", O::new().sym(def("late")));
    // RTLD_LOCAL module l with its dependency d, after everything.
    let l = p.obj(
        "/mod/l.so",
        O::new()
            .reloc(def("foo"), Data)
            .reloc(undef("dep_only"), Data)
            .reloc(undef("late"), Plt),
    );
    let d = p.obj(
        "/lib/libd.so",
        O::new()
            .sym(def("foo"))
            .sym(def("dep_only"))
            .sym(def("late"))
            .sym(def("only_local")),
    );
    let e2 = p.obj("/lib/libe2.so", O::new().reloc(undef("late"), Data));
    p.link.global = vec![e, s, e2, m, g];
    let me = p.member(e, vec![Global(3)]);
    p.m(me).exec = true;
    p.member(s, vec![Global(3)]);
    p.member(e2, vec![Global(3)]);
    p.member(m, vec![Global(3), List(vec![m])]);
    p.member(g, vec![Global(4), List(vec![g])]);
    let ml = p.member(l, vec![Global(5), List(vec![l, d])]);
    p.m(ml).solo = vec![l, d];
    p.member(d, vec![Global(5), List(vec![l, d])]);
    let b = p.bind(DEFAULT);

    // B3: the local module's definition is invisible to startup objects.
    assert_eq!(to(one(&b, "/usr/sbin/httpd", "only_local")), None);
    // B3: a startup object's scope is the startup global scope.
    assert_eq!(to(one(&b, "/lib/libe2.so", "late")), None);
    // B4: m was relocated before g joined the global scope.
    assert_eq!(to(one(&b, "/mod/m.so", "late")), Some("/mod/m.so"));
    // B4: global first (s before l's own group), then the group.
    let r = one(&b, "/mod/l.so", "foo");
    assert_eq!(to(r), Some("/lib/libs.so"));
    assert_eq!(r.expected.as_deref(), Some("/mod/l.so"));
    assert!(r.interposed);
    assert_eq!(to(one(&b, "/mod/l.so", "dep_only")), Some("/lib/libd.so"));
    let r = one(&b, "/mod/l.so", "late");
    assert_eq!(to(r), Some("/mod/m.so"));
    assert_eq!(r.expected.as_deref(), Some("/lib/libd.so"));
    assert!(r.interposed);
}

/// B5: "Reference from an object of an `RTLD_DEEPBIND` group: own group
/// first (root, then its BFS list …), then the global scope."
#[test]
fn b5_deepbind_own_group_first() {
    let mut p = P::new();
    let s = p.obj(
        "/lib/libs.so",
        O::new().sym(def("foo")).sym(def("global_only")),
    );
    let x = p.obj(
        "/php/x.so",
        O::new()
            .reloc(undef("foo"), Plt)
            .reloc(undef("global_only"), Plt),
    );
    let d = p.obj("/lib/libxd.so", O::new().sym(def("foo")));
    p.link.global = vec![s];
    p.member(s, vec![Global(1)]);
    let mx = p.member(x, vec![List(vec![x, d]), Global(1)]);
    p.m(mx).solo = vec![x, d];
    p.member(d, vec![List(vec![x, d]), Global(1)]);
    let b = p.bind(DEFAULT);
    let r = one(&b, "/php/x.so", "foo");
    assert_eq!(to(r), Some("/lib/libxd.so"));
    assert!(!r.interposed);
    assert_eq!(
        to(one(&b, "/php/x.so", "global_only")),
        Some("/lib/libs.so")
    );
}

/// B6: "`DT_SYMBOLIC` object (not DEEPBIND): itself first, then as
/// B4/B5." G2.3: link_map adds the extra first scope `[self]`.
#[test]
fn b6_symbolic_itself_first() {
    let mut p = P::new();
    let s = p.obj("/lib/libs.so", O::new().sym(def("foo")).sym(def("bar")));
    let x = p.obj(
        "/mod/x.so",
        O::new().reloc(def("foo"), Plt).reloc(undef("bar"), Plt),
    );
    let d = p.obj("/lib/libxd.so", O::new().sym(def("bar")));
    p.link.global = vec![s];
    p.member(s, vec![Global(1)]);
    p.member(x, vec![List(vec![x]), Global(1), List(vec![x, d])]);
    p.member(d, vec![Global(1), List(vec![x, d])]);
    let b = p.bind(DEFAULT);
    let r = one(&b, "/mod/x.so", "foo");
    assert_eq!(to(r), Some("/mod/x.so"));
    assert!(!r.interposed);
    // Not defined in x: on as B4 (global first).
    assert_eq!(to(one(&b, "/mod/x.so", "bar")), Some("/lib/libs.so"));
}

/// B7 (`check_match`): "skip entries with `st_value == 0` unless
/// `SHN_ABS` or `STT_TLS`; skip `SHN_UNDEF` entries for PLT-class
/// lookups (for other classes an undefined symbol with a non-zero value
/// … *is* accepted); only types NOTYPE, OBJECT, FUNC, COMMON, TLS,
/// GNU_IFUNC; … then hidden/internal definitions are skipped …;
/// `STB_LOCAL` ignored." Each skip goes on with the next object.
#[test]
fn b7_symbol_acceptance() {
    let names = [
        "zero", "abs0", "tls0", "canon", "sect", "file", "hid", "loc", "ifunc",
    ];
    let mut p = P::new();
    let a = p.obj(
        "/usr/bin/nonpie",
        O::new()
            .sym(Symbol {
                value: 0,
                ..def("zero")
            })
            .sym(Symbol {
                value: 0,
                shndx: SHN_ABS,
                kind: 0,
                ..def("abs0")
            })
            .sym(Symbol {
                value: 0,
                kind: STT_TLS,
                ..def("tls0")
            })
            // A canonical PLT address in a non-PIE executable.
            .sym(Symbol {
                value: 0x401030,
                ..undef("canon")
            })
            .sym(kind(def("sect"), STT_SECTION))
            .sym(kind(def("file"), STT_FILE))
            .sym(visibility(def("hid"), STV_HIDDEN))
            .sym(local(def("loc")))
            .sym(kind(def("ifunc"), STT_GNU_IFUNC)),
    );
    let mut bo = O::new();
    for n in names {
        bo = bo.sym(def(n));
    }
    let bb = p.obj("/lib/libb.so", bo);
    let mut ro = O::new();
    for n in names {
        ro = ro.reloc(undef(n), Plt);
    }
    ro = ro.reloc_again("canon", Data);
    let r = p.obj("/lib/libr.so", ro);
    p.link.global = vec![a, bb, r];
    for o in [a, bb, r] {
        p.member(o, vec![Global(3)]);
    }
    let b = p.bind(DEFAULT);
    let want = [
        ("zero", Plt, "/lib/libb.so"),
        ("abs0", Plt, "/usr/bin/nonpie"),
        ("tls0", Plt, "/usr/bin/nonpie"),
        ("canon", Plt, "/lib/libb.so"),
        ("canon", Data, "/usr/bin/nonpie"),
        ("sect", Plt, "/lib/libb.so"),
        ("file", Plt, "/lib/libb.so"),
        ("hid", Plt, "/lib/libb.so"),
        ("loc", Plt, "/lib/libb.so"),
        ("ifunc", Plt, "/usr/bin/nonpie"),
    ];
    for (name, class, obj) in want {
        assert_eq!(
            to(one_of(&b, "/lib/libr.so", name, class)),
            Some(obj),
            "{name} {class:?}"
        );
    }
}

/// B8: "Unversioned reference against an object with `DT_VERSYM`: … a
/// definition with version index 0, 1 or 2 is accepted immediately —
/// index 2 … even if it is hidden; a definition with index ≥ 3 that is
/// not hidden is accepted only if it is the only such candidate in that
/// object; hidden definitions with index ≥ 3 never match." A reference
/// whose own versym index is 0 or 1 is unversioned.
#[test]
fn b8_unversioned_reference_against_versioned_definer() {
    let mut p = P::new();
    let d = p.obj(
        "/lib/libd.so",
        O::new()
            .verdef(1, "libd.so")
            .verdef(2, "V1")
            .verdef(3, "V2")
            .verdef(4, "V3")
            // a@@V2 then a@V1: index 2 wins although hidden.
            .sym(ver(def("a"), 3, false, "V2"))
            .sym(ver(def("a"), 2, true, "V1"))
            .sym(ver(def("b"), 3, false, "V2"))
            .sym(ver(def("c"), 3, false, "V2"))
            .sym(ver(def("c"), 4, false, "V3"))
            .sym(ver(def("d"), 3, true, "V2"))
            .sym(ver(def("e"), 4, true, "V3")),
    );
    let z = p.obj(
        "/lib/libz.so",
        O::new().sym(def("a")).sym(def("c")).sym(def("d")),
    );
    // The referrer has DT_VERSYM: its references carry index 1.
    let mut ro = O::new().versym();
    for n in ["a", "b", "c", "d", "e"] {
        ro = ro.reloc(undef(n), Plt);
    }
    let r = p.obj("/lib/libr.so", ro);
    p.link.global = vec![d, z, r];
    for o in [d, z, r] {
        p.member(o, vec![Global(3)]);
    }
    let b = p.bind(DEFAULT);
    let got = |n: &str| {
        let x = one(&b, "/lib/libr.so", n);
        assert_eq!(x.version, None, "{n} is an unversioned lookup");
        (x.binds_to.clone(), x.binds_to_version.clone())
    };
    let s = |x: &str| Some(std::sync::Arc::<str>::from(x));
    assert_eq!(got("a"), (s("/lib/libd.so"), s("V1")));
    assert_eq!(got("b"), (s("/lib/libd.so"), s("V2")));
    assert_eq!(got("c"), (s("/lib/libz.so"), None));
    assert_eq!(got("d"), (s("/lib/libz.so"), None));
    assert_eq!(got("e"), (None, None));
}

/// B9: "Versioned reference (`name@VER`): within each object in scope
/// order — object without `DT_VERSYM`: accepted …; definition with
/// exactly `VER`: accepted; otherwise a non-hidden definition whose
/// version is the base/unversioned one … is a fallback …; all else skip
/// and continue with the next object." B8: a self-reference to its own
/// `foo@@V` is looked up as version `V` ("skipped an earlier global
/// `foo@@OTHER` but was taken over by an earlier *unversioned* `foo`").
#[test]
fn b9_versioned_reference() {
    let mut p = P::new();
    let u = p.obj("/lib/libu.so", O::new().sym(def("x")).sym(def("t")));
    let o = p.obj(
        "/lib/libo.so",
        O::new()
            .verdef(1, "libo.so")
            .verdef(2, "OTHER")
            .sym(ver(def("y"), 2, false, "OTHER"))
            .sym(ver(def("z"), 2, false, "OTHER"))
            .sym(ver(def("w"), 2, false, "OTHER"))
            .sym(ver(def("s"), 2, false, "OTHER")),
    );
    // DT_VERSYM, no version definitions: its exports have index 1.
    let b1 = p.obj("/lib/libb1.so", O::new().versym().sym(def("w")));
    let d = p.obj(
        "/lib/libd.so.1",
        O::new()
            .soname("libd.so.1")
            .verdef(1, "libd.so.1")
            .verdef(2, "D_2")
            .verdef(3, "D_3")
            .sym(ver(def("y"), 2, false, "D_2"))
            .sym(ver(def("z"), 2, true, "D_2"))
            .sym(ver(def("v"), 3, false, "D_3")),
    );
    let mut ro = O::new()
        .verdef(1, "libr.so")
        .verdef(2, "R_1")
        .verneed("libd.so.1", "D_2", 3, 0)
        .reloc(ver(def("s"), 2, false, "R_1"), Plt)
        .reloc(ver(def("t"), 2, false, "R_1"), Plt);
    for n in ["x", "y", "z", "w", "v"] {
        ro = ro.reloc(needs(undef(n), 3, "D_2", "libd.so.1"), Plt);
    }
    let r = p.obj("/lib/libr.so", ro);
    p.link.global = vec![u, o, b1, d, r];
    for x in [u, o, b1, d, r] {
        p.member(x, vec![Global(5)]);
    }
    let b = p.bind(DEFAULT);
    let got = |n: &str, v: &str| {
        let x = one(&b, "/lib/libr.so", n);
        assert_eq!(x.version.as_deref(), Some(v), "{n}");
        (x.binds_to.clone(), x.binds_to_version.clone())
    };
    let s = |x: &str| Some(std::sync::Arc::<str>::from(x));
    // Without DT_VERSYM: accepted.
    assert_eq!(got("x", "D_2"), (s("/lib/libu.so"), None));
    // y@@OTHER skipped, exact version taken.
    assert_eq!(got("y", "D_2"), (s("/lib/libd.so.1"), s("D_2")));
    // Exact version, even hidden (`@D_2`).
    assert_eq!(got("z", "D_2"), (s("/lib/libd.so.1"), s("D_2")));
    // Base/unversioned (index 1) non-hidden: the fallback.
    assert_eq!(got("w", "D_2"), (s("/lib/libb1.so"), None));
    // Another version only: skipped, nothing else defines it.
    assert_eq!(got("v", "D_2"), (None, None));
    // Self-references looked up as R_1.
    assert_eq!(got("s", "R_1"), (s("/lib/libr.so"), s("R_1")));
    let t = one(&b, "/lib/libr.so", "t");
    assert_eq!(to(t), Some("/lib/libu.so"));
    assert_eq!(t.expected.as_deref(), Some("/lib/libr.so"));
    assert!(t.interposed);
}

/// B12: "`STB_WEAK` definitions are treated exactly like `STB_GLOBAL`
/// (first found wins) unless `LD_DYNAMIC_WEAK` is set …, in which case
/// a weak definition is remembered and the search continues for a
/// global one."
#[test]
fn b12_weak_definitions() {
    let mut p = P::new();
    let a = p.obj(
        "/lib/liba.so",
        O::new().sym(weak(def("foo"))).sym(weak(def("bar"))),
    );
    let g = p.obj("/lib/libg.so", O::new().sym(def("foo")));
    let r = p.obj(
        "/lib/libr.so",
        O::new().reloc(undef("foo"), Plt).reloc(undef("bar"), Data),
    );
    p.link.global = vec![a, g, r];
    for o in [a, g, r] {
        p.member(o, vec![Global(3)]);
    }
    let b = p.bind(DEFAULT);
    assert_eq!(to(one(&b, "/lib/libr.so", "foo")), Some("/lib/liba.so"));
    assert_eq!(to(one(&b, "/lib/libr.so", "bar")), Some("/lib/liba.so"));
    let dynamic = BindOptions {
        dynamic_weak: true,
        ..DEFAULT
    };
    let b = p.bind(dynamic);
    assert_eq!(to(one(&b, "/lib/libr.so", "foo")), Some("/lib/libg.so"));
    assert_eq!(to(one(&b, "/lib/libr.so", "bar")), Some("/lib/liba.so"));
    // LD_DYNAMIC_WEAK in the service environment does the same.
    p.link.env_dynamic_weak = true;
    let b = p.bind(DEFAULT);
    assert_eq!(to(one(&b, "/lib/libr.so", "foo")), Some("/lib/libg.so"));
}

/// B13 in `_dl_lookup_symbol_x`: a non-PLT reference from a protected
/// symbol is forced to its own object only if a PLT-style lookup (which
/// skips undefined entries) lands elsewhere; when a non-PIE executable's
/// canonical PLT entry answered the first lookup and the repeat finds
/// the object itself, the executable's entry stands (glibc warns that
/// pointer equality may break). Found by sample-libs' m-canonical-plt.
#[test]
fn b13_protected_pointer_to_canonical_plt_entry() {
    let mut p = P::new();
    let canonical = Symbol {
        value: 0x401030,
        ..undef("pfunc")
    };
    let e = p.obj("/usr/sbin/httpd", O::new().sym(canonical));
    let protected = visibility(def("pfunc"), STV_PROTECTED);
    let l = p.obj(
        "/lib/libcanonx.so.1",
        O::new().reloc(protected, Data).reloc_again("pfunc", Plt),
    );
    p.link.global = vec![e, l];
    let me = p.member(e, vec![Global(2)]);
    p.m(me).exec = true;
    p.member(l, vec![Global(2)]);
    let b = p.bind(DEFAULT);
    let data = one_of(&b, "/lib/libcanonx.so.1", "pfunc", Data);
    assert!(data.protected);
    assert_eq!(to(data), Some("/usr/sbin/httpd"));
    assert!(!data.interposed, "a protected reference is never a clash");
    // A PLT slot is forced to its own object at once.
    let plt = one_of(&b, "/lib/libcanonx.so.1", "pfunc", Plt);
    assert!(plt.protected);
    assert_eq!(to(plt), Some("/lib/libcanonx.so.1"));
    // When the repeat lands in another object, the own object wins.
    let mut p2 = P::new();
    let g = p2.obj("/lib/libg.so", O::new().sym(def("pfunc")));
    let l = p2.obj(
        "/lib/libcanonx.so.1",
        O::new().reloc(visibility(def("pfunc"), STV_PROTECTED), Data),
    );
    p2.link.global = vec![g, l];
    p2.member(g, vec![Global(2)]);
    p2.member(l, vec![Global(2)]);
    let b = p2.bind(DEFAULT);
    assert_eq!(
        to(one(&b, "/lib/libcanonx.so.1", "pfunc")),
        Some("/lib/libcanonx.so.1")
    );
}

/// G2.5: a later `dlopen` whose search list includes an object that was
/// itself `dlopen`ed earlier appends that list to the object's scopes;
/// its lazy slots then find what only the later group defines. Found by
/// sample-libs' p-scope-update.
#[test]
fn g2_5_later_search_lists_reach_lazy_slots() {
    let mut p = P::new();
    let shared = p.obj(
        "/lib/libsharedx.so.1",
        O::new().reloc(weak(undef("py_provided")), Plt),
    );
    let provider = p.obj("/py/_provider.so", O::new().sym(def("py_provided")));
    p.link.global = vec![shared];
    let m = p.member(shared, vec![List(vec![shared]), Global(0)]);
    p.m(m).lazy = true;
    p.member(provider, vec![Global(1), List(vec![provider, shared])]);
    let b = p.bind(DEFAULT);
    assert_eq!(to(one(&b, "/lib/libsharedx.so.1", "py_provided")), None);
    p.m(m).later = vec![List(vec![provider, shared])];
    let b = p.bind(DEFAULT);
    let r = one(&b, "/lib/libsharedx.so.1", "py_provided");
    assert_eq!(to(r), Some("/py/_provider.so"));
    assert_eq!(r.at_load, Some(None));
    // Bound at load, the slot never sees it.
    let now = BindOptions {
        bind_now: true,
        ..DEFAULT
    };
    assert_eq!(
        to(one(&p.bind(now), "/lib/libsharedx.so.1", "py_provided")),
        None
    );
}

/// B13: "`STV_PROTECTED` definitions: exported and bindable by others in
/// normal scope order; the defining object's own references never get
/// interposed … LD_DEBUG marks such bindings 'protected'."
#[test]
fn b13_protected_keeps_own_references() {
    let mut p = P::new();
    let g = p.obj("/lib/libg.so", O::new().sym(def("foo")));
    let m = p.obj(
        "/lib/libm1.so",
        O::new()
            .reloc(visibility(def("foo"), STV_PROTECTED), Plt)
            .reloc_again("foo", Data)
            .sym(visibility(def("bar"), STV_PROTECTED)),
    );
    let n = p.obj(
        "/lib/libn.so",
        O::new().reloc(undef("foo"), Plt).reloc(undef("bar"), Plt),
    );
    p.link.global = vec![g, m, n];
    for o in [g, m, n] {
        p.member(o, vec![Global(3)]);
    }
    let b = p.bind(DEFAULT);
    for class in [Plt, Data] {
        let r = one_of(&b, "/lib/libm1.so", "foo", class);
        assert_eq!(to(r), Some("/lib/libm1.so"), "{class:?}");
        assert!(r.protected && !r.interposed && !r.direct);
    }
    // Others bind in scope order: g first, m's protected bar otherwise.
    let r = one(&b, "/lib/libn.so", "foo");
    assert_eq!(to(r), Some("/lib/libg.so"));
    assert!(!r.protected);
    assert_eq!(to(one(&b, "/lib/libn.so", "bar")), Some("/lib/libm1.so"));
}

/// B14: "`STB_GNU_UNIQUE`: the first lookup that lands on a unique
/// definition registers it …; every later lookup of that name that lands
/// on *any* unique definition returns the registered one — across
/// `RTLD_LOCAL` and `RTLD_DEEPBIND` boundaries."
#[test]
fn b14_unique_first_registration_wins() {
    let name = "_ZN1S1xE";
    let mut p = P::new();
    let e = p.obj("/usr/sbin/httpd", O::new());
    let pm = p.obj("/py/p.so", O::new().reloc(unique(data(def(name))), Data));
    let q = p.obj("/py/q.so", O::new().reloc(unique(data(def(name))), Data));
    let r = p.obj("/php/r.so", O::new().reloc(unique(data(def(name))), Data));
    p.link.global = vec![e];
    p.member(e, vec![Global(1)]);
    p.member(pm, vec![Global(1), List(vec![pm])]);
    p.member(q, vec![Global(1), List(vec![q])]);
    p.member(r, vec![List(vec![r]), Global(1)]);
    let b = p.bind(DEFAULT);
    assert_eq!(to(one(&b, "/py/p.so", name)), Some("/py/p.so"));
    for x in ["/py/q.so", "/php/r.so"] {
        let rr = one(&b, x, name);
        assert_eq!(to(rr), Some("/py/p.so"), "{x}");
        assert_eq!(rr.expected.as_deref(), Some(x));
        assert!(rr.interposed);
    }
    // The first lookup registers: relocating q first makes q's copy win.
    p.link.relocation_order = vec![0, 2, 1, 3];
    let b = p.bind(DEFAULT);
    assert_eq!(to(one(&b, "/py/p.so", name)), Some("/py/q.so"));
}

/// B15's process: the executable copies `optarg@GLIBC_2.2.5` (`COPY`;
/// its defined copy carries the `Verneed` version), libc defines
/// `optarg@@GLIBC_2.2.5` and uses it, libk (unversioned) uses it.
pub(crate) fn copy_relocation_process() -> P {
    let mut p = P::new();
    let e = p.obj(
        "/usr/sbin/httpd",
        O::new().verneed("libc.so.6", "GLIBC_2.2.5", 2, 0).reloc(
            needs(
                data(Symbol {
                    shndx: 26,
                    value: 0x404040,
                    ..def("optarg")
                }),
                2,
                "GLIBC_2.2.5",
                "libc.so.6",
            ),
            Copy,
        ),
    );
    let c = p.obj(
        "/lib/libc.so.6",
        O::new()
            .soname("libc.so.6")
            .verdef(1, "libc.so.6")
            .verdef(2, "GLIBC_2.2.5")
            .reloc(ver(data(def("optarg")), 2, false, "GLIBC_2.2.5"), Data),
    );
    let k = p.obj("/lib/libk.so", O::new().reloc(undef("optarg"), Data));
    p.link.global = vec![e, c, k];
    let me = p.member(e, vec![Global(3)]);
    p.m(me).exec = true;
    p.m(me).solo = vec![e, c];
    p.member(c, vec![Global(3)]);
    let mk = p.member(k, vec![Global(3)]);
    p.m(mk).solo = vec![k, c];
    p
}

/// B15: "an executable's `R_X86_64_COPY` looks up the symbol skipping
/// the executable; afterwards every other object's reference to that
/// data binds to the executable's copy". rules::benign: CopyRelocation.
#[test]
fn b15_copy_relocation() {
    let p = copy_relocation_process();
    let image = p.image();
    let b = bind(&image, &DEFAULT);
    let r = one(&b, "/usr/sbin/httpd", "optarg");
    assert_eq!(r.class, Copy);
    assert_eq!(r.version.as_deref(), Some("GLIBC_2.2.5"));
    assert_eq!(to(r), Some("/lib/libc.so.6"));
    assert!(!r.interposed);
    for x in ["/lib/libc.so.6", "/lib/libk.so"] {
        let r = one(&b, x, "optarg");
        assert_eq!(to(r), Some("/usr/sbin/httpd"), "{x}");
        assert_eq!(r.binds_to_version.as_deref(), Some("GLIBC_2.2.5"), "{x}");
        assert_eq!(r.expected.as_deref(), Some("/lib/libc.so.6"), "{x}");
        assert!(r.interposed, "{x}");
        assert_eq!(
            crate::rules::benign(&image, r),
            Some(crate::rules::Benign::CopyRelocation),
            "{x}"
        );
    }
    let findings = crate::rules::process_findings(&image, &b);
    assert!(
        findings.iter().all(|f| f.id != "symbol-interposition"),
        "{findings:#?}"
    );
}

/// B16: "strong reference not found → error …; weak reference → 0."
/// A strong unresolved reference is the `unresolved-symbol` finding; a
/// weak one is none.
#[test]
fn b16_unresolved_strong_is_a_finding_weak_is_not() {
    let mut p = P::new();
    let r = p.obj(
        "/mod/r.so",
        O::new()
            .reloc(undef("missing"), Plt)
            .reloc(weak(undef("maybe")), Data),
    );
    p.link.global = vec![r];
    p.member(r, vec![Global(1)]);
    let image = p.image();
    let b = bind(&image, &DEFAULT);
    let strong = one(&b, "/mod/r.so", "missing");
    assert_eq!(to(strong), None);
    assert!(!strong.weak && !strong.interposed);
    let weak = one(&b, "/mod/r.so", "maybe");
    assert_eq!(to(weak), None);
    assert!(weak.weak);
    let findings = crate::rules::process_findings(&image, &b);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].id, "unresolved-symbol");
    assert_eq!(findings[0].symbols, vec!["missing".to_string()]);
    assert_eq!(findings[0].severity, crate::model::Severity::High);
    // A lazy PLT slot fails at its first call, not at load: medium.
    p.m(0).lazy = true;
    let image = p.image();
    let b = bind(&image, &DEFAULT);
    assert!(one(&b, "/mod/r.so", "missing").lazy);
    let findings = crate::rules::process_findings(&image, &b);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(findings[0].severity, crate::model::Severity::Medium);
}

/// G8: "Otherwise a PLT slot is resolved at its first call, searching
/// the object's scope list *as it is at that time*, so objects added to
/// the global scope after the object was loaded can win." Non-PLT
/// relocations bind at relocation time; `LD_BIND_NOW` binds PLT slots at
/// load too.
#[test]
fn g8_lazy_plt_slot_binds_against_final_global_scope() {
    let mut p = P::new();
    let e = p.obj(
        "/usr/sbin/httpd",
        O::new()
            .reloc(undef("late_fn"), Plt)
            .reloc_again("late_fn", Data)
            .reloc(undef("both"), Plt),
    );
    let s = p.obj("/lib/libs.so", O::new().sym(def("both")));
    let g = p.obj("/mod/g.so", O::new().sym(def("late_fn")).sym(def("both")));
    p.link.global = vec![e, s, g];
    let me = p.member(e, vec![Global(2)]);
    p.m(me).exec = true;
    p.m(me).lazy = true;
    p.member(s, vec![Global(2)]);
    p.member(g, vec![Global(2), List(vec![g])]);

    let b = p.bind(DEFAULT);
    let r = one_of(&b, "/usr/sbin/httpd", "late_fn", Plt);
    assert!(r.lazy);
    assert_eq!(to(r), Some("/mod/g.so"));
    assert_eq!(r.at_load, Some(None));
    let r = one_of(&b, "/usr/sbin/httpd", "late_fn", Data);
    assert!(!r.lazy);
    assert_eq!(to(r), None);
    // An earlier definition wins at load and at the call alike.
    let r = one(&b, "/usr/sbin/httpd", "both");
    assert!(r.lazy);
    assert_eq!(to(r), Some("/lib/libs.so"));
    assert_eq!(r.at_load, None);

    let now = BindOptions {
        bind_now: true,
        ..DEFAULT
    };
    for b in [p.bind(now), {
        p.link.env_bind_now = true;
        p.bind(DEFAULT)
    }] {
        let r = one_of(&b, "/usr/sbin/httpd", "late_fn", Plt);
        assert!(!r.lazy);
        assert_eq!(to(r), None);
        assert_eq!(r.at_load, None);
    }
}

/// `expected` is the lookup in the member's stand-alone search list
/// (`solo`); a symbol none of that list defines is provided by the host
/// (a module's `ap_log_error` from httpd) and is not interposed.
#[test]
fn expected_is_the_solo_lookup_host_symbols_not_interposed() {
    let mut p = P::new();
    let e = p.obj("/usr/sbin/httpd", O::new().sym(def("ap_log_error")));
    let s = p.obj("/lib/libs.so", O::new().sym(def("foo")));
    let m = p.obj(
        "/mod/mod_x.so",
        O::new()
            .reloc(undef("ap_log_error"), Plt)
            .reloc(undef("foo"), Plt)
            .reloc(undef("bar"), Plt),
    );
    let c = p.obj("/lib/libc1.so", O::new().sym(def("foo")).sym(def("bar")));
    let c2 = p.obj("/lib/libc2.so", O::new().sym(def("bar")));
    p.link.global = vec![e, s, m, c2, c];
    let me = p.member(e, vec![Global(2)]);
    p.m(me).exec = true;
    p.member(s, vec![Global(2)]);
    let mm = p.member(m, vec![Global(2), List(vec![m, c2, c])]);
    // Loaded on its own, c comes before c2.
    p.m(mm).solo = vec![m, c, c2];
    p.member(c2, vec![Global(2), List(vec![m, c2, c])]);
    p.member(c, vec![Global(2), List(vec![m, c2, c])]);
    let b = p.bind(DEFAULT);
    let r = one(&b, "/mod/mod_x.so", "ap_log_error");
    assert_eq!(to(r), Some("/usr/sbin/httpd"));
    assert_eq!(r.expected.as_deref(), Some("/usr/sbin/httpd"));
    assert!(!r.interposed);
    let r = one(&b, "/mod/mod_x.so", "foo");
    assert_eq!(to(r), Some("/lib/libs.so"));
    assert_eq!(r.expected.as_deref(), Some("/lib/libc1.so"));
    assert!(r.interposed);
    let r = one(&b, "/mod/mod_x.so", "bar");
    assert_eq!(to(r), Some("/lib/libc2.so"));
    assert_eq!(r.expected.as_deref(), Some("/lib/libc1.so"));
    assert!(r.interposed);
}

/// `definitions` lists every member's non-local definition in link-map
/// order with binding, visibility and whether it is a default version;
/// `explain` keeps one line per distinct reference.
#[test]
fn definitions_and_explain() {
    let mut p = P::new();
    let a = p.obj(
        "/lib/liba.so",
        O::new()
            .verdef(1, "liba.so")
            .verdef(2, "A_1")
            .verdef(3, "A_2")
            .sym(ver(weak(def("foo")), 2, true, "A_1"))
            .sym(ver(def("foo"), 3, false, "A_2")),
    );
    let u = p.obj(
        "/lib/libu.so",
        O::new()
            .sym(unique(data(def("foo"))))
            .sym(local(def("foo")))
            .sym(undef("foo")),
    );
    let r = p.obj(
        "/lib/libr.so",
        O::new()
            .reloc(visibility(def("foo"), STV_PROTECTED), Plt)
            .reloc_again("foo", Plt),
    );
    p.link.global = vec![a, u, r];
    for o in [a, u, r] {
        p.member(o, vec![Global(3)]);
    }
    let image = p.image();
    let d = definitions(&image, b"foo");
    let got: Vec<_> = d
        .iter()
        .map(|d| {
            (
                d.object.as_str(),
                d.version.as_deref(),
                d.binding,
                d.visibility,
                d.default,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("/lib/liba.so", Some("A_1"), "weak", "default", false),
            ("/lib/liba.so", Some("A_2"), "global", "default", true),
            ("/lib/libu.so", None, "unique", "default", true),
            ("/lib/libr.so", None, "global", "protected", true),
        ]
    );
    let b = bind(&image, &DEFAULT);
    let e = explain(&image, &b, b"foo");
    assert_eq!(e.definitions, d);
    assert_eq!(e.references.len(), 1);
    assert!(e.references[0].protected);
    assert_eq!(e.references[0].binds_to.as_deref(), Some("/lib/libr.so"));
}

/// The parent's members bound early on another thread (the scan's
/// `bind_early`), with the service's `LD_BIND_NOW` in force: the slot of
/// the flags a forked process then binds with is filled, and a process
/// forked from it binds as one bound whole.
#[test]
fn parent_bound_early_is_what_a_forked_process_reuses() {
    let mut p = P::new();
    let g = p.obj("/lib/libg.so", O::new().sym(def("foo")));
    let m = p.obj("/mod/m.so", O::new().reloc(def("foo"), Plt));
    p.link.global = vec![g, m];
    p.link.ns_objects = 2;
    p.link.env_bind_now = true;
    p.member(g, vec![Global(2)]);
    p.member(m, vec![Global(2)]);
    let forked = Arc::new(Forked::new(p.link.clone()));
    forked.bind_early(DEFAULT);
    let started = std::time::Instant::now();
    while forked.bound.iter().all(|s| s.get().is_none()) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the parent was not bound early"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // LD_BIND_NOW from the environment, not dynamic weak: slot 2 alone.
    let filled: Vec<bool> = forked.bound.iter().map(|s| s.get().is_some()).collect();
    assert_eq!(filled, [false, false, true, false]);
    let mut image = p.image();
    image.link.forked = Some(Arc::clone(&forked));
    let reused = bind(&image, &DEFAULT);
    let afresh = bind_afresh(&image, &DEFAULT);
    assert_eq!(reused.references, afresh.references);
    let r = one(&reused, "/mod/m.so", "foo");
    assert_eq!(to(r), Some("/lib/libg.so"));
    assert!(!r.lazy, "bound now, as the environment says");
}

/// A daemon's later search lists (G2.5) that go on past the parent's: a
/// parent's member whose lazy slots all found a definition before them
/// keeps the parent's bindings (the same run, not bound again), one with
/// a lazy slot left unbound is bound again and binds into the appended
/// list, as binding the daemon whole does.
#[test]
fn later_lists_grown_after_the_fork_reuse_only_what_they_cannot_change() {
    // The parent: `m`, dlopened globally, calls `foo` (its own) and `late`
    // (nowhere yet) through lazy PLT slots; `n` calls only `foo`.
    let parent = |late_in_m: bool| -> P {
        let mut p = P::new();
        let mut mo = O::new().sym(def("foo")).reloc(undef("foo"), Plt);
        if late_in_m {
            mo = mo.reloc(undef("late"), Plt);
        }
        let m = p.obj("/mod/m.so", mo);
        let n = p.obj("/mod/n.so", O::new().reloc(undef("foo"), Plt));
        p.link.global = vec![m, n];
        p.link.ns_objects = 2;
        for o in [m, n] {
            let k = p.member(o, vec![Global(2), List(vec![o])]);
            p.m(k).lazy = true;
        }
        p
    };
    for late_in_m in [false, true] {
        let p = parent(late_in_m);
        let forked = Arc::new(Forked::new(p.link.clone()));
        // The daemon: `d`, dlopened locally after the fork, defines `late`;
        // its search list holds `m` and `n`, so both search it last.
        let mut daemon = parent(late_in_m);
        let d = daemon.obj("/srv/venv/d.so", O::new().sym(def("late")));
        let k = daemon.member(d, vec![Global(2), List(vec![d, 0, 1])]);
        daemon.m(k).lazy = true;
        for member in [0, 1] {
            daemon.m(member).later = vec![List(vec![d, 0, 1])];
        }
        let mut image = daemon.image();
        image.link.forked = Some(Arc::clone(&forked));
        let reused = bind(&image, &DEFAULT);
        assert_eq!(
            reused.references,
            bind_afresh(&image, &DEFAULT).references,
            "late in m: {late_in_m}"
        );
        let parents = forked.bound(false, false).expect("the parent bound");
        let runs: Vec<_> = reused.references.runs().collect();
        // `n` never misses a definition: its run is the parent's.
        assert!(Arc::ptr_eq(runs[1], &parents[1].references), "n reused");
        assert_eq!(
            Arc::ptr_eq(runs[0], &parents[0].references),
            !late_in_m,
            "m reused only when no lazy slot was left unbound"
        );
        if late_in_m {
            let r = one(&reused, "/mod/m.so", "late");
            assert_eq!(to(r), Some("/srv/venv/d.so"));
        }
    }
}

/// With `LD_DYNAMIC_WEAK` a lookup goes on past a weak definition, so a
/// strong one in a list appended after the fork takes the slot: the
/// parent's binding is not reused.
#[test]
fn later_lists_grown_after_the_fork_with_dynamic_weak_bind_again() {
    let parent = || -> P {
        let mut p = P::new();
        let m = p.obj("/mod/m.so", O::new().reloc(undef("w"), Plt));
        let n = p.obj("/mod/n.so", O::new().sym(weak(def("w"))));
        p.link.global = vec![m, n];
        p.link.ns_objects = 2;
        for o in [m, n] {
            let k = p.member(o, vec![Global(2), List(vec![o])]);
            p.m(k).lazy = true;
        }
        p
    };
    let forked = Arc::new(Forked::new(parent().link));
    let mut daemon = parent();
    let d = daemon.obj("/srv/venv/d.so", O::new().sym(def("w")));
    daemon.member(d, vec![Global(2), List(vec![d])]);
    daemon.m(0).later = vec![List(vec![d, 0])];
    let mut image = daemon.image();
    image.link.forked = Some(forked);
    let opts = BindOptions {
        dynamic_weak: true,
        ..DEFAULT
    };
    let reused = bind(&image, &opts);
    assert_eq!(reused.references, bind_afresh(&image, &opts).references);
    assert_eq!(to(one(&reused, "/mod/m.so", "w")), Some("/srv/venv/d.so"));
    // Without it the weak definition found first stands, reused or not.
    let plain = bind(&image, &DEFAULT);
    assert_eq!(plain.references, bind_afresh(&image, &DEFAULT).references);
    assert_eq!(to(one(&plain, "/mod/m.so", "w")), Some("/mod/n.so"));
}
