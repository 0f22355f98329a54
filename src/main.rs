//! The `pgbarge` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pgbarge::cli::Cli::parse();
    match pgbarge::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Names in a message come from servers and archives.
            let text = match &e {
                pgbarge::Error::Runtime(inner) => format!("{inner:#}"),
                other => other.to_string(),
            };
            eprintln!("error: {}", pgbarge::ddl::quote::terminal_text(&text));
            ExitCode::from(e.exit_code())
        }
    }
}
