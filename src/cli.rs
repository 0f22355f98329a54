//! Command-line types (clap derive) and nothing else.
//!
//! These structs mirror the command-line contract in DESIGN.md. They are
//! turned into a validated [`crate::settings`] value once; core code never
//! sees them. Option groups shared by several commands are flattened.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Connection strings are postgres:// URLs or libpq key=value strings. PGHOST,
PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT,
PGSSLKEY and ~/.pgpass (or PGPASSFILE) apply as they do for psql.
PGBARGE_SOURCE and PGBARGE_TARGET are defaults for --source and --target.

Exit codes: 0 ok, 1 verify mismatch or plan blockers, 2 bad usage or input,
3 runtime failure (connection, SQL, I/O), 130 interrupted.";

#[derive(Debug, Parser)]
#[command(
    name = "pgbarge",
    version,
    about = "Move PostgreSQL databases between servers",
    long_about = "pgbarge moves PostgreSQL databases between servers: it streams tables over \
the COPY protocol in parallel from one consistent snapshot, and needs no pg_dump, psql or libpq.",
    after_help = AFTER_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what a copy would do and what would break, writing nothing
    Plan(PlanArgs),
    /// Copy tables from a source server to a target server
    #[command(after_help = COPY_EXAMPLES)]
    Copy(CopyArgs),
    /// Write a compressed dump (a directory, or a SQL script psql can restore)
    #[command(after_help = DUMP_EXAMPLES)]
    Dump(DumpArgs),
    /// Restore a dump into a target server, checking every table's checksum
    #[command(after_help = RESTORE_EXAMPLES)]
    Restore(RestoreArgs),
    /// Compare a target with its source: rows, checksums, constraints, indexes, sequences
    Verify(VerifyArgs),
    /// Remove what unfinished runs left on a target: their objects and
    /// state, and rehearsal databases (lists them and asks first)
    Clean(CleanArgs),
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Target connection string [default: $PGBARGE_TARGET]
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Remove without asking
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub common: CommonOpts,
}

const DUMP_EXAMPLES: &str = "\
Examples:
  pgbarge dump --source \"$DB\" --output backups/app-2026-11-21 --compress zstd:3
  pgbarge dump --source \"$DB\" --format sql --output app.sql.gz
  gunzip -c app.sql.gz | psql \"$OTHER\"
  pgbarge verify --input backups/app-2026-11-21

The dump is written under a hidden name beside PATH and renamed when complete;
its files are readable by their owner only.";

const COPY_EXAMPLES: &str = "\
Examples:
  # Move schema local_app (objects and rows) into public on an empty target
  pgbarge copy --source postgres://me@localhost/app --target \"$TARGET_URL\" \\
      --schema local_app --schema-map local_app=public --no-owner --no-privileges

  # Stream every table of schema app into existing tables on the target
  pgbarge copy --data-only --source postgres://me@localhost/app \\
      --target 'postgres://postgres@db.example.com/postgres?sslmode=require' \\
      --schema app --exclude-table 'app.audit_*' --jobs 4 --report run.json

  # Same, from a configuration file, replacing what the target tables hold
  pgbarge copy --config move.toml --data-only --truncate

Passwords belong in ~/.pgpass or PGPASSWORD, not on the command line.";

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct CommonOpts {
    /// TOML configuration file with the same keys as the flags (flags win)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print only errors and the final summary
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Declare a connection dead when a table's rows stop moving for this
    /// many seconds (a dropped link, a stalled proxy); 0 waits forever
    #[arg(long, value_name = "SECS")]
    pub stall_timeout: Option<u64>,
}

/// Which tables a command works on. Patterns are globs on `schema.table`
/// (a table pattern without a dot matches the table name in any schema).
#[derive(Debug, Args, Clone, Default)]
pub struct SelectOpts {
    /// Only schemas matching GLOB (repeatable)
    #[arg(long = "schema", short = 'n', value_name = "GLOB")]
    pub schema: Vec<String>,
    /// Leave out schemas matching GLOB (repeatable)
    #[arg(long = "exclude-schema", short = 'N', value_name = "GLOB")]
    pub exclude_schema: Vec<String>,
    /// Only tables matching GLOB, as schema.table or table (repeatable)
    #[arg(long = "table", short = 't', value_name = "GLOB")]
    pub table: Vec<String>,
    /// Leave out tables matching GLOB (repeatable)
    #[arg(long = "exclude-table", short = 'T', value_name = "GLOB")]
    pub exclude_table: Vec<String>,
    /// Keep the table's definition but copy none of its rows (repeatable)
    #[arg(long = "exclude-table-data", value_name = "GLOB")]
    pub exclude_table_data: Vec<String>,
    /// Leave out the objects of a kind: large-object, or security-label (which
    /// pgbarge cannot recreate yet; without it they stop the run before
    /// anything is written) (repeatable)
    #[arg(long = "leave-out", value_name = "KIND")]
    pub leave_out: Vec<String>,
}

/// Schema renaming.
#[derive(Debug, Args, Clone, Default)]
pub struct MapOpts {
    /// Rename schema SRC to DST on the way (repeatable)
    #[arg(long = "schema-map", value_name = "SRC=DST")]
    pub schema_map: Vec<String>,
}

#[derive(Debug, Args, Clone, Default)]
pub struct EndpointOpts {
    /// Source connection string [default: $PGBARGE_SOURCE]
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// Target connection string [default: $PGBARGE_TARGET]
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyFormat {
    /// Binary where portable and fastest, text elsewhere (per table)
    Auto,
    /// Binary wherever it is portable; text only where it is not
    Binary,
    /// Text everywhere
    Text,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    #[command(flatten)]
    pub endpoints: EndpointOpts,
    #[command(flatten)]
    pub select: SelectOpts,
    #[command(flatten)]
    pub map: MapOpts,
    #[command(flatten)]
    pub common: CommonOpts,
    /// Parallel workers [default: twice the number of CPUs, at least 2, at most 8]
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Create the schema only, copy no rows
    #[arg(long, conflicts_with = "data_only")]
    pub schema_only: bool,
    /// Copy rows into tables that already exist on the target
    #[arg(long)]
    pub data_only: bool,
    /// Replace the rows of target tables that are not empty (and the contents of large objects the target has under the source's oids)
    #[arg(long)]
    pub truncate: bool,
    /// Drop the selected objects that exist on the target and recreate them (asks first)
    #[arg(long)]
    pub clean: bool,
    /// Answer yes to the --clean confirmation
    #[arg(long)]
    pub yes: bool,
    /// Do not set owners: new objects belong to the role pgbarge connects as
    #[arg(long)]
    pub no_owner: bool,
    /// Do not copy grants (GRANT/REVOKE) of the copied objects
    #[arg(long)]
    pub no_privileges: bool,
    /// COPY encoding: auto picks per table [default: auto]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<CopyFormat>,
    /// Load with session_replication_role=replica so no trigger or foreign key fires
    #[arg(long)]
    pub disable_triggers: bool,
    /// Leave the target's foreign keys in place while loading: checked row by
    /// row (slower), but no exclusive lock on the tables they reference
    #[arg(long)]
    pub keep_foreign_keys: bool,
    /// Copy without a consistent snapshot (for sources that cannot export one)
    #[arg(long)]
    pub no_snapshot: bool,
    /// Rewrite mapped schema names inside function bodies too
    #[arg(long)]
    pub rewrite_function_bodies: bool,
    /// Settings for a target platform: supabase (see the README)
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Say what the copy would do and what would stop it; write nothing (as `pgbarge plan`)
    #[arg(long)]
    pub dry_run: bool,
    /// Rehearse: copy into a scratch database on the target server, verify it, drop it
    #[arg(long)]
    pub rehearse: bool,
    /// Continue an interrupted or failed copy into this target: tables it
    /// loaded stay, the rest load now (in a new snapshot)
    #[arg(long, conflicts_with_all = ["clean", "dry_run", "rehearse"])]
    pub resume: bool,
    /// After the copy, run `verify --checksums` on what was copied
    #[arg(long)]
    pub verify: bool,
    /// Write a JSON run report to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("exclude_table_data", |a| a.help(
        "Plan a copy that keeps the table's definition but moves none of its rows (repeatable)"
    )),
    mut_arg("schema_map", |a| a.help(
        "Plan a copy that renames schema SRC to DST on the target (repeatable)"
    ))
)]
pub struct PlanArgs {
    #[command(flatten)]
    pub endpoints: EndpointOpts,
    #[command(flatten)]
    pub select: SelectOpts,
    #[command(flatten)]
    pub map: MapOpts,
    #[command(flatten)]
    pub common: CommonOpts,
    /// Settings for a target platform: supabase (see the README)
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// Plan a rows-only copy into existing tables
    #[arg(long)]
    pub data_only: bool,
    /// Plan a copy that replaces the rows of non-empty target tables
    #[arg(long)]
    pub truncate: bool,
    /// Plan a copy without owners (no roles needed on the target)
    #[arg(long)]
    pub no_owner: bool,
    /// Plan a copy without grants
    #[arg(long)]
    pub no_privileges: bool,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// A directory: manifest, DDL files and one compressed file per table
    Dir,
    /// One plain SQL script that psql restores (.sql, .sql.gz, .sql.zst)
    Sql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpDataFormat {
    /// Binary COPY for tables whose column types all have a portable binary
    /// form (directory dumps only), text for the rest
    Auto,
    /// COPY text everywhere (readable with zcat)
    Text,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Source connection string [default: $PGBARGE_SOURCE]
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// Output directory (format dir) or file (format sql)
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Archive layout [default: sql when PATH ends in .sql, .sql.gz or .sql.zst, else dir]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<DumpFormat>,
    /// Replace an existing dump at PATH (only once the new one is complete)
    #[arg(long)]
    pub force: bool,
    /// gzip[:1-9], zstd[:1-19] or none [default: gzip:6, or what PATH's suffix says]
    #[arg(long, value_name = "ALGO[:LEVEL]")]
    pub compress: Option<String>,
    /// How table rows are stored: auto (binary where portable, in directory
    /// dumps) or text; SQL dumps always hold text [default: auto]
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub data_format: Option<DumpDataFormat>,
    /// Directory dumps: split a table's rows into files of about this many
    /// MiB (uncompressed), which restore loads side by side [default: 64]
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub part_size: Option<u64>,
    #[command(flatten)]
    pub select: SelectOpts,
    #[command(flatten)]
    pub map: MapOpts,
    #[command(flatten)]
    pub common: CommonOpts,
    /// Parallel source sessions [default: twice the number of CPUs, at least 2, at most 8]
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Dump without a consistent snapshot (for sources that cannot export one)
    #[arg(long)]
    pub no_snapshot: bool,
    /// Continue an interrupted or failed dump to PATH: tables it wrote
    /// are kept, the rest are read now (in a new snapshot)
    #[arg(long)]
    pub resume: bool,
    /// Write a JSON run report to FILE (the manifest, timing, warnings)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

const RESTORE_EXAMPLES: &str = "\
Examples:
  pgbarge restore --input backups/app-2026-11-21 --target \"$STAGING\" --schema-map app=app_copy
  pgbarge restore --input app.sql.gz --target \"$TARGET\" --dry-run

A SQL-format dump also restores with plain psql: gunzip -c app.sql.gz | psql \"$TARGET\"";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PartLoads {
    /// Side by side where the target has cores to spare: a remote target,
    /// or a local one on a machine with more than two cores per job
    Auto,
    /// Each part of a split table in a session of its own, side by side
    Parallel,
    /// A split table's parts one after another in one session, with FREEZE
    Serial,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The dump: a directory, or a SQL script written by pgbarge dump
    #[arg(long, short = 'i', value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Target connection string [default: $PGBARGE_TARGET]
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// Only the dump's schemas matching GLOB (repeatable)
    #[arg(long, short = 'n', value_name = "GLOB")]
    pub schema: Vec<String>,
    /// Leave out the dump's schemas matching GLOB (repeatable)
    #[arg(long, short = 'N', value_name = "GLOB")]
    pub exclude_schema: Vec<String>,
    /// Only the dump's tables matching GLOB, as schema.table or table (repeatable)
    #[arg(long, short = 't', value_name = "GLOB")]
    pub table: Vec<String>,
    /// Leave out the dump's tables matching GLOB (repeatable)
    #[arg(long, short = 'T', value_name = "GLOB")]
    pub exclude_table: Vec<String>,
    /// Keep these tables' definitions but load none of their rows (repeatable)
    #[arg(long = "exclude-table-data", value_name = "GLOB")]
    pub exclude_table_data: Vec<String>,
    #[command(flatten)]
    pub map: MapOpts,
    #[command(flatten)]
    pub common: CommonOpts,
    /// Parallel target sessions [default: twice the number of CPUs, at least 2, at most 8]
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Tables dumped in several files: load their parts side by side
    /// (parallel), one after another with FREEZE (serial), or decide (auto)
    /// [default: auto]
    #[arg(long, value_enum, value_name = "HOW")]
    pub part_loads: Option<PartLoads>,
    /// Drop the dump's objects that exist on the target and recreate them (asks first)
    #[arg(long)]
    pub clean: bool,
    /// Answer yes to the --clean confirmation
    #[arg(long)]
    pub yes: bool,
    /// Say what the restore would do and what would stop it; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Continue an interrupted or failed restore into this target: tables
    /// it loaded stay, the rest load now
    #[arg(long, conflicts_with_all = ["clean", "dry_run"])]
    pub resume: bool,
    /// Do not set owners: new objects belong to the role pgbarge connects as
    #[arg(long)]
    pub no_owner: bool,
    /// Do not restore grants
    #[arg(long)]
    pub no_privileges: bool,
    /// Write a JSON run report to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("exclude_table_data", |a| a.help(
        "Compare the table's definition but not its rows: a copy made with this flag (repeatable)"
    )),
    mut_arg("schema_map", |a| a.help(
        "The copy renamed schema SRC to DST: compare SRC on the source with DST on the target (repeatable)"
    ))
)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub endpoints: EndpointOpts,
    /// A dump: alone, check every file against its manifest (offline); with
    /// --target, check the target against what the dump holds
    #[arg(long, short = 'i', value_name = "PATH", conflicts_with = "source")]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub select: SelectOpts,
    #[command(flatten)]
    pub map: MapOpts,
    #[command(flatten)]
    pub common: CommonOpts,
    /// Also compare a content checksum of every table (computed by each server)
    #[arg(long)]
    pub checksums: bool,
    /// Do not compare owners (for a copy made with --no-owner)
    #[arg(long)]
    pub no_owner: bool,
    /// Do not compare grants and default privileges (for a copy made with
    /// --no-privileges)
    #[arg(long)]
    pub no_privileges: bool,
    /// Write a JSON report to FILE
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}
