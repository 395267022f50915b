#![no_main]
#[path = "../props.rs"]
mod props;
libfuzzer_sys::fuzz_target!(|data: &[u8]| props::cookie_jar(data));
