//! Output file formats and the options that tune their encoders.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::SinkError;

/// Compression of a JSONL file: the configuration's (one type for both).
pub use crate::config::Compression;

/// The format of a batch file. Its [`name`](FileFormat::name) is also its file extension and
/// its serialized form (`"jsonl"`, `"jsonl.gz"`, `"jsonl.zst"`, `"parquet"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// One JSON object per line.
    Jsonl {
        /// Whole-file compression.
        compression: Compression,
    },
    /// Apache Parquet with zstd-compressed pages.
    Parquet,
}

impl FileFormat {
    /// Every format, in a fixed order.
    pub const ALL: [FileFormat; 4] = [
        FileFormat::Jsonl {
            compression: Compression::None,
        },
        FileFormat::Jsonl {
            compression: Compression::Gzip,
        },
        FileFormat::Jsonl {
            compression: Compression::Zstd,
        },
        FileFormat::Parquet,
    ];

    /// The file extension without the leading dot, which is also the format's name.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Jsonl {
                compression: Compression::None,
            } => "jsonl",
            FileFormat::Jsonl {
                compression: Compression::Gzip,
            } => "jsonl.gz",
            FileFormat::Jsonl {
                compression: Compression::Zstd,
            } => "jsonl.zst",
            FileFormat::Parquet => "parquet",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing an unknown format name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown file format {0:?} (expected jsonl, jsonl.gz, jsonl.zst or parquet)")]
pub struct UnknownFormat(pub String);

impl FromStr for FileFormat {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FileFormat::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

impl Serialize for FileFormat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for FileFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Encoder settings. The defaults are the documented ones (`spec/output-layout.md`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// gzip level for `.jsonl.gz`, 0–9 (default 6).
    pub gzip_level: u32,
    /// zstd level for `.jsonl.zst`, 1–22 (default 1: measured both faster and smaller than 3
    /// on export JSON, see `benches/sinks.rs`).
    pub zstd_level: i32,
    /// zstd level of Parquet pages, 1–22; 1–3 recommended (default 1).
    pub parquet_zstd_level: i32,
    /// A Parquet row group is closed once it holds this many records (default 16,384): the
    /// encoder keeps the open row group's encoded pages in memory.
    pub parquet_row_group_rows: usize,
    /// A Parquet row group is closed once its encoded size reaches about this many bytes
    /// (default 32 MiB), whatever its records: bounds the open row group of large documents.
    pub parquet_row_group_bytes: usize,
    /// Records converted to Arrow arrays at a time before being handed to the Parquet
    /// encoder (default 8192); bounds the Arrow memory of a batch.
    pub parquet_chunk_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            gzip_level: 6,
            zstd_level: 1,
            parquet_zstd_level: 1,
            parquet_row_group_rows: 16_384,
            parquet_row_group_bytes: 32 << 20,
            parquet_chunk_rows: 8192,
        }
    }
}

impl WriteOptions {
    /// Checks every option's range.
    pub fn validate(&self) -> Result<(), SinkError> {
        let bad = |option, reason: String| Err(SinkError::InvalidOption { option, reason });
        if self.gzip_level > 9 {
            return bad("gzip_level", format!("{} is not in 0..=9", self.gzip_level));
        }
        for (option, level) in [
            ("zstd_level", self.zstd_level),
            ("parquet_zstd_level", self.parquet_zstd_level),
        ] {
            if !(1..=22).contains(&level) {
                return bad(option, format!("{level} is not in 1..=22"));
            }
        }
        if self.parquet_row_group_rows == 0 {
            return bad("parquet_row_group_rows", "must be positive".into());
        }
        if self.parquet_row_group_bytes == 0 {
            return bad("parquet_row_group_bytes", "must be positive".into());
        }
        if self.parquet_chunk_rows == 0 {
            return bad("parquet_chunk_rows", "must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_serde() {
        for f in FileFormat::ALL {
            assert_eq!(f.name().parse::<FileFormat>(), Ok(f));
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<FileFormat>(&json).unwrap(), f);
        }
        assert_eq!(
            "csv".parse::<FileFormat>(),
            Err(UnknownFormat("csv".into()))
        );
        assert!(serde_json::from_str::<FileFormat>("\"jsonl.bz2\"").is_err());
    }

    #[test]
    fn options_are_range_checked() {
        assert!(WriteOptions::default().validate().is_ok());
        let cases = [
            WriteOptions {
                gzip_level: 10,
                ..Default::default()
            },
            WriteOptions {
                zstd_level: 0,
                ..Default::default()
            },
            WriteOptions {
                parquet_zstd_level: 23,
                ..Default::default()
            },
            WriteOptions {
                parquet_row_group_rows: 0,
                ..Default::default()
            },
            WriteOptions {
                parquet_row_group_bytes: 0,
                ..Default::default()
            },
            WriteOptions {
                parquet_chunk_rows: 0,
                ..Default::default()
            },
        ];
        for opts in cases {
            assert!(
                matches!(opts.validate(), Err(SinkError::InvalidOption { .. })),
                "{opts:?}"
            );
        }
    }
}
