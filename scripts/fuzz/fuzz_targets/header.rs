#![no_main]
//! Fuzz target `header`: see `mtastat::fuzz::header`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::header(data));
