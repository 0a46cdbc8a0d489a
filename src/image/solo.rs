//! Which stand-alone load stands for a member of a process: where its
//! references would bind were it loaded "on its own with its
//! dependencies" (`Reference::expected`, [`super::bind`]).
//!
//! For most objects that is `ld.so --list` of the object itself. Not for a
//! library that finds its dependencies only through the `DT_RPATH` of the
//! objects that loaded it: glibc's `_dl_map_object` (elf/dl-load.c) searches
//! "the DT_RPATH of the dependent object that caused NAME to be loaded.
//! Then that object's dependent, and on up" (the loop over `l->l_loader`,
//! skipped only when the requesting object has a `DT_RUNPATH`). A wheel's
//! `<dist>.libs/` members that auditwheel grafted have no RPATH of their
//! own: in the process they find each other through the extension
//! module's `DT_RPATH=$ORIGIN/../<dist>.libs`, loaded alone they find
//! nothing, so their own stand-alone list lacks the very copies they were
//! shipped with and a system copy that takes their symbols would look like
//! the expected one. Such a library is judged as its loader loads it: from
//! the stand-alone load of the nearest object up its `l_loader` chain whose
//! own load is complete (every `DT_NEEDED` found) and holds this very file
//! (a loader that alone finds another file of that name cannot stand in),
//! typically the extension module the wheel ships. That is what ld.so
//! itself prints when run on that loader (`LD_TRACE_LOADED_OBJECTS=1
//! LD_WARN=1 LD_BIND_NOW=1 LD_DEBUG=bindings`, what `ldd -r` does), the
//! oracle tests/it/bind_oracle.rs and tests/it/realistic.rs compare with.

use std::sync::Arc;

use crate::resolve::{How, Load, Loaded};

/// The stand-alone load that stands for one object.
#[derive(Debug, Clone)]
pub(super) struct StandIn {
    pub load: Arc<Load>,
    /// The object's index in `load.objects`.
    pub at: usize,
}

impl StandIn {
    /// The object loaded on its own (not through a loader).
    pub fn own(&self) -> bool {
        self.at == 0
    }

    /// The object first, then what it needs (directly or not) in that
    /// load, in the load's search-list order: its closure as it is found
    /// there, indices into `load.objects`.
    pub fn closure(&self) -> Vec<usize> {
        let objects = &self.load.objects;
        let mut reach = vec![false; objects.len()];
        let mut stack = vec![self.at];
        while let Some(k) = stack.pop() {
            match reach.get_mut(k) {
                Some(r) if !*r => *r = true,
                _ => continue,
            }
            if let Some(o) = objects.get(k) {
                stack.extend(o.needed.iter().copied());
            }
        }
        std::iter::once(self.at)
            .chain(
                self.load
                    .order
                    .iter()
                    .copied()
                    .filter(|&k| k != self.at && reach.get(k).copied().unwrap_or(false)),
            )
            .collect()
    }
}

/// Every `DT_NEEDED` of the load was found (ld.so prints no "not found"
/// and refuses nothing).
fn complete(load: &Load) -> bool {
    load.objects
        .iter()
        .all(|o| !matches!(o.how, How::NotFound(_) | How::Fatal { .. }))
}

/// Stand-alone loads of the objects of one namespace, each made once.
pub(super) struct StandAlone<'n, F> {
    objects: &'n [Loaded],
    load: F,
    made: rustc_hash::FxHashMap<usize, Option<Arc<Load>>>,
}

impl<'n, F: FnMut(&Loaded) -> Option<Arc<Load>>> StandAlone<'n, F> {
    /// `load` simulates `ld.so --list` of one object of `objects` (the
    /// namespace's).
    pub fn new(objects: &'n [Loaded], load: F) -> Self {
        StandAlone {
            objects,
            load,
            made: Default::default(),
        }
    }

    fn load_of(&mut self, j: usize) -> Option<Arc<Load>> {
        if let Some(l) = self.made.get(&j) {
            return l.clone();
        }
        let l = self.objects.get(j).and_then(|o| (self.load)(o));
        self.made.insert(j, l.clone());
        l
    }

    /// The load that stands for object `j` of the namespace: its own when
    /// complete, else the nearest loader's (`l_loader`) that is complete
    /// and holds the same file, else its own incomplete one; `None` when
    /// it cannot be loaded at all.
    pub fn stand_in(&mut self, j: usize) -> Option<StandIn> {
        let id = self.objects.get(j)?.opened.as_ref()?.id;
        let own = self.load_of(j);
        if let Some(load) = &own {
            if complete(load) {
                return Some(StandIn {
                    load: Arc::clone(load),
                    at: 0,
                });
            }
        }
        let mut x = self.objects.get(j).and_then(|o| o.loader);
        // The chain only goes to objects created earlier; bound it anyway.
        for _ in 0..self.objects.len() {
            let Some(l) = x else { break };
            if let Some(load) = self.load_of(l).filter(|load| complete(load)) {
                let at = load
                    .objects
                    .iter()
                    .position(|o| o.opened.as_ref().is_some_and(|o| o.id == id));
                if let Some(at) = at {
                    return Some(StandIn { load, at });
                }
            }
            x = self.objects.get(l).and_then(|o| o.loader);
        }
        own.map(|load| StandIn { load, at: 0 })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use bstr::BString;

    use super::*;
    use crate::elf::ElfFacts;
    use crate::resolve::{Found, Opened};
    use crate::root::FileId;

    fn obj(ino: u64, needed: Vec<usize>, loader: Option<usize>) -> Loaded {
        Loaded {
            name: BString::from(format!("lib{ino}.so")),
            path: Some(PathBuf::from(format!("/l/lib{ino}.so"))),
            opened: Some(Arc::new(Opened {
                id: FileId { dev: 1, ino },
                canonical: PathBuf::from(format!("/l/lib{ino}.so")),
                size: 0,
                facts: Ok(Arc::new(ElfFacts::default())),
            })),
            how: How::Found(Found::Path),
            needed,
            filtees: Vec::new(),
            loader,
        }
    }

    fn missing(loader: usize) -> Loaded {
        Loaded {
            name: BString::from("libgone.so"),
            path: None,
            opened: None,
            how: How::NotFound(vec!["ld.so.cache".into()]),
            needed: Vec::new(),
            filtees: Vec::new(),
            loader: Some(loader),
        }
    }

    fn load(objects: Vec<Loaded>, order: Vec<usize>) -> Load {
        Load {
            objects,
            interpreter: None,
            order,
            preload_errors: Vec::new(),
            listing: crate::resolve::profile::Search::Glibc,
            itself_lines: Vec::new(),
        }
    }

    /// The namespace of an extension module 10 (with the RPATH) that
    /// needs 11, which needs 12, which needs 13: each stand-alone load
    /// given by hand as ld.so would make it.
    fn wheel(solo: &Loaded) -> Option<Load> {
        let ino = solo.opened.as_ref()?.id.ino;
        Some(match ino {
            // The module finds everything through its own RPATH.
            10 => load(
                vec![
                    obj(10, vec![1], None),
                    obj(11, vec![2], Some(0)),
                    obj(12, vec![3], Some(1)),
                    obj(13, vec![], Some(2)),
                ],
                vec![0, 1, 2, 3],
            ),
            // Alone, 11 and 12 miss what only the RPATH found.
            11 => load(vec![obj(11, vec![1], None), missing(0)], vec![0]),
            12 => load(vec![obj(12, vec![1], None), missing(0)], vec![0]),
            13 => load(vec![obj(13, vec![], None)], vec![0]),
            _ => return None,
        })
    }

    fn namespace() -> Vec<Loaded> {
        vec![
            obj(10, vec![1], None),
            obj(11, vec![2], Some(0)),
            obj(12, vec![3], Some(1)),
            obj(13, vec![], Some(2)),
        ]
    }

    #[test]
    fn complete_objects_stand_for_themselves() {
        let ns = namespace();
        let mut s = StandAlone::new(&ns, |o: &Loaded| wheel(o).map(Arc::new));
        for j in [0, 3] {
            let got = s.stand_in(j).expect("loadable");
            assert!(got.own(), "{j}");
            assert_eq!(got.closure().first(), Some(&0));
        }
    }

    /// dl-load.c: the loader chain's DT_RPATH found 12's dependency, so
    /// the module's load (two loaders up) stands for it, and its closure
    /// there is itself and 13 only.
    #[test]
    fn an_incomplete_library_is_judged_from_its_nearest_complete_loader() {
        let ns = namespace();
        let mut s = StandAlone::new(&ns, |o: &Loaded| wheel(o).map(Arc::new));
        let got = s.stand_in(2).expect("loadable");
        assert!(!got.own());
        assert_eq!(got.at, 2);
        assert_eq!(got.load.order, [0, 1, 2, 3]);
        assert_eq!(got.closure(), [2, 3]);
        let got = s.stand_in(1).expect("loadable");
        assert_eq!((got.at, got.closure()), (1, vec![1, 2, 3]));
    }

    /// A loader whose own load finds another file under the name cannot
    /// stand in; without any, the object's own incomplete load stays.
    #[test]
    fn a_loader_holding_another_file_does_not_stand_in() {
        let ns = namespace();
        let other = |o: &Loaded| -> Option<Load> {
            let mut l = wheel(o)?;
            if o.opened.as_ref()?.id.ino == 10 {
                l.objects[2] = obj(99, vec![3], Some(1));
            }
            Some(l)
        };
        let mut s = StandAlone::new(&ns, |o: &Loaded| other(o).map(Arc::new));
        let got = s.stand_in(2).expect("loadable");
        assert!(got.own());
        assert_eq!(got.load.objects.len(), 2, "its own load, with the miss");
    }
}
