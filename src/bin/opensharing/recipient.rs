//! `opensharing recipient add`: makes a token, prints it once, stores only its hash.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use opensharing::auth::token_sha256_hex;
use opensharing::protocol::timestamp::parse_rfc3339_ms;
use opensharing::{Catalog, Engine};
use ring::rand::{SecureRandom, SystemRandom};

use crate::cli::RecipientArgs;

/// Adds a recipient to the configuration file and writes its profile.
pub fn add(args: &RecipientArgs) -> Result<(), String> {
    let path = &args.config;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut config: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let expires_ms = match &args.expires {
        Some(ts) => Some(parse_rfc3339_ms(ts).ok_or_else(|| format!("--expires '{ts}' is not an RFC 3339 time"))?),
        None => None,
    };
    let mut secret = [0u8; 32];
    SystemRandom::new().fill(&mut secret).map_err(|_| "the system random generator failed".to_string())?;
    let token = URL_SAFE_NO_PAD.encode(secret);
    let mut recipient = serde_json::json!({
        "name": args.name,
        "token_sha256": token_sha256_hex(&token),
        "shares": args.shares,
    });
    if let Some(ts) = &args.expires {
        recipient["expires_at"] = ts.clone().into();
    }
    let recipients = config
        .as_object_mut()
        .ok_or("the configuration is not a JSON object")?
        .entry("recipients")
        .or_insert_with(|| serde_json::json!([]));
    recipients.as_array_mut().ok_or("`recipients` is not a list")?.push(recipient);
    let updated = serde_json::to_string_pretty(&config).map_err(|e| e.to_string())?;
    let catalog = Catalog::from_json(updated.as_bytes(), &|k| std::env::var(k).ok()).map_err(|e| e.to_string())?;
    let engine = Engine::new(catalog).map_err(|e| e.to_string())?;
    let profile = engine.profile(None, &token, expires_ms);
    // Write the new file beside the old one, then rename: a crash never leaves half a config.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, updated + "\n").map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))?;
    println!("recipient '{}' added to {} (only the token's SHA-256 is stored)", args.name, path.display());
    println!("token (shown once): {token}");
    match (profile, &args.profile) {
        (Some(profile), Some(out)) => {
            std::fs::write(out, profile + "\n").map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            println!("profile written to {}", out.display());
        }
        (None, Some(_)) => return Err("no profile written: set `endpoint` in the configuration".into()),
        _ => {}
    }
    Ok(())
}
