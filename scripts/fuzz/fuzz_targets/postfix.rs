#![no_main]
//! Fuzz target `postfix`: see `mtastat::fuzz::postfix`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| mtastat::fuzz::postfix(data));
