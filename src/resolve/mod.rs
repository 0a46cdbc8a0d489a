//! The ld.so model: which file each `DT_NEEDED` name resolves to.
pub mod cache;
pub mod ldconfig;
