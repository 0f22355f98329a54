//! pgbarge: move PostgreSQL databases between servers.
//!
//! # Layout
//! - [`cli`]: clap types only; [`settings`] turns them (plus the config
//!   file and environment) into validated settings once.
//! - [`conn`]: connection strings, `.pgpass`, TLS, session setup.
//! - [`catalog`]: reads a server's catalog (read-only) into typed
//!   definitions (`catalog::model`), and the schema plan as data with its
//!   pure transformations (`catalog::plan`, `catalog::statement`).
//! - [`ddl`]: pure: quoting, the SQL lexer that renames schemas, and the
//!   rendering of typed definitions into statements (`ddl::model` tables
//!   and views, `ddl::post` keys, indexes, triggers, rules, policies).
//! - [`select`]: which tables a command works on (pure).
//! - [`transfer`]: snapshot, ordering, parallel COPY streaming; DDL sent
//!   many statements to a round trip, small tables many to a transaction.
//! - [`archive`]: dumps (directory and SQL), restore, offline checks.
//! - [`verify`], [`inventory`]: a target compared with its source or dump.
//! - [`progress`], [`report`]: what the user sees and keeps.
//!
//! `main` parses, calls [`run`], and maps [`Error`] to an exit code.

pub mod archive;
pub mod catalog;
pub mod clean;
pub mod cli;
pub mod conn;
pub mod ddl;
pub mod error;
pub mod inventory;
pub mod plan;
pub mod progress;
pub mod rehearse;
pub mod report;
pub mod runstate;
pub mod select;
pub mod settings;
pub mod stop;
pub mod transfer;
pub mod verify;

use indicatif::HumanBytes;

pub use error::{Error, Result};

use cli::{Cli, Command};
use report::RunReport;
use settings::CopySettings;

/// Run a parsed command line; returns the exit code for success paths.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Copy(args) => {
            let settings = CopySettings::from_args(&args)?;
            block_on(run_copy(settings))
        }
        Command::Plan(args) => {
            let settings = CopySettings::for_plan(&args)?;
            block_on(run_plan(settings))
        }
        Command::Dump(args) => {
            let settings = archive::dump::DumpSettings::from_args(&args)?;
            block_on(run_dump(settings))
        }
        Command::Restore(args) => {
            let settings = archive::restore::RestoreSettings::from_args(&args)?;
            block_on(run_restore(settings))
        }
        Command::Verify(args) if args.input.is_some() && args.endpoints.target.is_none() => {
            let path = args.input.clone().unwrap_or_default();
            run_check(&path, args.report.as_deref())
        }
        Command::Verify(args) if args.input.is_some() => {
            let path = args.input.clone().unwrap_or_default();
            let settings = settings::ArchiveVerifySettings::from_args(&args, &path)?;
            block_on(async {
                let report = tokio::select! {
                    r = verify::verify_archive(&settings) => r?,
                    _ = stop::wait() => return Err(Error::Interrupted),
                };
                conclude_verify(&report, settings.report.as_deref())
            })
        }
        Command::Verify(args) => {
            let settings = settings::VerifySettings::from_args(&args)?;
            block_on(run_verify(settings))
        }
        Command::Clean(args) => {
            let settings = clean::CleanSettings::from_args(&args)?;
            block_on(async {
                tokio::select! {
                    r = clean::clean(&settings) => r,
                    _ = stop::wait() => Err(Error::Interrupted),
                }
            })
        }
    }
}

async fn run_dump(s: archive::dump::DumpSettings) -> Result<u8> {
    let r = tokio::select! {
        r = archive::dump::dump(&s) => r?,
        _ = stop::wait() => return Err(Error::Interrupted),
    };
    if let Some(path) = &s.report {
        report::write_json(path, &r)?;
    }
    let rows: Vec<[String; 6]> = r
        .manifest
        .tables
        .iter()
        .map(|t| {
            [
                t.name.to_string(),
                t.rows_cell(),
                HumanBytes(t.bytes).to_string(),
                HumanBytes(t.compressed_bytes).to_string(),
                match (t.has_data, t.parts.len()) {
                    (false, _) => "-".into(),
                    (true, n) if n > 1 => format!("{}, {n} files", t.format),
                    (true, _) => t.format.clone(),
                },
                if t.snapshot.is_some() {
                    "dumped (earlier run)"
                } else if t.has_data {
                    "dumped"
                } else {
                    "definition only"
                }
                .into(),
            ]
        })
        .collect();
    if !s.quiet {
        print_columns(
            ["table", "rows", "bytes", "stored", "format", "status"],
            &rows,
        );
    }
    let raw: u64 = r.manifest.tables.iter().map(|t| t.bytes).sum();
    println!(
        "dumped {}, {}, {} of COPY data into {} ({}, {}) in {:.2}s",
        report::counted(r.manifest.tables.len() as u64, "table"),
        report::counted(r.manifest.tables.iter().map(|t| t.rows).sum::<u64>(), "row"),
        HumanBytes(raw),
        r.output.display(),
        HumanBytes(r.size),
        r.manifest.compression,
        r.seconds
    );
    Ok(error::exit::OK)
}

async fn run_restore(s: archive::restore::RestoreSettings) -> Result<u8> {
    // The restore watches for Ctrl-C itself (see `stop`): it rolls back
    // the loads in flight and drops what it created.
    let report = archive::restore::restore(&s).await?;
    if s.dry_run {
        return Ok(error::exit::OK);
    }
    if let Some(path) = &s.report {
        report.write(path)?;
    }
    print_summary(&report);
    Ok(error::exit::OK)
}

/// `verify --input PATH`: the dump alone, offline.
fn run_check(path: &std::path::Path, report: Option<&std::path::Path>) -> Result<u8> {
    if let Some(p) = report {
        report::check_writable(p)?;
    }
    let r = archive::check::check(path)?;
    if let Some(p) = report {
        report::write_json(p, &r)?;
    }
    archive::check::print(&r);
    if r.ok {
        Ok(error::exit::OK)
    } else {
        Err(r.damaged())
    }
}

/// Run a command on a fresh runtime that listens for Ctrl-C and SIGTERM
/// (see `stop`).
fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pgbarge")
        .build()
        .map_err(|e| Error::Runtime(anyhow::anyhow!("starting the async runtime: {e}")))?
        .block_on(async {
            stop::listen();
            f.await
        })
}

async fn run_plan(s: CopySettings) -> Result<u8> {
    let report = tokio::select! {
        r = plan::plan(&s) => r?,
        _ = stop::wait() => return Err(Error::Interrupted),
    };
    if s.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::Runtime(anyhow::anyhow!("serialising the plan: {e}")))?;
        println!("{json}");
    } else {
        plan::print(&report);
    }
    if report.blockers == 0 {
        Ok(error::exit::OK)
    } else {
        Err(Error::Mismatch(format!(
            "the plan has {}; the copy would not run",
            report::counted(report.blockers as u64, "blocker")
        )))
    }
}

async fn run_copy(s: CopySettings) -> Result<u8> {
    if s.dry_run {
        return run_plan(s).await;
    }
    if s.rehearse {
        return if rehearse::rehearse(&s).await? {
            Ok(error::exit::OK)
        } else {
            Err(Error::Mismatch(
                "the rehearsal's verification found differences (listed above)".into(),
            ))
        };
    }
    // The copy watches for Ctrl-C itself (see `stop`): it rolls back the
    // loads in flight and undoes or reports what it made.
    let report = transfer::copy(&s).await?;
    if let Some(path) = &s.report {
        report.write(path)?;
    }
    print_summary(&report);
    if report.interrupted {
        eprintln!(
            "interrupted; on the target: {}",
            report.left_on_target.as_deref().unwrap_or("unknown")
        );
        return Err(Error::Interrupted);
    }
    if report.ok && s.verify {
        return run_verify(settings::VerifySettings::after_copy(&s)).await;
    }
    if report.ok {
        Ok(error::exit::OK)
    } else {
        let failed: Vec<String> = report
            .tables
            .iter()
            .filter(|t| t.status != "ok" && t.status != "data-excluded")
            .map(|t| {
                format!(
                    "{} ({}): {}",
                    t.target,
                    t.status,
                    t.error.as_deref().unwrap_or("not loaded")
                )
            })
            .collect();
        Err(Error::Runtime(anyhow::anyhow!(
            "{} of {} tables were not copied; left on the target: {}:\n  {}",
            failed.len(),
            report.tables.len(),
            report.left_on_target.as_deref().unwrap_or("unknown"),
            failed.join("\n  ")
        )))
    }
}

async fn run_verify(s: settings::VerifySettings) -> Result<u8> {
    let report = tokio::select! {
        r = verify::verify(&s) => r?,
        _ = stop::wait() => return Err(Error::Interrupted),
    };
    conclude_verify(&report, s.report.as_deref())
}

/// Write the report, print it, and exit 0 when all matched, 1 when not.
fn conclude_verify(report: &verify::VerifyReport, json: Option<&std::path::Path>) -> Result<u8> {
    if let Some(path) = json {
        report::write_json(path, report)?;
    }
    print_verify(report);
    if report.ok {
        return Ok(error::exit::OK);
    }
    let n = report
        .tables
        .iter()
        .filter(|t| !t.problems.is_empty())
        .count();
    Err(Error::Mismatch(format!(
        "the target differs from the {}: {n} of {} tables{}",
        if report.input.is_some() {
            "dump"
        } else {
            "source"
        },
        report.tables.len(),
        if report.problems.is_empty() {
            String::new()
        } else {
            format!(", and {} other problem(s)", report.problems.len())
        }
    )))
}

/// One line per table; only the problems are spelled out.
pub(crate) fn print_verify(r: &verify::VerifyReport) {
    let count = |n: Option<i64>| n.map_or("-".to_string(), |n| n.to_string());
    let rows: Vec<[String; 4]> = r
        .tables
        .iter()
        .map(|t| {
            [
                t.target.clone(),
                count(t.source_rows),
                count(t.target_rows),
                t.status.clone(),
            ]
        })
        .collect();
    let head = [
        "table",
        if r.input.is_some() {
            "dump rows"
        } else {
            "source rows"
        },
        "target rows",
        if r.checksums { "rows+checksum" } else { "rows" },
    ];
    print_columns(head, &rows);
    for t in r.tables.iter().filter(|t| !t.problems.is_empty()) {
        for p in &t.problems {
            println!("  {}: {p}", t.target);
        }
    }
    for p in &r.problems {
        println!("  {p}");
    }
    // Tables are those with rows of their own, as copy and dump count
    // them; partitioned tables are counted apart.
    let parents = r.tables.iter().filter(|t| t.partitioned).count();
    let tables = r.tables.len() - parents;
    let and_parents = match parents {
        0 => String::new(),
        1 => ", and 1 partitioned table over them".into(),
        n => format!(", and {n} partitioned tables over them"),
    };
    if r.ok {
        let match_ = match tables {
            1 => "1 table matches".to_string(),
            n => format!("{n} tables match"),
        };
        println!(
            "{match_}{}{and_parents}",
            if r.checksums {
                " (rows and checksums)"
            } else {
                " (row counts)"
            }
        );
    } else {
        let bad = r
            .tables
            .iter()
            .filter(|t| !t.problems.is_empty() && !t.partitioned)
            .count();
        let bad_parents = r
            .tables
            .iter()
            .filter(|t| !t.problems.is_empty() && t.partitioned)
            .count();
        let parents_note = if bad_parents > 0 {
            format!(" ({bad_parents} of {parents} partitioned tables differ too)")
        } else {
            String::new()
        };
        println!("{bad} of {tables} tables differ{parents_note}");
    }
}

/// The per-table summary, on stdout.
/// An aligned table on stdout: the first and last columns left-aligned,
/// the ones between (numbers) right-aligned; no trailing spaces.
pub(crate) fn print_columns<const N: usize>(head: [&str; N], rows: &[[String; N]]) {
    // No rows, no header: the summary line after it says "0 tables".
    if rows.is_empty() {
        return;
    }
    // Cells hold names from servers and archives: one line each, inert.
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|r| r.clone().map(|c| ddl::quote::comment_text(&c)))
        .collect();
    let rows = &rows[..];
    let mut w = head.map(|h| h.chars().count());
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let parts: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i == 0 || i == N - 1 {
                    format!("{c:<width$}", width = w[i])
                } else {
                    format!("{c:>width$}", width = w[i])
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    println!("{}", line(head));
    for row in rows {
        println!("{}", line(std::array::from_fn(|i| row[i].as_str())));
    }
}

pub fn print_summary(r: &RunReport) {
    let rows: Vec<[String; 5]> = r
        .tables
        .iter()
        .map(|t| {
            [
                t.target.clone(),
                if t.status == "ok" {
                    t.rows.to_string()
                } else {
                    t.status.clone()
                },
                HumanBytes(t.bytes).to_string(),
                if t.earlier {
                    "earlier run".into()
                } else {
                    format!("{:.2}", t.seconds)
                },
                t.format.clone(),
            ]
        })
        .collect();
    let head = ["table", "rows", "bytes", "seconds", "format"];
    print_columns(head, &rows);
    if let Some(sc) = &r.schema {
        println!(
            "schema: {} statements before the rows ({:.2}s); {} keys and indexes, {} other \
             statements, {} owner/grant statements and {} sequences after them ({:.2}s)",
            sc.statements_before_rows,
            sc.seconds_before_rows,
            sc.keys_and_indexes,
            sc.statements_after_rows,
            sc.access_statements,
            sc.sequences_set,
            sc.seconds_after_rows
        );
    }
    let earlier = r.tables.iter().filter(|t| t.earlier).count();
    if earlier > 0 {
        println!(
            "resumed: {earlier} tables were loaded by the interrupted run (in its snapshot), the \
             others by this one"
        );
    }
    println!(
        "{}, {}, {} of COPY data in {:.2}s",
        report::counted(r.tables.len() as u64, "table"),
        report::counted(r.total_rows, "row"),
        HumanBytes(r.total_bytes),
        r.seconds
    );
}
