//! A user-space TCP proxy that makes a local server look like a cloud one:
//! every byte is delayed by a fixed one-way latency, and all connections
//! share one bandwidth cap (kernel traffic shaping is not available on the
//! benchmark machines).
//!
//! ```text
//! cargo run --release --example throttle_proxy -- LISTEN_PORT UPSTREAM_PORT DELAY_MS MBIT [STATS_FILE]
//! ```
//! Listens on 127.0.0.1:LISTEN_PORT and forwards to 127.0.0.1:UPSTREAM_PORT.
//! With STATS_FILE, writes the bytes relayed in each direction there every
//! tenth of a second, and the round trips (`up down turns`), and appends
//! `UNIX_TIME TURNS` to STATS_FILE.series whenever the turns changed (to
//! split them by the phases of a run), so a benchmark can
//! read how much crossed the link and how often a client waited: a turn
//! is each time a connection's server answers after its client sent
//! (a client that sends many statements before reading pays one).
//! MBIT 0 means no bandwidth cap (latency only).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Mutex};
use tokio::time::Instant;

/// Read size per hop; small enough that the cap is applied smoothly.
const READ_CHUNK: usize = 16 * 1024;
/// Chunks queued per direction: bounds memory at about 4 MiB per stream.
const QUEUE: usize = 256;

/// Shared token bucket: bytes may leave no faster than `rate` per second.
struct Bucket {
    rate: f64,
    next_free: Mutex<Instant>,
}

impl Bucket {
    async fn take(&self, n: usize) {
        if self.rate <= 0.0 {
            return;
        }
        let wait_until = {
            let mut next = self.next_free.lock().await;
            let now = Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(n as f64 / self.rate);
            start
        };
        tokio::time::sleep_until(wait_until).await;
    }
}

/// One direction of a connection, for counting round trips.
struct Turn {
    down: bool,
    client_spoke: Arc<AtomicBool>,
    turns: Arc<AtomicU64>,
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    bucket: Arc<Bucket>,
    counter: Arc<AtomicU64>,
    turn: Turn,
) {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx
                        .send((Instant::now() + delay, buf[..n].to_vec()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    while let Some((due, chunk)) = rx.recv().await {
        bucket.take(chunk.len()).await;
        tokio::time::sleep_until(due).await;
        if to.write_all(&chunk).await.is_err() {
            break;
        }
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        // `client_spoke`: true after the client's bytes went up, set back
        // by the first answer down, which is one turn.
        if turn.down {
            if turn.client_spoke.swap(false, Ordering::Relaxed) {
                turn.turns.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            turn.client_spoke.store(true, Ordering::Relaxed);
        }
    }
    let _ = to.shutdown().await;
    reader.abort();
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: throttle_proxy LISTEN_PORT UPSTREAM_PORT DELAY_MS MBIT [STATS_FILE]");
        std::process::exit(2);
    }
    let parse = |i: usize| -> f64 {
        args[i].parse().unwrap_or_else(|_| {
            eprintln!(
                "throttle_proxy: argument {i} (\"{}\") is not a number",
                args[i]
            );
            std::process::exit(2)
        })
    };
    let (listen, upstream, delay_ms, mbit) = (parse(1) as u16, parse(2) as u16, parse(3), parse(4));
    let delay = Duration::from_secs_f64(delay_ms / 1000.0);
    // One cap per direction, shared by every connection, as on a real link.
    let up = Arc::new(Bucket {
        rate: mbit * 1e6 / 8.0,
        next_free: Mutex::new(Instant::now()),
    });
    let down = Arc::new(Bucket {
        rate: mbit * 1e6 / 8.0,
        next_free: Mutex::new(Instant::now()),
    });
    let (sent_up, sent_down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let turns = Arc::new(AtomicU64::new(0));
    if let Some(path) = args.get(5).cloned() {
        let (u, d, t) = (sent_up.clone(), sent_down.clone(), turns.clone());
        let series = format!("{path}.series");
        tokio::spawn(async move {
            let mut last = u64::MAX;
            loop {
                let now = t.load(Ordering::Relaxed);
                let text = format!(
                    "{} {} {}\n",
                    u.load(Ordering::Relaxed),
                    d.load(Ordering::Relaxed),
                    now
                );
                let _ = std::fs::write(&path, text);
                if now != last {
                    let at = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_secs_f64();
                    let line = format!("{at:.3} {now}\n");
                    let _ = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&series)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
                    last = now;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }
    let listener = TcpListener::bind(("127.0.0.1", listen)).await?;
    loop {
        let (client, _) = listener.accept().await?;
        let (up, down, su, sd) = (up.clone(), down.clone(), sent_up.clone(), sent_down.clone());
        let turns = turns.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            let spoke = Arc::new(AtomicBool::new(false));
            let (t_up, t_down) = (
                Turn {
                    down: false,
                    client_spoke: spoke.clone(),
                    turns: turns.clone(),
                },
                Turn {
                    down: true,
                    client_spoke: spoke,
                    turns,
                },
            );
            tokio::join!(
                pipe(cr, sw, delay, up, su, t_up),
                pipe(sr, cw, delay, down, sd, t_down)
            );
        });
    }
}
