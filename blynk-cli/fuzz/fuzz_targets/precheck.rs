//! Arbitrary bytes through what `blynk` does before sending: the first byte picks the input, the
//! rest is either an argument vector (split at NUL bytes) or the bytes of an input file (points
//! as CSV or JSON Lines, or a batch update). Nothing may panic.

#![no_main]

use std::ffi::OsString;
use std::path::Path;

use blynk_cli::input::{PointsFormat, batch_update_from, check_points_from};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let now = jiff::Timestamp::UNIX_EPOCH;
    let path = Path::new("fuzz");
    match mode % 4 {
        0 => {
            let args: Vec<OsString> = std::iter::once(OsString::from("blynk"))
                .chain(
                    rest.split(|&b| b == 0)
                        .map(|a| OsString::from(String::from_utf8_lossy(a).into_owned())),
                )
                .collect();
            let _ = blynk_cli::precheck(&args);
        }
        1 => {
            let _ = check_points_from(
                path,
                std::io::Cursor::new(rest.to_vec()),
                PointsFormat::Csv,
                now,
            );
        }
        2 => {
            let _ = check_points_from(
                path,
                std::io::Cursor::new(rest.to_vec()),
                PointsFormat::Jsonl,
                now,
            );
        }
        _ => {
            let _ = batch_update_from(path, std::io::Cursor::new(rest.to_vec()), false);
        }
    }
});
