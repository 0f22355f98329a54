//! `pgbarge plan` and `copy --dry-run`: what a copy would do and what
//! would stop it, found by reading both servers and writing nothing.
//!
//! Every check the copy makes before its first write runs here too
//! (same code: the schema plan, conflicts, roles, extensions), plus what
//! a user wants to know before a move: versions, TLS, whether the source
//! can give a consistent snapshot, the target role's rights, and the size
//! of the job. Each finding is a blocker or a warning; blockers exit 1.

use serde::Serialize;

use crate::catalog::{self, QualName};
use crate::conn::{self, Role, Session};
use crate::error::PgContext;
use crate::select;
use crate::settings::CopySettings;
use crate::transfer::schema;
use crate::{Error, Result};

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// `blocker` or `warning`.
    pub level: &'static str,
    pub message: String,
}

#[derive(Debug, Default, Serialize)]
pub struct PlanReport {
    pub source: String,
    pub target: String,
    pub source_version: String,
    pub target_version: String,
    pub source_tls: bool,
    pub target_tls: bool,
    pub mode: String,
    pub tables: usize,
    pub estimated_rows: i64,
    pub estimated_bytes: i64,
    pub statements_before_rows: usize,
    pub statements_after_rows: usize,
    pub findings: Vec<Finding>,
    pub blockers: usize,
}

/// Bytes per second a copy reaches on a local link on the benchmark data
/// (2.2 GB in 40 s): the basis of the duration estimate.
const LOCAL_BYTES_PER_SEC: f64 = 55e6;

pub async fn plan(s: &CopySettings) -> Result<PlanReport> {
    let (src, mut dst) = tokio::try_join!(
        conn::connect(&s.source, Role::Source),
        conn::connect(&s.target, Role::Target)
    )?;
    let (si, di) = tokio::try_join!(src.server_info(), dst.server_info())?;
    let mut r = PlanReport {
        source: s.source.redacted(),
        target: s.target.redacted(),
        source_version: si.version.clone(),
        target_version: di.version.clone(),
        source_tls: si.tls,
        target_tls: di.tls,
        mode: if s.data_only {
            "rows into existing tables (--data-only)"
        } else if s.schema_only {
            "schema only"
        } else {
            "schema and rows"
        }
        .into(),
        ..PlanReport::default()
    };
    let mut f = Findings::default();
    if conn::same_database(&si, &di) {
        f.block("source and target are the same database".into());
    }
    if di.in_recovery {
        f.block("the target is a read-only standby; point --target at the primary".into());
    }
    for (what, ep) in [("source", &s.source), ("target", &s.target)] {
        if ep.port == 6543 {
            f.warn(format!(
                "the {what} uses port 6543, where managed platforms run a transaction-mode pooler; \
                 connect to the database port (5432) for a consistent snapshot and session settings"
            ));
        }
    }
    if !di.tls && !s.target.is_local() {
        f.warn("the connection to the target is not encrypted (sslmode=require or stronger is advised)".into());
    }
    src.client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await
        .pg_context(|| "starting the source transaction".into())?;
    if let Err(e) = src
        .client
        .query_one("SELECT pg_catalog.pg_export_snapshot()", &[])
        .await
    {
        let msg = format!(
            "the source cannot export a snapshot ({}); the copy needs a direct session, or --no-snapshot",
            crate::error::describe_pg(&e)
        );
        if s.no_snapshot {
            f.warn(msg);
        } else {
            f.block(msg);
        }
        src.client
            .batch_execute("ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .ok();
    }
    target_rights(&dst, s, &mut f).await?;
    let command = if s.data_only {
        "copy --data-only"
    } else {
        "copy"
    };
    for r in crate::runstate::find(&dst.client, &[]).await? {
        let m = format!(
            "the target holds an unfinished pgbarge {}: continue it with `{} --resume`, or \
             remove it with `pgbarge clean`",
            r.describe(),
            r.command
        );
        if r.command == command {
            f.block(m);
        } else {
            f.warn(m);
        }
    }
    for w in crate::clean::rehearsal_warnings(&dst).await? {
        f.warn(w);
    }

    // The selection and its size.
    let tables = catalog::read_tables(&src.client).await?;
    let schemas = catalog::read_schema_names(&src.client).await?;
    match select::select(&tables, &schemas, &s.patterns) {
        Err(e) => f.block(e),
        Ok(chosen) => {
            r.tables = chosen
                .iter()
                .filter(|c| tables[c.index].has_storage())
                .count();
            // Rows live in leaf tables: a partitioned table's estimate is
            // its partitions' again.
            for c in chosen
                .iter()
                .filter(|c| c.copy_data && !s.schema_only && tables[c.index].has_storage())
            {
                r.estimated_rows += tables[c.index].est_rows;
                r.estimated_bytes += tables[c.index].bytes;
            }
            if s.data_only {
                let names: Vec<QualName> = chosen
                    .iter()
                    .filter(|c| tables[c.index].has_storage())
                    .map(|c| {
                        let n = &tables[c.index].name;
                        QualName::new(s.map_schema(&n.schema), n.name.clone())
                    })
                    .collect();
                data_only_checks(&dst, s, &names, &mut f).await?;
            }
        }
    }
    if !s.data_only {
        match schema::plan(&s.plan_options(), &src).await {
            Err(Error::Usage(m)) => f.block(m),
            Err(e) => return Err(e),
            Ok(mut p) => {
                schema::fit_to_target(&dst, &mut p).await?;
                r.statements_before_rows = p.extensions.len() + p.pre.len();
                r.statements_after_rows = p.indexes.len() + p.post.len() + p.access.len();
                for (label, _) in schema::conflicts(&dst, &p).await? {
                    f.block(format!(
                        "{label} already exists on the target (drop it, or --clean)"
                    ));
                }
                for e in schema::missing_extensions(&dst, &p).await? {
                    f.block(format!(
                        "extension {e} is not available on the target server"
                    ));
                }
                for e in schema::restricted_extensions(&dst, &p).await? {
                    f.warn(format!(
                        "extension {e} is not installed on the target and the target role is not a \
                         superuser{}: creating it will likely be refused (ask the server's admin or \
                         provider to create it first)",
                        if di.major() >= 13 {
                            ", and the extension is not marked trusted or the role may not create in \
                             this database"
                        } else {
                            ""
                        }
                    ));
                }
                for m in schema::missing_outside(&dst, &p).await? {
                    f.block(m);
                }
                for role in schema::missing_roles(&dst, &p).await? {
                    f.block(format!(
                        "role \"{role}\" owns or is granted copied objects but does not exist on the \
                         target (create it, or --no-owner / --no-privileges)"
                    ));
                }
                for w in schema::misplaced_extensions(&dst, &p).await? {
                    f.warn(w);
                }
                // With nothing else in the way, the schema itself is tried
                // on the target and rolled back: what the copy would meet
                // after the rows is known now.
                if f.0.iter().all(|x| x.level != "blocker") {
                    match schema::trial(&mut dst, &p).await? {
                        schema::Trial::Takes => {}
                        schema::Trial::Refuses(problem) => f.block(problem),
                        schema::Trial::TooLarge(note) => f.warn(note),
                    }
                }
                for w in p.warnings {
                    f.warn(w);
                }
            }
        }
    }
    let secs = r.estimated_bytes as f64 / LOCAL_BYTES_PER_SEC;
    f.note_size(r.estimated_rows, r.estimated_bytes, secs);
    r.blockers = f.0.iter().filter(|x| x.level == "blocker").count();
    r.findings = f.0;
    Ok(r)
}

#[derive(Default)]
struct Findings(Vec<Finding>);

impl Findings {
    fn block(&mut self, message: String) {
        // Two checks may find one mistake (a pattern that matches nothing
        // stops both the selection and the schema plan): say it once.
        if self
            .0
            .iter()
            .any(|f| f.level == "blocker" && f.message == message)
        {
            return;
        }
        self.0.push(Finding {
            level: "blocker",
            message,
        });
    }
    fn warn(&mut self, message: String) {
        self.0.push(Finding {
            level: "warning",
            message,
        });
    }
    fn note_size(&mut self, rows: i64, bytes: i64, secs: f64) {
        self.0.push(Finding {
            level: "info",
            message: format!(
                "{} and {} of table data on disk; roughly {:.0} s over a fast link, \
                 longer over a slow one (about {:.0} s at 100 Mbit/s)",
                if rows == 0 && bytes > 8192 {
                    "an unknown number of rows (the source tables were never analyzed)".to_string()
                } else {
                    format!("about {rows} rows")
                },
                indicatif::HumanBytes(bytes.max(0) as u64),
                secs.max(1.0),
                (bytes as f64 * 8.0 / 100e6).max(1.0)
            ),
        });
    }
}

/// May the target role create what the copy creates?
async fn target_rights(dst: &Session, s: &CopySettings, f: &mut Findings) -> Result<()> {
    let row = dst
        .client
        .query_one(
            "SELECT r.rolsuper, \
                    pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'), \
                    current_user::text \
               FROM pg_catalog.pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .pg_context(|| "reading the target role's rights".into())?;
    let (superuser, create_schema, who): (bool, bool, String) =
        (row.get(0), row.get(1), row.get(2));
    if s.disable_triggers && !superuser {
        f.warn(format!(
            "role {who} is not a superuser: --disable-triggers needs one (or SET on session_replication_role)"
        ));
    }
    if !s.data_only && !create_schema {
        f.warn(format!(
            "role {who} may not create schemas in this database; every target schema must exist \
             and allow CREATE"
        ));
    }
    Ok(())
}

async fn data_only_checks(
    dst: &Session,
    s: &CopySettings,
    names: &[QualName],
    f: &mut Findings,
) -> Result<()> {
    let quoted: Vec<String> = names.iter().map(QualName::quoted).collect();
    let rows = dst
        .client
        .query(
            "SELECT n, pg_catalog.to_regclass(n) IS NOT NULL, \
                    CASE WHEN pg_catalog.to_regclass(n) IS NOT NULL THEN \
                      pg_catalog.has_table_privilege(n, 'INSERT') END \
               FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS u(n, i) ORDER BY i",
            &[&quoted],
        )
        .await
        .pg_context(|| "checking the target tables".into())?;
    // unnest keeps the order of `names`.
    for (r, name) in rows.iter().zip(names) {
        let (quoted, exists, insert): (String, bool, Option<bool>) = (r.get(0), r.get(1), r.get(2));
        if !exists {
            f.block(format!(
                "target table {name} does not exist (create it, or drop --data-only)"
            ));
        } else if insert == Some(false) {
            f.block(format!("the target role may not INSERT into {name}"));
        } else if !s.truncate {
            let has_rows: bool = dst
                .client
                .query_one(&format!("SELECT EXISTS (SELECT 1 FROM ONLY {quoted})"), &[])
                .await
                .pg_context(|| format!("checking whether {name} is empty"))?
                .get(0);
            if has_rows {
                f.block(format!(
                    "target table {name} already holds rows (--truncate replaces them)"
                ));
            }
        }
    }
    Ok(())
}

/// Print a plan for people.
pub fn print(r: &PlanReport) {
    println!(
        "source: {} (PostgreSQL {}{})",
        r.source,
        r.source_version,
        if r.source_tls { ", TLS" } else { "" }
    );
    println!(
        "target: {} (PostgreSQL {}{})",
        r.target,
        r.target_version,
        if r.target_tls { ", TLS" } else { "" }
    );
    println!(
        "copy: {}; {}; {} statements before the rows, {} after",
        r.mode,
        crate::report::counted(r.tables as u64, "table"),
        r.statements_before_rows,
        r.statements_after_rows
    );
    for level in ["blocker", "warning", "info"] {
        for x in r.findings.iter().filter(|x| x.level == level) {
            println!("  {:<8} {}", level, x.message);
        }
    }
    if r.blockers == 0 {
        println!("no blockers: the copy can run (nothing was written)");
    } else {
        println!(
            "{}: the copy would stop before writing (nothing was written)",
            crate::report::counted(r.blockers as u64, "blocker")
        );
    }
}
