//! Command-line arguments.

use std::path::PathBuf;

/// The usage text.
pub const USAGE: &str = "usage:
  opensharing serve --config FILE [--listen ADDR]          serve the configuration (default 127.0.0.1:8080)
  opensharing recipient add NAME --share S [--share S]... [--expires RFC3339] --config FILE [--profile OUT]
                                                           add a recipient: prints its token once, stores only the hash
  opensharing check --config FILE                          check every store's endpoint, region and credentials";

/// What to do.
pub enum Command {
    /// Serve a configuration.
    Serve { config: PathBuf, listen: String },
    /// Add a recipient.
    RecipientAdd(RecipientArgs),
    /// Check the stores.
    Check { config: PathBuf },
    /// Print usage.
    Help,
}

/// `recipient add` arguments.
pub struct RecipientArgs {
    pub name: String,
    pub shares: Vec<String>,
    pub expires: Option<String>,
    pub config: PathBuf,
    pub profile: Option<PathBuf>,
}

/// Parses the arguments after the program name.
pub fn parse(args: impl Iterator<Item = String>) -> Result<Command, String> {
    let args: Vec<String> = args.collect();
    let (verb, rest) = args.split_first().ok_or("no command given")?;
    let mut positional = Vec::new();
    let mut config = None;
    let mut listen = None;
    let mut shares = Vec::new();
    let mut expires = None;
    let mut profile = None;
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().cloned().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(value("--config")?)),
            "--listen" => listen = Some(value("--listen")?),
            "--share" => shares.push(value("--share")?),
            "--expires" => expires = Some(value("--expires")?),
            "--profile" => profile = Some(PathBuf::from(value("--profile")?)),
            "-h" | "--help" => return Ok(Command::Help),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            other => positional.push(other.to_string()),
        }
    }
    let config = || config.clone().ok_or_else(|| "--config FILE is required".to_string());
    match (verb.as_str(), positional.as_slice()) {
        ("serve", []) => {
            Ok(Command::Serve { config: config()?, listen: listen.unwrap_or_else(|| "127.0.0.1:8080".into()) })
        }
        ("check", []) => Ok(Command::Check { config: config()? }),
        ("recipient", [sub, name]) if sub == "add" => {
            if shares.is_empty() {
                return Err("recipient add needs at least one --share".into());
            }
            Ok(Command::RecipientAdd(RecipientArgs { name: name.clone(), shares, expires, config: config()?, profile }))
        }
        ("help" | "-h" | "--help", _) => Ok(Command::Help),
        _ => Err(format!("unknown command: {}", args.join(" "))),
    }
}
