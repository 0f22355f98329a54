//! `pgbarge clean`: remove what unfinished runs left on a target: the
//! objects and state of copies and restores that failed or were
//! interrupted (recorded in schema `_pgbarge`), and scratch databases of
//! rehearsals that were killed before they could drop them.

use anyhow::anyhow;

use crate::catalog::quote_ident;
use crate::conn::{self, Endpoint, Role, Session};
use crate::error::{describe_pg, PgContext};
use crate::progress::Mode;
use crate::runstate::{self, Recorded};
use crate::transfer::schema;
use crate::{Error, Result};

/// Rehearsal databases younger than this may belong to a rehearsal that
/// is running (it has created the database and not yet connected): clean
/// leaves them. (One that is connected to cannot be dropped anyway.)
const CLEAN_AFTER_SECS: u64 = 60;
/// Other commands mention rehearsal databases older than this.
const WARN_AFTER_SECS: u64 = 600;

/// What `clean` needs.
#[derive(Debug, Clone)]
pub struct CleanSettings {
    pub target: Endpoint,
    pub yes: bool,
    pub quiet: bool,
}

/// Leftovers found on a target.
pub struct Leftovers {
    pub runs: Vec<Recorded>,
    /// Rehearsal scratch databases on the target's server.
    pub rehearsals: Vec<String>,
}

impl Leftovers {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty() && self.rehearsals.is_empty()
    }

    /// One line per leftover.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .runs
            .iter()
            .map(|r| {
                let objects = if r.created.is_empty() && r.created_schemas.is_empty() {
                    "its record only (rows it loaded stay)".to_string()
                } else {
                    format!(
                        "{} objects and {} schemas it created, and its record",
                        r.created.len(),
                        r.created_schemas.len()
                    )
                };
                format!("unfinished {}: {objects}", r.describe())
            })
            .collect();
        out.extend(
            self.rehearsals
                .iter()
                .map(|d| format!("database {d}, left by a rehearsal that did not finish")),
        );
        out
    }
}

/// Scratch databases of rehearsals on the server of `dst` that were
/// created at least `min_age_secs` ago (their names carry the time), so
/// that one a running rehearsal has just created is left alone.
pub async fn rehearsal_databases(dst: &Session, min_age_secs: u64) -> Result<Vec<String>> {
    let rows = dst
        .client
        .query_typed(
            "SELECT datname::text FROM pg_catalog.pg_database \
              WHERE datname LIKE 'pgbarge\\_rehearsal\\_%' ORDER BY 1",
            &[],
        )
        .await
        .pg_context(|| "looking for rehearsal databases on the target server".into())?;
    let now = crate::report::unix_now();
    Ok(rows
        .iter()
        .map(|r| r.get::<_, String>(0))
        .filter(|d| rehearsal_stamp(d).is_some_and(|t| now.saturating_sub(t) >= min_age_secs))
        .collect())
}

/// The creation time in a rehearsal database's name
/// (`pgbarge_rehearsal_PID_UNIXTIME`).
fn rehearsal_stamp(name: &str) -> Option<u64> {
    name.strip_prefix("pgbarge_rehearsal_")?
        .rsplit('_')
        .next()?
        .parse()
        .ok()
}

/// Warnings naming rehearsal databases on the target's server (for runs
/// of other commands: they point to `pgbarge clean`).
pub async fn rehearsal_warnings(dst: &Session) -> Result<Vec<String>> {
    if dst.endpoint.dbname.starts_with("pgbarge_rehearsal_") {
        return Ok(Vec::new());
    }
    Ok(rehearsal_databases(dst, WARN_AFTER_SECS)
        .await?
        .into_iter()
        .map(|d| {
            format!(
                "database {d} on the target server was left by a rehearsal that did not finish \
                 (unless one is running now): `pgbarge clean --target URL` removes it"
            )
        })
        .collect())
}

/// Everything unfinished runs left on the target.
pub async fn find(dst: &Session) -> Result<Leftovers> {
    Ok(Leftovers {
        runs: runstate::find(&dst.client, &[]).await?,
        rehearsals: rehearsal_databases(dst, CLEAN_AFTER_SECS).await?,
    })
}

/// Run `pgbarge clean`.
pub async fn clean(s: &CleanSettings) -> Result<u8> {
    let mode = Mode::detect(s.quiet);
    let dst = conn::connect(&s.target, Role::Target).await?;
    let found = find(&dst).await?;
    if found.is_empty() {
        mode.say(&format!(
            "nothing to clean on {}: no unfinished pgbarge run is recorded there and no rehearsal \
             database is left on its server",
            s.target
        ));
        return Ok(0);
    }
    schema::confirm(
        s.yes,
        &format!("pgbarge clean removes from {}", s.target),
        &found.lines(),
        "clean not confirmed; nothing was changed",
    )?;
    let mut problems = Vec::new();
    for r in &found.runs {
        let p = schema::undo(&s.target, &r.created, &r.created_schemas).await;
        if p.is_empty() {
            dst.client
                .execute(
                    &format!("DELETE FROM {}.runs WHERE run_id = $1", runstate::SCHEMA),
                    &[&r.id],
                )
                .await
                .pg_context(|| format!("removing the record of run {}", r.id))?;
            mode.say(&crate::ddl::quote::terminal_text(&format!(
                "removed the unfinished {}",
                r.command
            )));
        } else {
            // The record stays while its objects do: a second clean retries.
            problems.extend(p);
        }
    }
    if !found.runs.is_empty() {
        runstate::forget_if_empty(&dst.client)
            .await
            .map_err(Error::Runtime)?;
    }
    for d in &found.rehearsals {
        match dst
            .client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {}", quote_ident(d)))
            .await
        {
            Ok(()) => mode.say(&format!("dropped database {d}")),
            Err(e) => problems.push(format!(
                "database {d}: {} (is a rehearsal running now?)",
                describe_pg(&e)
            )),
        }
    }
    if problems.is_empty() {
        return Ok(0);
    }
    Err(Error::Runtime(anyhow!(
        "some leftovers could not be removed:\n  - {}",
        problems.join("\n  - ")
    )))
}

#[cfg(test)]
mod tests {
    #[test]
    fn rehearsal_names_carry_their_time() {
        assert_eq!(
            super::rehearsal_stamp("pgbarge_rehearsal_12_1700000000"),
            Some(1_700_000_000)
        );
        assert_eq!(super::rehearsal_stamp("pgbarge_rehearsal_x"), None);
        assert_eq!(super::rehearsal_stamp("other_12_1700000000"), None);
    }
}
