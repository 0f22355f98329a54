//! Flags + configuration file + environment -> validated settings.
//!
//! Precedence: a flag beats the config file, which beats the environment
//! (PGBARGE_SOURCE / PGBARGE_TARGET). Core code receives only the types
//! here, never clap's. Unknown config keys and bad values are errors that
//! name the key and the file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{CommonOpts, CopyArgs, CopyFormat, EndpointOpts, MapOpts, SelectOpts};
use crate::conn::{self, Endpoint};
use crate::select::Patterns;
use crate::{Error, Result};

/// Upper bound on `--jobs`: each job holds two connections, and servers
/// commonly allow 100.
pub const MAX_JOBS: usize = 64;

/// The configuration file: the same keys as the flags, kebab-case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    pub source: Option<String>,
    pub target: Option<String>,
    pub schema: Option<Vec<String>>,
    pub exclude_schema: Option<Vec<String>>,
    pub table: Option<Vec<String>>,
    pub exclude_table: Option<Vec<String>>,
    pub exclude_table_data: Option<Vec<String>>,
    pub leave_out: Option<Vec<String>>,
    /// `[schema-map]` table: `local_app = "public"`.
    pub schema_map: Option<std::collections::BTreeMap<String, String>>,
    pub jobs: Option<i64>,
    pub format: Option<CopyFormat>,
    pub report: Option<PathBuf>,
    pub truncate: Option<bool>,
    pub data_only: Option<bool>,
    pub schema_only: Option<bool>,
    pub disable_triggers: Option<bool>,
    pub keep_foreign_keys: Option<bool>,
    pub no_snapshot: Option<bool>,
    pub no_owner: Option<bool>,
    pub no_privileges: Option<bool>,
    pub quiet: Option<bool>,
    pub stall_timeout: Option<u64>,
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!("cannot read config file {}: {e}", path.display()))
        })?;
        let cfg: ConfigFile =
            toml::from_str(&text).map_err(|e| Error::usage(config_error(path, &text, &e)))?;
        for (key, url) in [("source", &cfg.source), ("target", &cfg.target)] {
            if url.as_deref().is_some_and(has_password) {
                eprintln!(
                    "warning: config file {} holds a password in `{key}`; keep passwords in \
                     ~/.pgpass or PGPASSWORD instead",
                    path.display()
                );
            }
        }
        Ok(cfg)
    }
}

/// Where a config file is wrong and why, by line and key: never the
/// line itself, which may hold a connection string with its password.
fn config_error(path: &Path, text: &str, e: &toml::de::Error) -> String {
    let at = e.span().map(|span| {
        let start = span.start.min(text.len());
        let line_no = text[..start].matches('\n').count() + 1;
        let line = text.lines().nth(line_no - 1).unwrap_or("");
        let key = line.split('=').next().unwrap_or("").trim();
        let plain = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if plain && line.contains('=') {
            format!(", line {line_no} (`{key}`)")
        } else {
            format!(", line {line_no}")
        }
    });
    format!(
        "config file {}{}: {}",
        path.display(),
        at.unwrap_or_default(),
        e.message().trim_end()
    )
}

fn has_password(conn: &str) -> bool {
    conn::params::parse(conn).is_ok_and(|p| p.password.is_some())
}

/// Everything `copy` needs, resolved and checked.
#[derive(Debug, Clone)]
pub struct CopySettings {
    pub source: Endpoint,
    pub target: Endpoint,
    pub patterns: Patterns,
    pub schema_map: Vec<(String, String)>,
    pub jobs: usize,
    pub format: CopyFormat,
    pub report: Option<PathBuf>,
    pub truncate: bool,
    pub disable_triggers: bool,
    pub keep_foreign_keys: bool,
    /// Rows only, into existing tables.
    pub data_only: bool,
    /// Create the schema, copy no rows.
    pub schema_only: bool,
    /// Drop objects that already exist on the target and recreate them.
    pub clean: bool,
    /// Confirm `--clean` without asking.
    pub yes: bool,
    /// Run `verify --checksums` after a successful copy.
    pub verify: bool,
    /// Plan only (`copy --dry-run`, `pgbarge plan`): write nothing.
    pub dry_run: bool,
    /// `plan --json`.
    pub json: bool,
    /// Copy into a scratch database on the target server, verify, drop it.
    pub rehearse: bool,
    /// Create extensions in this schema (a preset's choice), relocating
    /// references to their objects.
    pub extension_schema: Option<String>,
    pub no_owner: bool,
    pub no_privileges: bool,
    pub rewrite_function_bodies: bool,
    pub no_snapshot: bool,
    pub quiet: bool,
    /// Continue the interrupted run recorded on the target.
    pub resume: bool,
}

/// Everything `verify` (source against target) needs.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    pub source: Endpoint,
    pub target: Endpoint,
    pub patterns: Patterns,
    pub schema_map: Vec<(String, String)>,
    pub checksums: bool,
    pub report: Option<PathBuf>,
    pub quiet: bool,
    /// Extensions live in this schema on the target (a preset's choice):
    /// their types count as the same type there.
    pub extension_schema: Option<String>,
    /// Compare owners, and grants and default privileges.
    pub owners: bool,
    pub privileges: bool,
    /// Compare large objects (not after a schema-only copy, nor when they
    /// are left out, nor for a `--table` selection).
    pub large_objects: bool,
}

/// Whether a selection carries large objects: not with `--table`, not
/// when left out.
fn large_objects_selected(p: &Patterns) -> bool {
    p.table.is_empty() && !p.leave_out.iter().any(|k| k == "large-object")
}

/// A flag given on the command line, or else in the config file.
fn flag_or(flag: bool, file: Option<bool>) -> bool {
    flag || file.unwrap_or(false)
}

impl VerifySettings {
    /// `copy --verify`: the same endpoints, selection and map, with checksums.
    pub fn after_copy(c: &CopySettings) -> Self {
        VerifySettings {
            source: c.source.clone(),
            target: c.target.clone(),
            patterns: c.patterns.clone(),
            schema_map: c.schema_map.clone(),
            checksums: true,
            report: None,
            quiet: c.quiet,
            extension_schema: c.extension_schema.clone(),
            owners: !c.no_owner,
            privileges: !c.no_privileges,
            large_objects: !c.schema_only && large_objects_selected(&c.patterns),
        }
    }

    pub fn from_args(a: &crate::cli::VerifyArgs) -> Result<Self> {
        let cfg = load_config(&a.common)?;
        let (source, target) = endpoints(&a.endpoints, &cfg)?;
        let large_objects = large_objects_selected(&patterns(&a.select, &cfg));
        Ok(VerifySettings {
            source,
            target,
            patterns: patterns(&a.select, &cfg),
            schema_map: schema_map(&a.map, &cfg, a.common.config.as_deref())?,
            checksums: a.checksums,
            report: crate::report::writable(a.report.clone().or(cfg.report))?,
            quiet: a.common.quiet || cfg.quiet.unwrap_or(false),
            extension_schema: None,
            owners: !flag_or(a.no_owner, cfg.no_owner),
            privileges: !flag_or(a.no_privileges, cfg.no_privileges),
            large_objects,
        })
    }

    /// The target schema for a source schema.
    pub fn map_schema<'a>(&'a self, schema: &'a str) -> &'a str {
        map_schema(&self.schema_map, schema)
    }
}

/// Everything `verify --input DUMP --target URL` needs: the target
/// against what a dump says it held.
#[derive(Debug, Clone)]
pub struct ArchiveVerifySettings {
    pub input: PathBuf,
    pub target: Endpoint,
    /// Archive schema to target schema, as given to `restore`.
    pub schema_map: Vec<(String, String)>,
    pub checksums: bool,
    pub report: Option<PathBuf>,
    pub quiet: bool,
}

impl ArchiveVerifySettings {
    pub fn from_args(a: &crate::cli::VerifyArgs, input: &Path) -> Result<Self> {
        let cfg = load_config(&a.common)?;
        let sel = &a.select;
        if !(sel.schema.is_empty()
            && sel.exclude_schema.is_empty()
            && sel.table.is_empty()
            && sel.exclude_table.is_empty()
            && sel.exclude_table_data.is_empty())
        {
            return Err(Error::usage(
                "--input with --target checks every table of the dump: \
                 leave out --schema, --table and their --exclude forms",
            ));
        }
        Ok(ArchiveVerifySettings {
            input: input.to_path_buf(),
            target: endpoint(&a.endpoints.target, &cfg.target, "PGBARGE_TARGET", "target")?,
            schema_map: schema_map(&a.map, &cfg, a.common.config.as_deref())?,
            checksums: a.checksums,
            report: crate::report::writable(a.report.clone().or(cfg.report))?,
            quiet: a.common.quiet || cfg.quiet.unwrap_or(false),
        })
    }
}

/// A sensible default for `--jobs`: loads wait on the network and the
/// servers' disks as much as on CPU, so two per core, within 2..=8.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(4)
        .clamp(2, 8)
}

fn load_config(common: &CommonOpts) -> Result<ConfigFile> {
    let cfg = match &common.config {
        Some(p) => ConfigFile::load(p)?,
        None => ConfigFile::default(),
    };
    // Every command reads its options here: the stall bound is process-wide.
    crate::conn::set_stall_timeout(
        common
            .stall_timeout
            .or(cfg.stall_timeout)
            .unwrap_or(crate::conn::DEFAULT_STALL_SECS),
    );
    Ok(cfg)
}

fn pick(flag: &[String], file: &Option<Vec<String>>) -> Vec<String> {
    if flag.is_empty() {
        file.clone().unwrap_or_default()
    } else {
        flag.to_vec()
    }
}

fn patterns(sel: &SelectOpts, cfg: &ConfigFile) -> Patterns {
    Patterns {
        schema: pick(&sel.schema, &cfg.schema),
        exclude_schema: pick(&sel.exclude_schema, &cfg.exclude_schema),
        table: pick(&sel.table, &cfg.table),
        exclude_table: pick(&sel.exclude_table, &cfg.exclude_table),
        exclude_table_data: pick(&sel.exclude_table_data, &cfg.exclude_table_data),
        preset_exclude_schema: Vec::new(),
        leave_out: pick(&sel.leave_out, &cfg.leave_out),
    }
}

/// Schemas Supabase manages itself: never copied with `--preset supabase`.
pub const SUPABASE_SCHEMAS: &[&str] = &[
    "auth",
    "storage",
    "realtime",
    "_realtime",
    "extensions",
    "graphql",
    "graphql_public",
    "pgsodium",
    "pgsodium_masks",
    "vault",
    "supabase_functions",
    "supabase_migrations",
    "net",
    "cron",
    "pgbouncer",
    "_analytics",
    "pgtle",
];

/// Apply `--preset NAME` to copy settings: see the README for the exact
/// effect of each preset.
fn apply_preset(s: &mut CopySettings, preset: &str) -> Result<()> {
    match preset {
        "supabase" => {
            s.patterns
                .preset_exclude_schema
                .extend(SUPABASE_SCHEMAS.iter().map(|x| x.to_string()));
            s.no_owner = true;
            s.no_privileges = true;
            s.extension_schema = Some("extensions".into());
            match s.target.sslmode {
                conn::params::SslMode::Disable => {
                    return Err(Error::usage(
                        "--preset supabase: Supabase accepts only TLS connections; drop \
                         sslmode=disable (sslmode=require, or verify-full with the project's CA \
                         certificate)",
                    ))
                }
                conn::params::SslMode::Allow | conn::params::SslMode::Prefer => {
                    s.target.sslmode = conn::params::SslMode::Require;
                }
                _ => {}
            }
            if s.target.port == 6543 {
                return Err(Error::usage(
                    "--preset supabase: port 6543 is Supabase's transaction-mode pooler, which \
                     cannot keep pgbarge's session settings or a snapshot; use the direct \
                     connection (port 5432) or the session pooler",
                ));
            }
            Ok(())
        }
        other => Err(Error::usage(format!(
            "--preset {other}: unknown preset (known: supabase)"
        ))),
    }
}

/// Parse `SRC=DST` pairs and check that the map is a renaming: no two
/// sources onto one target, no empty names.
pub fn schema_map(
    map: &MapOpts,
    cfg: &ConfigFile,
    cfg_path: Option<&Path>,
) -> Result<Vec<(String, String)>> {
    let whence = match cfg_path {
        Some(p) if map.schema_map.is_empty() => {
            format!("key `schema-map` in config file {}", p.display())
        }
        _ => "--schema-map".to_string(),
    };
    let pairs: Vec<(String, String)> = if map.schema_map.is_empty() {
        cfg.schema_map
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect()
    } else {
        map.schema_map
            .iter()
            .map(|s| match s.split_once('=') {
                Some((_, b)) if b.contains('=') => Err(Error::usage(format!(
                    "--schema-map \"{s}\": more than one \"=\"; give one SRC=DST pair per \
                     --schema-map (a schema name holding \"=\" can be mapped in the config \
                     file's [schema-map] table)"
                ))),
                Some((a, b)) => Ok((a.to_string(), b.to_string())),
                None => Err(Error::usage(format!(
                    "--schema-map \"{s}\": expected SRC=DST"
                ))),
            })
            .collect::<Result<_>>()?
    };
    for (i, (src, dst)) in pairs.iter().enumerate() {
        if src.is_empty() || dst.is_empty() {
            return Err(Error::usage(format!(
                "{whence} \"{src}={dst}\": both names are needed"
            )));
        }
        if let Some((other, _)) = pairs[..i].iter().find(|(s, d)| d == dst && s != src) {
            return Err(Error::usage(format!(
                "{whence} maps both \"{other}\" and \"{src}\" onto \"{dst}\"; each target schema can take one source"
            )));
        }
        if pairs[..i].iter().any(|(s, _)| s == src) {
            return Err(Error::usage(format!(
                "{whence} gives schema \"{src}\" more than once"
            )));
        }
        if let Some(why) = unusable_schema_name(dst) {
            return Err(Error::usage(format!(
                "{whence} \"{src}={dst}\": the target schema name {why}"
            )));
        }
    }
    Ok(pairs)
}

/// Why PostgreSQL would not take `name` as a new schema's name, if it
/// would not: system names, and names past its 63-byte limit (which it
/// would cut short silently).
fn unusable_schema_name(name: &str) -> Option<String> {
    if name.starts_with("pg_") || name == "information_schema" {
        return Some("is reserved for the system (pg_*, information_schema)".into());
    }
    if name.len() > 63 {
        return Some(format!(
            "is {} bytes long; PostgreSQL names hold at most 63",
            name.len()
        ));
    }
    None
}

fn endpoint(
    flag: &Option<String>,
    file: &Option<String>,
    env_var: &str,
    what: &str,
) -> Result<Endpoint> {
    let s = flag
        .clone()
        .or_else(|| file.clone())
        .or_else(|| std::env::var(env_var).ok().filter(|v| !v.is_empty()))
        .ok_or_else(|| {
            Error::usage(format!(
                "no {what} given: pass --{what} URL, set `{what}` in the config file, or set {env_var}"
            ))
        })?;
    conn::resolve_endpoint(&s, &format!("--{what}"))
}

fn endpoints(e: &EndpointOpts, cfg: &ConfigFile) -> Result<(Endpoint, Endpoint)> {
    Ok((
        endpoint(&e.source, &cfg.source, "PGBARGE_SOURCE", "source")?,
        endpoint(&e.target, &cfg.target, "PGBARGE_TARGET", "target")?,
    ))
}

/// `--jobs` from the flag or the config file, checked.
fn jobs(flag: Option<usize>, cfg: &ConfigFile, cfg_path: Option<&Path>) -> Result<usize> {
    match flag.map(|j| j as i64).or(cfg.jobs) {
        None => Ok(default_jobs()),
        Some(j) if (1..=MAX_JOBS as i64).contains(&j) => Ok(j as usize),
        Some(j) => {
            let whence = match (flag, cfg_path) {
                (None, Some(p)) => format!("key `jobs` in config file {}", p.display()),
                _ => "--jobs".to_string(),
            };
            Err(Error::usage(format!(
                "{whence}: {j} is out of range; use 1 to {MAX_JOBS}"
            )))
        }
    }
}

impl crate::archive::dump::DumpSettings {
    pub fn from_args(a: &crate::cli::DumpArgs) -> Result<Self> {
        use crate::archive::{ArchiveFormat, Codec};
        use crate::cli::DumpFormat;
        let cfg = load_config(&a.common)?;
        let source = endpoint(&a.source, &cfg.source, "PGBARGE_SOURCE", "source")?;
        let output = a.output.clone().ok_or_else(|| {
            Error::usage("no --output given: pass --output PATH (a directory, or FILE.sql.gz)")
        })?;
        let name = output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sql_suffix = [(".sql.gz", "gzip"), (".sql.zst", "zstd"), (".sql", "none")]
            .into_iter()
            .find(|(sfx, _)| name.ends_with(sfx));
        let format = match a.format {
            Some(DumpFormat::Dir) => ArchiveFormat::Dir,
            Some(DumpFormat::Sql) => ArchiveFormat::Sql,
            None if sql_suffix.is_some() => ArchiveFormat::Sql,
            None => ArchiveFormat::Dir,
        };
        let codec = match (&a.compress, format, sql_suffix) {
            (Some(c), _, _) => Codec::parse(c).map_err(Error::Usage)?,
            (None, ArchiveFormat::Sql, Some((_, algo))) => {
                Codec::parse(algo).map_err(Error::Usage)?
            }
            (None, _, _) => Codec::DEFAULT,
        };
        if format == ArchiveFormat::Sql {
            // The suffix must say how to read the file.
            let expected = match codec {
                Codec::Gzip(_) => ".gz",
                Codec::Zstd(_) => ".zst",
                Codec::None => ".sql",
            };
            if !name.ends_with(expected) {
                return Err(Error::usage(format!(
                    "--output {}: a SQL dump compressed with {codec} must end in {}",
                    output.display(),
                    if codec == Codec::None {
                        ".sql".to_string()
                    } else {
                        format!(".sql{expected}")
                    }
                )));
            }
        }
        Ok(Self {
            source,
            output,
            format,
            codec,
            force: a.force,
            patterns: patterns(&a.select, &cfg),
            schema_map: schema_map(&a.map, &cfg, a.common.config.as_deref())?,
            jobs: jobs(a.jobs, &cfg, a.common.config.as_deref())?,
            no_snapshot: flag_or(a.no_snapshot, cfg.no_snapshot),
            // SQL scripts hold COPY text: psql and people read them.
            binary_data: format == ArchiveFormat::Dir
                && a.data_format != Some(crate::cli::DumpDataFormat::Text),
            part_bytes: a.part_size.unwrap_or(64).saturating_mul(1 << 20),
            resume: a.resume,
            quiet: flag_or(a.common.quiet, cfg.quiet),
            report: crate::report::writable(a.report.clone().or(cfg.report))?,
        })
    }
}

impl crate::archive::restore::RestoreSettings {
    pub fn from_args(a: &crate::cli::RestoreArgs) -> Result<Self> {
        let cfg = load_config(&a.common)?;
        let input = a.input.clone().ok_or_else(|| {
            Error::usage("no --input given: pass --input PATH (a dump directory or SQL file)")
        })?;
        let target = endpoint(&a.target, &cfg.target, "PGBARGE_TARGET", "target")?;
        Ok(Self {
            input,
            target,
            schema_map: schema_map(&a.map, &cfg, a.common.config.as_deref())?,
            exclude_table_data: pick(&a.exclude_table_data, &cfg.exclude_table_data),
            selection: Patterns {
                schema: a.schema.clone(),
                exclude_schema: a.exclude_schema.clone(),
                table: a.table.clone(),
                exclude_table: a.exclude_table.clone(),
                ..Patterns::default()
            },
            jobs: jobs(a.jobs, &cfg, a.common.config.as_deref())?,
            part_loads: a.part_loads.unwrap_or(crate::cli::PartLoads::Auto),
            clean: a.clean,
            yes: a.yes,
            dry_run: a.dry_run,
            resume: a.resume,
            no_owner: flag_or(a.no_owner, cfg.no_owner),
            no_privileges: flag_or(a.no_privileges, cfg.no_privileges),
            quiet: flag_or(a.common.quiet, cfg.quiet),
            report: crate::report::writable(a.report.clone().or(cfg.report))?,
        })
    }
}

impl crate::clean::CleanSettings {
    pub fn from_args(a: &crate::cli::CleanArgs) -> Result<Self> {
        let cfg = load_config(&a.common)?;
        Ok(Self {
            target: endpoint(&a.target, &cfg.target, "PGBARGE_TARGET", "target")?,
            yes: a.yes,
            quiet: a.common.quiet || cfg.quiet.unwrap_or(false),
        })
    }
}

impl CopySettings {
    /// `pgbarge plan`: the settings of the copy it describes.
    pub fn for_plan(a: &crate::cli::PlanArgs) -> Result<Self> {
        let cfg = load_config(&a.common)?;
        let (source, target) = endpoints(&a.endpoints, &cfg)?;
        let mut out = CopySettings {
            source,
            target,
            patterns: patterns(&a.select, &cfg),
            schema_map: schema_map(&a.map, &cfg, a.common.config.as_deref())?,
            jobs: cfg
                .jobs
                .map_or(default_jobs(), |j| j.clamp(1, MAX_JOBS as i64) as usize),
            format: cfg.format.unwrap_or(CopyFormat::Auto),
            report: None,
            truncate: flag_or(a.truncate, cfg.truncate),
            disable_triggers: flag_or(false, cfg.disable_triggers),
            keep_foreign_keys: flag_or(false, cfg.keep_foreign_keys),
            data_only: flag_or(a.data_only, cfg.data_only),
            schema_only: flag_or(false, cfg.schema_only),
            clean: false,
            yes: false,
            verify: false,
            dry_run: true,
            rehearse: false,
            extension_schema: None,
            json: a.json,
            no_owner: flag_or(a.no_owner, cfg.no_owner),
            no_privileges: flag_or(a.no_privileges, cfg.no_privileges),
            rewrite_function_bodies: false,
            no_snapshot: flag_or(false, cfg.no_snapshot),
            quiet: flag_or(a.common.quiet, cfg.quiet),
            resume: false,
        };
        if let Some(p) = a.preset.as_deref() {
            apply_preset(&mut out, p)?;
        }
        Ok(out)
    }

    pub fn from_args(a: &CopyArgs) -> Result<Self> {
        let cfg = load_config(&a.common)?;
        let data_only = flag_or(a.data_only, cfg.data_only);
        let schema_only = flag_or(a.schema_only, cfg.schema_only);
        if schema_only && data_only {
            return Err(Error::usage(
                "--schema-only and --data-only exclude each other",
            ));
        }
        if a.rehearse && data_only {
            return Err(Error::usage(
                "--rehearse copies schema and rows into a scratch database, so it cannot be \
                 combined with --data-only (the scratch database has no tables); use \
                 `pgbarge plan --data-only` to check a rows-only copy",
            ));
        }
        if a.rehearse && a.dry_run {
            return Err(Error::usage("--rehearse and --dry-run exclude each other"));
        }
        let jobs = jobs(a.jobs, &cfg, a.common.config.as_deref())?;
        let (source, target) = endpoints(&a.endpoints, &cfg)?;
        let mut out = CopySettings {
            source,
            target,
            patterns: patterns(&a.select, &cfg),
            schema_map: schema_map(&a.map, &cfg, a.common.config.as_deref())?,
            jobs,
            format: a.format.or(cfg.format).unwrap_or(CopyFormat::Auto),
            report: crate::report::writable(a.report.clone().or(cfg.report))?,
            truncate: flag_or(a.truncate, cfg.truncate),
            disable_triggers: flag_or(a.disable_triggers, cfg.disable_triggers),
            keep_foreign_keys: flag_or(a.keep_foreign_keys, cfg.keep_foreign_keys),
            data_only,
            schema_only,
            clean: a.clean,
            yes: a.yes,
            verify: a.verify,
            dry_run: a.dry_run,
            rehearse: a.rehearse,
            extension_schema: None,
            json: false,
            no_owner: flag_or(a.no_owner, cfg.no_owner),
            no_privileges: flag_or(a.no_privileges, cfg.no_privileges),
            rewrite_function_bodies: a.rewrite_function_bodies,
            no_snapshot: flag_or(a.no_snapshot, cfg.no_snapshot),
            quiet: flag_or(a.common.quiet, cfg.quiet),
            resume: a.resume,
        };
        if let Some(p) = a.preset.as_deref() {
            apply_preset(&mut out, p)?;
        }
        Ok(out)
    }

    /// The target schema for a source schema.
    pub fn map_schema<'a>(&'a self, schema: &'a str) -> &'a str {
        map_schema(&self.schema_map, schema)
    }
}

/// The target schema for a source schema under `--schema-map` pairs.
pub fn map_schema<'a>(map: &'a [(String, String)], schema: &'a str) -> &'a str {
    map.iter()
        .find(|(s, _)| s == schema)
        .map_or(schema, |(_, d)| d.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_config_key_is_named() {
        let e = toml::from_str::<ConfigFile>("sorce = 'x'").unwrap_err();
        assert!(e.to_string().contains("sorce"), "{e}");
        let e = toml::from_str::<ConfigFile>("jobs = 'four'").unwrap_err();
        assert!(e.to_string().contains("jobs"), "{e}");
        let text = "jobs = 2\njobs_x = 'four'\n";
        let e = toml::from_str::<ConfigFile>(text).unwrap_err();
        let m = config_error(Path::new("c.toml"), text, &e);
        assert!(m.contains("line 2") && m.contains("jobs_x"), "{m}");
    }

    #[test]
    fn config_errors_never_show_the_line() {
        for text in [
            "source = postgres://me:hunter2secret@db/app\n",
            "target = 'postgres://me:hunter2secret@db/app\n",
            "source = \"postgres://me:hunter2secret@db/app\"\njobs = [1]\nx\n",
        ] {
            let e = toml::from_str::<ConfigFile>(text).unwrap_err();
            let m = config_error(Path::new("c.toml"), text, &e);
            assert!(!m.contains("hunter2secret"), "{m}");
            assert!(m.contains("line "), "{m}");
        }
    }

    #[test]
    fn schema_map_rules() {
        let cfg = ConfigFile::default();
        let m = |v: &[&str]| MapOpts {
            schema_map: v.iter().map(|s| s.to_string()).collect(),
        };
        assert_eq!(
            schema_map(&m(&["a=b", "c=d"]), &cfg, None).unwrap(),
            vec![("a".into(), "b".into()), ("c".into(), "d".into())]
        );
        assert!(schema_map(&m(&["a=x", "b=x"]), &cfg, None).is_err());
        assert!(schema_map(&m(&["a=x", "a=y"]), &cfg, None).is_err());
        assert!(schema_map(&m(&["ab"]), &cfg, None).is_err());
        assert!(schema_map(&m(&["=b"]), &cfg, None).is_err());
        assert!(schema_map(&m(&["a=b=c"]), &cfg, None).is_err());
        assert!(schema_map(&m(&["a=pg_catalog"]), &cfg, None).is_err());
        assert!(schema_map(&m(&["a=pg_x"]), &cfg, None).is_err());
        assert!(schema_map(&m(&["a=information_schema"]), &cfg, None).is_err());
        assert!(schema_map(&m(&[&format!("a={}", "x".repeat(64))]), &cfg, None).is_err());
        assert!(schema_map(&m(&[&format!("a={}", "x".repeat(63))]), &cfg, None).is_ok());
    }
}
