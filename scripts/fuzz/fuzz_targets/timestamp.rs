#![no_main]
//! Fuzz target `timestamp`: see `mtastat::fuzz::timestamp`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::timestamp(data));
