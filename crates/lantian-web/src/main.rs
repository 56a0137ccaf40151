use std::process::ExitCode;

use clap::Parser;
use lantian_web::cli::{Cli, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One TLS crypto provider for the whole process (server, database, HTTP clients).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lantian: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear message, with its causes, never a panic trace.
            eprintln!("lantian: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
