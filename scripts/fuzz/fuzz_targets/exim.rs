#![no_main]
//! Fuzz target `exim`: see `mtastat::fuzz::exim`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::exim(data));
