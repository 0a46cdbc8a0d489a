//! ld.so.cache (being written)
