//! Names on disk: stream directories, batch files and their temporary names.

use std::fmt::Write as _;

use super::{FileFormat, SinkError};
#[cfg(test)]
use crate::durable::temp_file_name;

/// The longest directory name most file systems accept.
const MAX_NAME_BYTES: usize = 255;

/// The directory name of a stream: ASCII letters, digits, `_` and `-` are kept; every other
/// byte of the UTF-8 name (including `.`, `/`, `%` and spaces) becomes `%XX` (uppercase hex).
/// The mapping is injective, so distinct streams never share a directory (on case-sensitive
/// file systems), and no stream directory can be `.`, `..`, hidden, or contain a `.`, which
/// keeps root-level names such as `_manifest.jsonl` free for fauna-sync.
///
/// ```
/// use fauna_sync::sink::stream_dir_name;
/// assert_eq!(stream_dir_name("orders_2024-v2").unwrap(), "orders_2024-v2");
/// assert_eq!(stream_dir_name("a.b/c d").unwrap(), "a%2Eb%2Fc%20d");
/// assert_eq!(stream_dir_name("café").unwrap(), "caf%C3%A9");
/// assert!(stream_dir_name("").is_err());
/// ```
pub fn stream_dir_name(stream: &str) -> Result<String, SinkError> {
    let invalid = |reason| SinkError::InvalidStream {
        stream: stream.to_string(),
        reason,
    };
    if stream.is_empty() {
        return Err(invalid("the name is empty"));
    }
    let mut out = String::with_capacity(stream.len());
    for b in stream.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
            out.push(char::from(b));
        } else {
            // Writing into a String cannot fail.
            let _ = write!(out, "%{b:02X}");
        }
    }
    if out.len() > MAX_NAME_BYTES {
        return Err(invalid("the escaped name is longer than 255 bytes"));
    }
    Ok(out)
}

/// The file name of batch `seq`: `part-<seq, at least 8 digits>.<format name>`.
pub fn part_file_name(seq: u64, format: FileFormat) -> String {
    format!("part-{seq:08}.{}", format.name())
}

/// Parses a batch file name made by [`part_file_name`].
pub fn parse_part_file_name(name: &str) -> Option<(u64, FileFormat)> {
    let rest = name.strip_prefix("part-")?;
    let (digits, ext) = rest.split_once('.')?;
    if digits.len() < 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seq: u64 = digits.parse().ok()?;
    let format: FileFormat = ext.parse().ok()?;
    // Only the canonical spelling (no extra leading zeros beyond the width).
    (part_file_name(seq, format) == name).then_some((seq, format))
}

/// Whether `name` is a temporary batch file (`.part-*.tmp`).
pub(crate) fn is_temp_part_name(name: &str) -> bool {
    name.starts_with(".part-") && name.ends_with(".tmp")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Compression;

    #[test]
    fn stream_names_are_escaped_injectively() {
        assert_eq!(stream_dir_name("users").unwrap(), "users");
        assert_eq!(stream_dir_name("..").unwrap(), "%2E%2E");
        assert_eq!(stream_dir_name(".hidden").unwrap(), "%2Ehidden");
        assert_eq!(stream_dir_name("50%").unwrap(), "50%25");
        assert_eq!(stream_dir_name("a\\b:c").unwrap(), "a%5Cb%3Ac");
        assert_ne!(
            stream_dir_name("a%2E").unwrap(),
            stream_dir_name("a.").unwrap()
        );
        assert!(stream_dir_name(&"x".repeat(255)).is_ok());
        assert!(matches!(
            stream_dir_name(&"x".repeat(256)),
            Err(SinkError::InvalidStream { .. })
        ));
        assert!(stream_dir_name(&".".repeat(86)).is_err());
    }

    #[test]
    fn part_names_are_deterministic_and_parse_back() {
        let gz = FileFormat::Jsonl {
            compression: Compression::Gzip,
        };
        assert_eq!(part_file_name(1, gz), "part-00000001.jsonl.gz");
        assert_eq!(
            part_file_name(123_456_789, FileFormat::Parquet),
            "part-123456789.parquet"
        );
        for f in FileFormat::ALL {
            for seq in [0, 7, 99_999_999, 100_000_000, u64::MAX] {
                assert_eq!(
                    parse_part_file_name(&part_file_name(seq, f)),
                    Some((seq, f))
                );
            }
        }
        for bad in [
            "part-1.jsonl",
            "part-000000001.jsonl",
            "part-0000000a.jsonl",
            "part-00000001.csv",
            "part-00000001",
            "xpart-00000001.jsonl",
            ".part-00000001.jsonl.tmp",
        ] {
            assert_eq!(parse_part_file_name(bad), None, "{bad}");
        }
        assert_eq!(
            temp_file_name("part-00000001.jsonl"),
            ".part-00000001.jsonl.tmp"
        );
        assert!(is_temp_part_name(".part-00000001.jsonl.tmp"));
        assert!(!is_temp_part_name("part-00000001.jsonl"));
    }
}
