#![no_main]
//! Fuzz target `journal`: see `mtastat::fuzz::journal`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::journal(data));
