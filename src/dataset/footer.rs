//! Reading a Parquet footer from the tail of a file: `…metadata | length (4 bytes LE) | PAR1`.
//!
//! The dataset reader asks for the last [`TAIL_BYTES`] of a file; when the footer is longer it
//! asks once more for exactly the footer. Only the metadata is decoded (thrift, no data pages).

use std::sync::Arc;

use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};

use super::schema::{self, Schema};
use crate::delta::actions::StatsJson;

/// How much of a file's end is read first: most footers fit.
pub const TAIL_BYTES: u64 = 64 * 1024;
/// Largest footer accepted (a guard against unbounded memory on a corrupt length).
pub const MAX_FOOTER_BYTES: u64 = 64 << 20;
/// The length field and the magic.
const TRAILER: u64 = 8;

/// What the dataset needs from one file's footer.
#[derive(Debug)]
pub struct FooterInfo {
    /// The file's columns as Delta fields.
    pub schema: Arc<Schema>,
    /// Its statistics JSON.
    pub stats: StatsJson,
}

/// The answer to a tail read.
#[derive(Debug)]
pub enum Tail {
    /// The footer was decoded.
    Footer(FooterInfo),
    /// The footer is longer than what was read: read `[start, size)` and decode again.
    NeedFrom(u64),
}

/// Decodes the footer from `bytes`, the last bytes of a file of `size` bytes (a host that
/// ignores the range and returns the whole object is fine too: only the end is used).
pub fn decode(bytes: &[u8], size: u64) -> Result<Tail, String> {
    if size < 12 || (bytes.len() as u64) < TRAILER {
        return Err(format!("{size} bytes is too small to be a Parquet file"));
    }
    let trailer: &[u8; 8] = bytes[bytes.len() - 8..].try_into().map_err(|_| "short read".to_string())?;
    let tail = FooterTail::try_new(trailer).map_err(|_| "no Parquet footer (magic PAR1 missing)".to_string())?;
    if tail.is_encrypted_footer() {
        return Err("the footer is encrypted".into());
    }
    let len = tail.metadata_length() as u64;
    if len + TRAILER + 4 > size {
        return Err(format!("the footer claims {len} bytes in a file of {size}"));
    }
    if len > MAX_FOOTER_BYTES {
        return Err(format!("the footer is {len} bytes, more than the {MAX_FOOTER_BYTES} read"));
    }
    if len + TRAILER > bytes.len() as u64 {
        return Ok(Tail::NeedFrom(size - len - TRAILER));
    }
    let start = bytes.len() - (len + TRAILER) as usize;
    let metadata = &bytes[start..bytes.len() - TRAILER as usize];
    crate::parquet_guard::check_metadata(metadata).map_err(|e| format!("the footer cannot be decoded: {e}"))?;
    // The thrift decoder reports bad input as errors; the unwind guard keeps a decoder bug on a
    // hostile file from taking the exchange down with it.
    let decoded = std::panic::catch_unwind(|| ParquetMetaDataReader::decode_metadata(metadata))
        .map_err(|_| "the footer cannot be decoded".to_string())?
        .map_err(|e| format!("the footer cannot be decoded: {e}"))?;
    let schema = schema::from_parquet(decoded.file_metadata().schema())?;
    let stats = super::stats::stats_json(&decoded);
    let stats = StatsJson::from_text(&stats).ok_or("statistics cannot be encoded")?;
    Ok(Tail::Footer(FooterInfo { schema: Arc::new(schema), stats }))
}
