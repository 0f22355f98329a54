//! The `pgbarge` binary: parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = pgbarge::cli::Cli::parse();
    match pgbarge::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            match &e {
                pgbarge::Error::Runtime(inner) => eprintln!("error: {inner:#}"),
                other => eprintln!("error: {other}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}
