//! Prints one GCS V4 signed GET URL. The check `tests/e2e/test_gcs_oracle.py` compares its output
//! with the URL that Google's own `google-cloud-storage` Python library signs for the same input.
//!
//! ```text
//! cargo run --example gcs_signed_url -- --bucket B (--object NAME | --object-hex HEX)
//!     [--timestamp YYYYMMDDTHHMMSSZ | RFC3339] [--ttl SECONDS] [--endpoint URL]
//!     [--virtual-hosted | --bucket-bound-hostname] [--batch]
//! ```
//!
//! The key comes from the environment, never the command line: `GCS_SERVICE_ACCOUNT_KEY_FILE` (path
//! of a service-account JSON key, signs `GOOG4-RSA-SHA256`), or else `GCS_HMAC_ACCESS_ID` and
//! `GCS_HMAC_SECRET` (signs `GOOG4-HMAC-SHA256`). `--object-hex` gives the object name as the hex of
//! its UTF-8 bytes, so any name passes through a shell unchanged. Without `--timestamp` the URL is
//! signed at the current time; `--ttl` defaults to 300 seconds. `--bucket-bound-hostname` treats
//! `--endpoint` as the bucket's own host name. `--batch` signs through the batch path
//! (`GcsPresigner::batch` + `presign_get`) instead of `GcsPresigner::presign`.

use std::process::ExitCode;
use std::sync::Arc;

use opensharing::signing::gcs::{
    GcsCredentials, GcsLocation, GcsPresigner, GcsRequest, GcsUrlStyle, HmacKey, ServiceAccountKey,
};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, PrimitiveDateTime};

struct Args {
    bucket: String,
    object: Option<String>,
    timestamp: Option<OffsetDateTime>,
    ttl: u32,
    endpoint: Option<String>,
    style: GcsUrlStyle,
    batch: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bucket: String::new(),
        object: None,
        timestamp: None,
        ttl: 300,
        endpoint: None,
        style: GcsUrlStyle::PathStyle,
        batch: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--batch" => {
                args.batch = true;
                continue;
            }
            "--virtual-hosted" | "--bucket-bound-hostname" => {
                if args.style != GcsUrlStyle::PathStyle {
                    return Err("give --virtual-hosted or --bucket-bound-hostname, not both".into());
                }
                args.style = if flag == "--virtual-hosted" {
                    GcsUrlStyle::VirtualHosted
                } else {
                    GcsUrlStyle::BucketBoundHostname
                };
                continue;
            }
            _ => {}
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bucket" => args.bucket = value,
            "--object" | "--object-hex" if args.object.is_some() => {
                return Err("give one --object or --object-hex".into())
            }
            "--object" => args.object = Some(value),
            "--object-hex" => args.object = Some(decode_hex_utf8(&value)?),
            "--timestamp" => args.timestamp = Some(parse_time(&value)?),
            "--ttl" => args.ttl = value.parse().map_err(|_| "--ttl takes whole seconds, 1..=604800".to_string())?,
            "--endpoint" => args.endpoint = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.bucket.is_empty() {
        return Err("--bucket is required".into());
    }
    Ok(args)
}

/// The UTF-8 text whose bytes are the hex string `hex`.
fn decode_hex_utf8(hex: &str) -> Result<String, String> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("--object-hex takes an even number of hex digits".into());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| "--object-hex takes hex digits".to_string())?;
    String::from_utf8(bytes).map_err(|_| "--object-hex is not the hex of UTF-8 text".to_string())
}

/// `YYYYMMDDTHHMMSSZ` (the `X-Goog-Date` form) or RFC 3339.
fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    let compact = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    PrimitiveDateTime::parse(text, compact)
        .map(PrimitiveDateTime::assume_utc)
        .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
        .map_err(|_| format!("--timestamp {text:?} is neither YYYYMMDDTHHMMSSZ nor RFC 3339"))
}

fn credentials() -> Result<GcsCredentials, String> {
    if let Some(path) = std::env::var_os("GCS_SERVICE_ACCOUNT_KEY_FILE") {
        let json = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read GCS_SERVICE_ACCOUNT_KEY_FILE {}: {e}", path.to_string_lossy()))?;
        let key = ServiceAccountKey::from_json(&json).map_err(|e| e.to_string())?;
        return Ok(GcsCredentials::ServiceAccount(Arc::new(key)));
    }
    match (std::env::var("GCS_HMAC_ACCESS_ID"), std::env::var("GCS_HMAC_SECRET")) {
        (Ok(id), Ok(secret)) => HmacKey::new(&id, &secret).map(GcsCredentials::Hmac).map_err(|e| e.to_string()),
        _ => Err("set GCS_SERVICE_ACCOUNT_KEY_FILE, or GCS_HMAC_ACCESS_ID and GCS_HMAC_SECRET".into()),
    }
}

fn run() -> Result<String, String> {
    let args = parse_args()?;
    let object = args.object.as_deref().ok_or("give --object or --object-hex")?;
    let location = GcsLocation::new(&args.bucket, args.endpoint.as_deref(), args.style).map_err(|e| e.to_string())?;
    let presigner = GcsPresigner::new(location, credentials()?);
    let now = args.timestamp.unwrap_or_else(OffsetDateTime::now_utc);
    if args.batch {
        let batch = presigner.batch(now, args.ttl).map_err(|e| e.to_string())?;
        let mut url = String::new();
        batch.presign_get(object, &mut url).map_err(|e| e.to_string())?;
        return Ok(url);
    }
    let presigned = presigner.presign(&GcsRequest::get(object, args.ttl), now).map_err(|e| e.to_string())?;
    Ok(presigned.url)
}

fn main() -> ExitCode {
    match run() {
        Ok(url) => {
            println!("{url}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gcs_signed_url: {e}");
            ExitCode::from(2)
        }
    }
}
