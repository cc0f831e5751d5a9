#![no_main]
//! Fuzz target `scanner`: see `mtastat::fuzz::scanner`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::scanner(data));
