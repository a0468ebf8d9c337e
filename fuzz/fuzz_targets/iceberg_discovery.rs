#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| opensharing::fuzzing::iceberg_discovery(data));
