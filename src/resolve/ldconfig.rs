//! ldconfig emulation (being written)
