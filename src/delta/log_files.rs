//! Names of the files in `_delta_log/`.

/// The log directory, relative to the table root.
pub const LOG_DIR: &str = "_delta_log/";
/// The checkpoint hint file.
pub const LAST_CHECKPOINT: &str = "_delta_log/_last_checkpoint";

/// What a `_delta_log/` file is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogFile {
    /// `N.json`.
    Commit(i64),
    /// `N.checkpoint.parquet`, `N.checkpoint.P.T.parquet` or `N.checkpoint.UUID.{json,parquet}`.
    Checkpoint {
        /// The version it summarises.
        version: i64,
        /// `(part, of)` for multi-part checkpoints (1-based).
        part: Option<(u32, u32)>,
        /// Whether it is JSON (a v2 checkpoint manifest).
        json: bool,
    },
    /// Anything else (`_last_checkpoint`, `.crc`, compacted logs, temporary files).
    Other,
}

fn version_of(digits: &str) -> Option<i64> {
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok())?
}

/// Classifies a file by its name inside `_delta_log/` (no directory part).
pub fn classify(name: &str) -> LogFile {
    let Some((digits, rest)) = name.split_once('.') else { return LogFile::Other };
    let Some(version) = version_of(digits) else { return LogFile::Other };
    if rest == "json" {
        return LogFile::Commit(version);
    }
    let Some(rest) = rest.strip_prefix("checkpoint.") else { return LogFile::Other };
    let parts: Vec<&str> = rest.split('.').collect();
    match parts.as_slice() {
        ["parquet"] => LogFile::Checkpoint { version, part: None, json: false },
        [p, t, "parquet"] => match (p.parse::<u32>(), t.parse::<u32>()) {
            (Ok(p), Ok(t)) if p >= 1 && p <= t => LogFile::Checkpoint { version, part: Some((p, t)), json: false },
            _ => LogFile::Other,
        },
        [_uuid, "json"] => LogFile::Checkpoint { version, part: None, json: true },
        [_uuid, "parquet"] => LogFile::Checkpoint { version, part: None, json: false },
        _ => LogFile::Other,
    }
}

/// The path of commit `version`, relative to the table root.
pub fn commit_path(version: i64) -> String {
    format!("{LOG_DIR}{version:020}.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_log_files() {
        assert_eq!(classify("00000000000000000012.json"), LogFile::Commit(12));
        assert_eq!(
            classify("00000000000000000010.checkpoint.parquet"),
            LogFile::Checkpoint { version: 10, part: None, json: false }
        );
        assert_eq!(
            classify("00000000000000000010.checkpoint.0000000002.0000000003.parquet"),
            LogFile::Checkpoint { version: 10, part: Some((2, 3)), json: false }
        );
        assert_eq!(
            classify("00000000000000000010.checkpoint.80a083e8-7026-4e79-81be-64bd76c43a11.json"),
            LogFile::Checkpoint { version: 10, part: None, json: true }
        );
        for other in [
            "_last_checkpoint",
            "00000000000000000010.crc",
            "0001.json",
            "00000000000000000001.00000000000000000004.compacted.json",
            ".tmp",
        ] {
            assert_eq!(classify(other), LogFile::Other, "{other}");
        }
        assert_eq!(commit_path(3), "_delta_log/00000000000000000003.json");
    }
}
