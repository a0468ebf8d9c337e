//! Prints one Azure SAS URL. The live check `tests/e2e/test_azurite_sas.py` drives it against
//! Azurite.
//!
//! ```text
//! cargo run --example azure_sas_url -- --endpoint URL --account NAME --container C
//!     [--blob NAME | --directory PATH] [--permissions LETTERS] [--ttl SECONDS] [--version V] [--batch]
//! ```
//!
//! The key comes from the environment, never the command line: `AZURE_STORAGE_KEY` (account key,
//! base64) or `AZURE_USER_DELEGATION_KEY` (JSON: `signed_oid`, `signed_tid`, `signed_start`,
//! `signed_expiry`, `signed_service`, `signed_version`, `value`). A negative `--ttl` gives an
//! expired SAS. `--batch` signs a blob URL through the read-only batch path instead.

use std::process::ExitCode;

use opensharing::signing::azure::{
    AzureBlobPresigner, BlobEndpoint, SasCredential, SasParams, SasResource, SasSigner, SigningKey, UserDelegationKey,
    DEFAULT_VERSION,
};
use time::OffsetDateTime;

struct Args {
    endpoint: String,
    account: String,
    container: String,
    blob: Option<String>,
    directory: Option<String>,
    permissions: String,
    ttl: i64,
    version: String,
    batch: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoint: String::new(),
        account: String::new(),
        container: String::new(),
        blob: None,
        directory: None,
        permissions: "r".into(),
        ttl: 300,
        version: DEFAULT_VERSION.into(),
        batch: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--batch" {
            args.batch = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--endpoint" => args.endpoint = value,
            "--account" => args.account = value,
            "--container" => args.container = value,
            "--blob" => args.blob = Some(value),
            "--directory" => args.directory = Some(value),
            "--permissions" => args.permissions = value,
            "--ttl" => args.ttl = value.parse().map_err(|_| "--ttl takes whole seconds".to_string())?,
            "--version" => args.version = value,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn credential() -> Result<SasCredential, String> {
    if let Ok(key) = std::env::var("AZURE_STORAGE_KEY") {
        return SigningKey::from_base64(&key).map(SasCredential::AccountKey).map_err(|e| e.to_string());
    }
    let json = std::env::var("AZURE_USER_DELEGATION_KEY")
        .map_err(|_| "set AZURE_STORAGE_KEY or AZURE_USER_DELEGATION_KEY".to_string())?;
    let fields: serde_json::Value =
        serde_json::from_str(&json).map_err(|_| "AZURE_USER_DELEGATION_KEY is not JSON".to_string())?;
    let text = |k: &str| {
        fields.get(k).and_then(|v| v.as_str()).map(String::from).ok_or(format!("user delegation key lacks {k}"))
    };
    Ok(SasCredential::UserDelegation(Box::new(UserDelegationKey {
        signed_oid: text("signed_oid")?,
        signed_tid: text("signed_tid")?,
        signed_start: text("signed_start")?,
        signed_expiry: text("signed_expiry")?,
        signed_service: text("signed_service")?,
        signed_version: text("signed_version")?,
        signed_delegated_user_tid: None,
        value: SigningKey::from_base64(&text("value")?).map_err(|e| e.to_string())?,
    })))
}

fn run() -> Result<String, String> {
    let args = parse_args()?;
    let endpoint = BlobEndpoint::parse(&args.endpoint).map_err(|e| e.to_string())?;
    let signer = SasSigner::new(&args.account, credential()?).map_err(|e| e.to_string())?;
    let now = OffsetDateTime::now_utc();
    let container = args.container.as_str();
    if args.batch {
        let blob = args.blob.as_deref().ok_or("--batch needs --blob")?;
        let ttl = u32::try_from(args.ttl).map_err(|_| "--batch needs a positive --ttl")?;
        let presigner = AzureBlobPresigner::new(endpoint, signer, container).map_err(|e| e.to_string())?;
        return presigner.batch(now, ttl).and_then(|b| b.url(blob)).map_err(|e| e.to_string());
    }
    let resource = match (args.blob.as_deref(), args.directory.as_deref()) {
        (Some(blob), None) => SasResource::Blob { container, blob },
        (None, Some(path)) => SasResource::Directory { container, path },
        (None, None) => SasResource::Container { container },
        (Some(_), Some(_)) => return Err("give --blob or --directory, not both".into()),
    };
    let expiry = now + time::Duration::seconds(args.ttl);
    let params =
        SasParams { version: &args.version, permissions: &args.permissions, ..SasParams::read(resource, expiry) };
    let token = signer.sign(&params).map_err(|e| e.to_string())?;
    Ok(endpoint.url(&resource, &token))
}

fn main() -> ExitCode {
    match run() {
        Ok(url) => {
            println!("{url}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("azure_sas_url: {e}");
            ExitCode::from(2)
        }
    }
}
