//! One table's rows from a source COPY OUT to a target COPY IN, as raw
//! bytes, never decoded.
//!
//! A reader task coalesces the source's per-row messages into chunks and
//! hands them over a bounded channel, so reading and writing overlap while
//! memory stays at `CHANNEL_DEPTH` chunks per table (plus the largest row).

use anyhow::{anyhow, bail, Context};
use bytes::{Bytes, BytesMut};
use futures_util::{pin_mut, SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_postgres::Client;

use super::framing::RowCounter;
use super::Unit;
use crate::error::describe_pg;
use crate::progress::TableProgress;
use crate::transfer::framing::{copy_statement, Direction};

/// Size of the chunks handed to the target: large enough that per-message
/// overhead vanishes, small enough that progress moves smoothly.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between reader and writer: bounds memory per table.
const CHANNEL_DEPTH: usize = 8;

pub struct Copied {
    pub rows: u64,
    pub bytes: u64,
}

pub fn copy_out_sql(u: &Unit) -> String {
    copy_statement(&u.source.quoted(), &u.columns, u.binary, Direction::Out)
}

pub fn copy_in_sql(u: &Unit, freeze: bool) -> String {
    copy_statement(
        &u.target.quoted(),
        &u.columns,
        u.binary,
        Direction::In { freeze },
    )
}

/// A small table's rows as COPY text, read whole into memory; more than
/// `limit` bytes is an error (its size estimate was wrong).
pub async fn read_text(src: &Client, u: &Unit, limit: usize) -> anyhow::Result<Vec<u8>> {
    let sql = copy_statement(&u.source.quoted(), &u.columns, false, Direction::Out);
    let stream = src
        .copy_out(&sql)
        .await
        .map_err(|e| anyhow!("source {}: {}", u.source, describe_pg(&e)))?;
    pin_mut!(stream);
    let mut data = Vec::new();
    while let Some(msg) =
        crate::conn::within_stall(|| format!("source {}", u.source), stream.next()).await?
    {
        let msg = msg.map_err(|e| anyhow!("source {}: {}", u.source, describe_pg(&e)))?;
        data.extend_from_slice(&msg);
        if data.len() > limit {
            bail!(
                "source {}: more than {limit} bytes, far above its size estimate",
                u.source
            );
        }
    }
    Ok(data)
}

/// Stream unit `u` from `src` into `dst` (in the caller's transaction)
/// through the prepared `copy_in_sql` statement.
pub async fn copy_unit(
    src: &Client,
    dst: &Client,
    u: &Unit,
    prepared: &tokio_postgres::Statement,
    tp: &TableProgress,
) -> anyhow::Result<Copied> {
    // Start the target side first: a refusal there (privileges, a missing
    // column) should not cost a read of the whole source table.
    let sink = dst
        .copy_in::<_, Bytes>(prepared)
        .await
        .map_err(|e| anyhow!("target {}: {}", u.target, describe_pg(&e)))?;
    let stream = src
        .copy_out(&copy_out_sql(u))
        .await
        .map_err(|e| anyhow!("source {}: {}", u.source, describe_pg(&e)))?;
    // Chunks travel with the number of rows they complete, for progress:
    // the framing is parsed once, by the reader.
    let (tx, rx) = mpsc::channel::<(Bytes, u64)>(CHANNEL_DEPTH);
    let binary = u.binary;
    let source = u.source.clone();
    let reader = async move {
        pin_mut!(stream);
        let mut counter = RowCounter::new(binary);
        let mut buf = BytesMut::with_capacity(CHUNK);
        let mut bytes = 0u64;
        let mut sent_rows = 0u64;
        while let Some(msg) =
            crate::conn::within_stall(|| format!("source {source}"), stream.next()).await?
        {
            let msg = msg.map_err(|e| anyhow!("source {source}: {}", describe_pg(&e)))?;
            counter
                .feed(&msg)
                .with_context(|| format!("source {source}"))?;
            bytes += msg.len() as u64;
            let chunk = if buf.is_empty() && msg.len() >= CHUNK {
                msg
            } else {
                buf.extend_from_slice(&msg);
                if buf.len() < CHUNK {
                    continue;
                }
                buf.split().freeze()
            };
            let rows = counter.rows() - sent_rows;
            sent_rows = counter.rows();
            if tx.send((chunk, rows)).await.is_err() {
                return Ok(None);
            }
        }
        let rows = counter
            .finish()
            .with_context(|| format!("source {source}"))?;
        if !buf.is_empty() && tx.send((buf.freeze(), rows - sent_rows)).await.is_err() {
            return Ok(None);
        }
        anyhow::Ok(Some((rows, bytes)))
    };
    let mut sink = Box::pin(sink);
    let writer = async {
        // The receiver moves into this future: when a write fails, the
        // future ends and drops it, so the reader's next send fails and
        // the reader stops too (borrowed, it lived on and the reader
        // waited forever on a full channel).
        let mut rx = rx;
        while let Some((chunk, rows)) = rx.recv().await {
            tp.add(chunk.len() as u64, rows);
            crate::conn::within_stall(|| format!("target {}", u.target), sink.as_mut().feed(chunk))
                .await?
                .map_err(|e| anyhow!("target {}: {}", u.target, describe_pg(&e)))?;
        }
        Ok::<_, anyhow::Error>(())
    };
    // Both halves run in this task; the channel lets them overlap.
    let (read, written) = tokio::join!(reader, writer);
    written?;
    let Some((rows, bytes)) = read? else {
        bail!("target {} stopped taking data", u.target);
    };
    let loaded =
        crate::conn::within_stall(|| format!("target {}", u.target), sink.as_mut().finish())
            .await?
            .map_err(|e| anyhow!("target {}: {}", u.target, describe_pg(&e)))?;
    if loaded != rows {
        bail!(
            "target {} took {loaded} rows but the source sent {rows}",
            u.target
        );
    }
    Ok(Copied { rows, bytes })
}
