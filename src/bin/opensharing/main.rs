//! `opensharing`: the reference host. It drives the libopensharing engine over HTTP with tokio
//! and hyper, and answers the engine's IO needs with object_store. No protocol logic lives here.
//!
//! ```text
//! opensharing serve --config FILE [--listen 127.0.0.1:8080]
//! opensharing recipient add NAME --share S [--share S2] [--expires RFC3339] --config FILE [--profile OUT]
//! opensharing check --config FILE
//! ```

mod body;
mod check;
mod cli;
mod config_file;
mod files;
mod http_call;
mod limits;
mod log;
mod recipient;
mod reload;
mod serve;
mod service;
mod storage;

use std::process::ExitCode;

fn main() -> ExitCode {
    // One crypto library in the binary: ring, for the TLS of remote stores too.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli::parse(std::env::args().skip(1)) {
        Ok(cli::Command::Serve { config, listen }) => serve::run(&config, &listen, limits::Limits::defaults()),
        Ok(cli::Command::RecipientAdd(args)) => recipient::add(&args),
        Ok(cli::Command::Check { config }) => check::run(&config),
        Ok(cli::Command::Help) => {
            println!("{}", cli::USAGE);
            Ok(())
        }
        Err(e) => Err(format!("{e}\n\n{}", cli::USAGE)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("opensharing: {message}");
            ExitCode::FAILURE
        }
    }
}
