#![no_main]
//! Fuzz target `readers`: every MTA of `mtastat::parse::mta::READERS` (see
//! `mtastat::fuzz::readers`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::readers(data));
