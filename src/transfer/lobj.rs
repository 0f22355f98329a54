//! Large objects of a copy: after every table's rows, each large object
//! of the plan is created on the target under its source oid and filled
//! from the source's snapshot in chunks, all in one target transaction
//! (with the run's record of it), so a target holds all of them or none.
//! Their owners, grants and comments are plan statements that run after.

use std::collections::HashSet;

use anyhow::Context as _;
use tokio_postgres::Client;

use crate::conn::Session;
use crate::runstate::{step_key, RunState};
use crate::{stop, Error, Result};

/// Bytes read and written per round trip.
const CHUNK: i32 = 1 << 20;

/// Whether the run being resumed copied the large objects.
pub fn done(done_steps: &HashSet<String>) -> bool {
    done_steps.contains(&step_key(STEP))
}

/// Up to a chunk of large object `oid` from `offset`, read on `src`.
pub async fn read_chunk(src: &Client, oid: u32, offset: i64) -> anyhow::Result<Vec<u8>> {
    Ok(src
        .query_one(
            "SELECT pg_catalog.lo_get($1, $2, $3)",
            &[&oid, &offset, &CHUNK],
        )
        .await
        .with_context(|| format!("reading large object {oid} on the source"))?
        .get(0))
}

/// Whether the object may go on after this chunk (a full one).
pub fn more_after(chunk: &[u8]) -> bool {
    chunk.len() >= CHUNK as usize
}

/// The run-state step that records the large objects as copied.
const STEP: &str = "-- pgbarge: large objects";

/// What was copied: (large objects, bytes); None when an interrupted run
/// copied them already. `replace` (rows-only copies): an object the
/// target has under the same oid is emptied and refilled, as a table is
/// truncated and loaded, keeping its owner, grants and comment; else
/// every object is created.
pub async fn copy(
    src: &Client,
    dst: &mut Session,
    oids: &[u32],
    replace: bool,
    state: Option<&RunState>,
    done_steps: &HashSet<String>,
) -> Result<Option<(usize, u64)>> {
    if oids.is_empty() {
        return Ok(Some((0, 0)));
    }
    if done(done_steps) {
        return Ok(None);
    }
    let work = async {
        let tx = dst
            .client
            .transaction()
            .await
            .context("starting the large objects' transaction on the target")?;
        let mut bytes = 0u64;
        let mut present = HashSet::new();
        if replace {
            // 131072: INV_WRITE; the descriptor lives until the commit.
            for r in tx
                .query(
                    "SELECT m.oid, pg_catalog.lo_truncate(pg_catalog.lo_open(m.oid, 131072), 0) \
                       FROM pg_catalog.pg_largeobject_metadata m WHERE m.oid = ANY($1)",
                    &[&oids],
                )
                .await
                .context("emptying the target's large objects that have the source's oids")?
            {
                present.insert(r.get::<_, u32>(0));
            }
        }
        for &oid in oids {
            if !present.contains(&oid) {
                tx.execute("SELECT pg_catalog.lo_create($1)", &[&oid])
                    .await
                    .with_context(|| format!("creating large object {oid} on the target"))?;
            }
            let mut offset = 0i64;
            loop {
                let data = read_chunk(src, oid, offset).await?;
                if data.is_empty() {
                    break;
                }
                tx.execute(
                    "SELECT pg_catalog.lo_put($1, $2, $3)",
                    &[&oid, &offset, &data],
                )
                .await
                .with_context(|| format!("writing large object {oid} on the target"))?;
                offset += data.len() as i64;
                bytes += data.len() as u64;
                if !more_after(&data) {
                    break;
                }
            }
        }
        if let Some(state) = state {
            tx.batch_execute(&state.with_step(STEP))
                .await
                .context("recording the large objects as copied")?;
        }
        tx.commit()
            .await
            .context("committing the large objects on the target")?;
        anyhow::Ok(bytes)
    };
    // A stop request abandons the transaction: none of them stays.
    tokio::select! {
        r = work => Ok(Some((oids.len(), r.map_err(Error::Runtime)?))),
        _ = stop::wait() => Err(Error::Interrupted),
    }
}
