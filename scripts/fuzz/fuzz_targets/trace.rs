#![no_main]
//! Fuzz target `trace`: see `mtastat::fuzz::trace`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::trace(data));
