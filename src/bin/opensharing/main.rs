//! `opensharing`: the reference host. It drives the libopensharing engine over HTTP with tokio
//! and hyper, and answers the engine's IO needs with object_store. No protocol logic lives here.
//!
//! ```text
//! opensharing serve --config FILE [--listen 127.0.0.1:8080]
//! opensharing recipient add NAME --share S [--share S2] [--expires RFC3339] --config FILE [--profile OUT]
//! opensharing recipient rotate NAME [--grace 24h] --config FILE [--profile OUT]
//! opensharing recipient revoke NAME --config FILE
//! opensharing check --config FILE
//! opensharing get PROFILE#share.schema.asset [--version N | --alias A] --out DIR [--parallel 8]
//! opensharing ls PROFILE[#share[.schema]]
//! ```
//! `opensharing help` (or `--help` after any command) describes every option.

mod access_line;
mod body;
mod check;
mod cli;
mod client;
mod config_file;
mod files;
mod get;
mod http_call;
mod limits;
mod local_list;
mod log;
mod ls;
mod recipient;
mod reload;
mod serve;
mod service;
mod storage;

use std::process::ExitCode;

use clap::Parser as _;

use cli::{Cli, Command, RecipientCommand};

fn main() -> ExitCode {
    // One crypto library in the binary: ring, for the TLS of remote stores too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match Cli::parse().command {
        Command::Serve { config, listen, limits } => serve::run(&config, &listen, limits.into()),
        Command::Recipient(RecipientCommand::Add(args)) => recipient::add(&args),
        Command::Recipient(RecipientCommand::Rotate(args)) => recipient::rotate(&args),
        Command::Recipient(RecipientCommand::Revoke { name, config }) => recipient::revoke(&name, &config),
        Command::Check { config } => check::run(&config),
        Command::Get(args) => get::run(&args),
        Command::Ls { target } => ls::run(&target),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("opensharing: {message}");
            ExitCode::FAILURE
        }
    }
}
