#![no_main]
libfuzzer_sys::fuzz_target!(
    init: opensharing::fuzzing::tolerate_caught_parquet_panics(),
    |data: &[u8]| opensharing::fuzzing::dataset_footer(data)
);
