//! Many DDL statements to a round trip.
//!
//! A target 20-100 ms away charges one round trip per statement that is
//! sent and answered alone, and a real schema has thousands. Statements
//! whose answers are not needed before the next is sent go together, in
//! one of two ways, and each still either applies or stops the run naming
//! itself:
//! - inside a transaction, as one simple query under a savepoint; when
//!   the server refuses it, it is undone to the savepoint and its
//!   statements run one at a time, so the error names the statement that
//!   failed (only a failure costs more round trips);
//! - outside one, pipelined: every statement is its own query and its own
//!   transaction (locks are held no longer than when each went alone, so
//!   sessions working side by side cannot deadlock over a batch), all sent
//!   before the first answer is read; each answer names its statement.

use std::ops::Range;

use anyhow::anyhow;
use tokio_postgres::GenericClient;

use crate::conn;
use crate::ddl::lexer;
use crate::error::{describe_pg, Error, Result};

/// A batch stays under this many bytes of SQL (large enough that a link's
/// round trip, not its bandwidth, is what a small batch saves)...
pub const MAX_BYTES: usize = 512 * 1024;
/// ... and this many statements (the unit named by a lock wait report).
pub const MAX_STATEMENTS: usize = 500;

/// One statement to run: `what` names it in errors, `sql` is what is
/// sent (the statement, or it with the record of its run).
pub struct Item<'a> {
    pub what: &'a str,
    pub sql: std::borrow::Cow<'a, str>,
}

/// The batches `sqls` are sent in, in order: consecutive statements up to
/// the limits. A statement that does not end cleanly (an open quote or
/// comment, which would swallow what follows) goes alone.
pub fn batches<S: AsRef<str>>(sqls: &[S]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, sql) in sqls.iter().enumerate() {
        let sql = sql.as_ref();
        let alone = !lexer::ends_cleanly(sql);
        let full = i > start && (bytes + sql.len() > MAX_BYTES || i - start >= MAX_STATEMENTS);
        if i > start && (alone || full) {
            out.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += sql.len();
        if alone {
            out.push(start..i + 1);
            start = i + 1;
            bytes = 0;
        }
    }
    if start < sqls.len() {
        out.push(start..sqls.len());
    }
    out
}

/// What a batch is, for messages: its first statement and how many follow.
pub fn about(batch: &[Item<'_>]) -> String {
    format!(
        "{} and the {} statements after it",
        batch[0].what,
        batch.len() - 1
    )
}

/// The text of one batch: the statements separated so that none can end
/// inside another's line comment.
pub fn joined(items: &[Item<'_>]) -> String {
    let mut sql = String::new();
    for it in items {
        if !sql.is_empty() {
            sql.push_str("\n;\n");
        }
        sql.push_str(&it.sql);
    }
    sql
}

/// Run `items` on `c` (the session with backend `pid`), in order, many to
/// a round trip. `in_transaction`: `c` is inside a transaction block (a
/// refused batch is undone to a savepoint); otherwise the statements are
/// pipelined, each its own transaction. A statement the server refuses goes through
/// `refused` with its index; a statement lost on the way is a runtime
/// error naming it (see `conn::locks::working`).
pub async fn run<C: GenericClient + Sync>(
    c: &C,
    pid: i32,
    in_transaction: bool,
    items: &[Item<'_>],
    refused: impl Fn(usize, tokio_postgres::Error) -> Error,
) -> Result<()> {
    let sqls: Vec<&str> = items.iter().map(|i| i.sql.as_ref()).collect();
    for range in batches(&sqls) {
        let batch = &items[range.clone()];
        let what = || about(batch);
        if !in_transaction && batch.len() > 1 {
            let sent =
                futures_util::future::join_all(batch.iter().map(|it| c.batch_execute(&it.sql)));
            let answers = conn::locks::working(pid, what, sent)
                .await
                .map_err(Error::Runtime)?;
            // The first refusal names its statement (those after it ran too,
            // each on its own, as after any failure of a side session). A
            // statement chosen as a deadlock's victim (another session
            // locked the same tables in the other order) was undone whole:
            // it and every statement after it that failed run again, in
            // order, one at a time.
            let mut again = false;
            for (i, a) in answers.into_iter().enumerate() {
                match a {
                    Ok(()) => {}
                    Err(e) if again || deadlocked(&e) => {
                        again = true;
                        one(c, pid, &batch[i], |e| refused(range.start + i, e)).await?;
                    }
                    Err(e) => return Err(refused(range.start + i, e)),
                }
            }
            continue;
        }
        if batch.len() == 1 {
            if in_transaction {
                once(c, pid, &batch[0], |e| refused(range.start, e)).await?;
            } else {
                one(c, pid, &batch[0], |e| refused(range.start, e)).await?;
            }
            continue;
        }
        let sql = format!(
            "SAVEPOINT pgbarge_batch;\n{}\n;\nRELEASE SAVEPOINT pgbarge_batch",
            joined(batch)
        );
        match conn::locks::working(pid, what, c.batch_execute(&sql)).await {
            Ok(Ok(())) => continue,
            Ok(Err(_)) => {}
            Err(lost) => return Err(Error::Runtime(lost)),
        }
        c.batch_execute("ROLLBACK TO SAVEPOINT pgbarge_batch; RELEASE SAVEPOINT pgbarge_batch")
            .await
            .map_err(|e| {
                Error::Runtime(anyhow!(
                    "undoing a refused batch of statements on the target: {}",
                    describe_pg(&e)
                ))
            })?;
        // Nothing of the batch stayed: find the statement that fails.
        for (i, it) in batch.iter().enumerate() {
            once(c, pid, it, |e| refused(range.start + i, e)).await?;
        }
    }
    Ok(())
}

/// One statement alone: refused by the server (through `refused`), or
/// lost on the way.
async fn once<C: GenericClient + Sync>(
    c: &C,
    pid: i32,
    it: &Item<'_>,
    refused: impl FnOnce(tokio_postgres::Error) -> Error,
) -> Result<()> {
    match conn::locks::working(pid, || it.what.to_string(), c.batch_execute(&it.sql)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(refused(e)),
        Err(lost) => Err(Error::Runtime(lost)),
    }
}

/// How often a statement of its own transaction runs again after being
/// a deadlock's victim before the deadlock is its error.
const DEADLOCK_TRIES: usize = 3;

/// [`once`] for a statement that is its own transaction: one chosen as a
/// deadlock's victim was undone whole, so it runs again (the server
/// waited `deadlock_timeout` before choosing, so the session it collided
/// with has moved on).
async fn one<C: GenericClient + Sync>(
    c: &C,
    pid: i32,
    it: &Item<'_>,
    refused: impl FnOnce(tokio_postgres::Error) -> Error,
) -> Result<()> {
    for _ in 1..DEADLOCK_TRIES {
        match conn::locks::working(pid, || it.what.to_string(), c.batch_execute(&it.sql)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if deadlocked(&e) => continue,
            Ok(Err(e)) => return Err(refused(e)),
            Err(lost) => return Err(Error::Runtime(lost)),
        }
    }
    once(c, pid, it, refused).await
}

fn deadlocked(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_go_together_up_to_the_limits() {
        let small = vec!["CREATE TABLE t (a int)"; 1200];
        let b = batches(&small);
        assert_eq!(b, vec![0..500, 500..1000, 1000..1200]);
        let big = "x".repeat(MAX_BYTES / 2 + 1);
        let sqls = vec![big.as_str(), big.as_str(), "SELECT 1", big.as_str()];
        assert_eq!(batches(&sqls), vec![0..1, 1..3, 3..4]);
        let empty: Vec<&str> = Vec::new();
        assert!(batches(&empty).is_empty());
    }

    #[test]
    fn a_statement_that_does_not_end_cleanly_goes_alone() {
        let sqls = [
            "SELECT 1",
            "SELECT 2",
            "COMMENT ON TABLE t IS 'open",
            "SELECT 3",
            "SELECT 4",
        ];
        assert_eq!(batches(&sqls), vec![0..2, 2..3, 3..5]);
        let first = ["SELECT 'open", "SELECT 1"];
        assert_eq!(batches(&first), vec![0..1, 1..2]);
    }

    #[test]
    fn joined_statements_cannot_run_into_each_other() {
        let items = [
            Item {
                what: "a",
                sql: "SELECT 1 -- note".into(),
            },
            Item {
                what: "b",
                sql: "SELECT 2".into(),
            },
        ];
        assert_eq!(joined(&items), "SELECT 1 -- note\n;\nSELECT 2");
    }
}
