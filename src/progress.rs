//! Progress of long work: bars on a terminal, plain periodic log lines
//! elsewhere (CI, pipes), nothing but errors under `--quiet`.
//!
//! The copy loops only bump atomic counters; a separate ticker task reads
//! them and draws, so the hot path never waits on the display.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often bars redraw.
const BAR_TICK: Duration = Duration::from_millis(200);
/// How often a non-terminal run prints a progress line.
const LOG_EVERY: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Log,
    Quiet,
}

impl Mode {
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && std::env::var_os("CI").is_none() {
            Mode::Bars
        } else {
            Mode::Log
        }
    }

    /// A progress line on stderr, unless quiet.
    pub fn say(self, m: &str) {
        if self != Mode::Quiet {
            eprintln!("{m}");
        }
    }
}

/// Live counters of one table.
#[derive(Debug)]
pub struct TableProgress {
    pub name: String,
    pub bytes: AtomicU64,
    pub rows: AtomicU64,
    pub est_rows: u64,
    /// What the run's total counted for this table before it started.
    est_bytes: u64,
    started: Instant,
    bar: Option<ProgressBar>,
}

impl TableProgress {
    pub fn add(&self, bytes: u64, rows: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.rows.fetch_add(rows, Ordering::Relaxed);
    }

    /// Start counting again (a retry loads the table from its start).
    pub fn reset(&self) {
        self.bytes.store(0, Ordering::Relaxed);
        self.rows.store(0, Ordering::Relaxed);
    }
}

struct State {
    active: Vec<Arc<TableProgress>>,
    done_tables: usize,
    done_bytes: u64,
    done_rows: u64,
    /// The estimates of the finished tables, replaced in the total by
    /// what they really held, so the bar ends at 100 %.
    done_est: u64,
}

/// The display for one run.
pub struct Progress {
    mode: Mode,
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    state: Mutex<State>,
    total_tables: usize,
    est_bytes: u64,
    started: Instant,
}

impl Progress {
    pub fn new(mode: Mode, total_tables: usize, est_bytes: u64) -> Arc<Self> {
        let (multi, overall) = if mode == Mode::Bars {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let bar = multi.add(ProgressBar::new(est_bytes.max(1)));
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            (Some(multi), Some(bar))
        } else {
            (None, None)
        };
        Arc::new(Progress {
            mode,
            multi,
            overall,
            state: Mutex::new(State {
                active: Vec::new(),
                done_tables: 0,
                done_bytes: 0,
                done_rows: 0,
                done_est: 0,
            }),
            total_tables,
            est_bytes,
            started: Instant::now(),
        })
    }

    /// Print a line without tearing the bars.
    pub fn println(&self, line: &str) {
        match (&self.multi, self.mode) {
            (Some(m), _) => {
                let _ = m.println(line);
            }
            (None, Mode::Log) => eprintln!("{line}"),
            _ => {}
        }
    }

    /// A table (or part) starts: `est_rows` and `est_bytes` are what the
    /// run's totals counted for it.
    pub fn start_table(&self, name: &str, est_rows: u64, est_bytes: u64) -> Arc<TableProgress> {
        let bar = self.multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new_spinner());
            b.set_style(
                ProgressStyle::with_template("  {spinner} {msg}").expect("static template"),
            );
            b
        });
        let t = Arc::new(TableProgress {
            // Shown on the terminal: no control characters from a name.
            name: crate::ddl::quote::comment_text(name),
            bytes: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            est_rows,
            est_bytes,
            started: Instant::now(),
            bar,
        });
        self.lock().active.push(t.clone());
        t
    }

    /// A table whose load was undone and will be tried again: off the
    /// display, counted neither done nor failed.
    pub fn abandon_table(&self, t: &Arc<TableProgress>) {
        self.lock().active.retain(|a| !Arc::ptr_eq(a, t));
        if let Some(b) = &t.bar {
            b.finish_and_clear();
            if let Some(m) = &self.multi {
                m.remove(b);
            }
        }
    }

    pub fn finish_table(&self, t: &Arc<TableProgress>, outcome: &str) {
        {
            let mut s = self.lock();
            s.active.retain(|a| !Arc::ptr_eq(a, t));
            s.done_tables += 1;
            s.done_bytes += t.bytes.load(Ordering::Relaxed);
            s.done_rows += t.rows.load(Ordering::Relaxed);
            s.done_est += t.est_bytes;
        }
        if let Some(b) = &t.bar {
            b.finish_and_clear();
            if let Some(m) = &self.multi {
                m.remove(b);
            }
        }
        if self.mode == Mode::Log {
            eprintln!(
                "{:>7.1}s {} {}: {} rows, {} in {:.1}s",
                self.started.elapsed().as_secs_f64(),
                outcome,
                t.name,
                t.rows.load(Ordering::Relaxed),
                HumanBytes(t.bytes.load(Ordering::Relaxed)),
                t.started.elapsed().as_secs_f64()
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere must not take the display down with it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bytes the run will move, as best known now: finished tables as
    /// they were, running ones as estimated (or more, once past it), the
    /// rest as estimated. Equal to the bytes moved once all are done.
    fn expected_bytes(&self) -> u64 {
        let s = self.lock();
        let active: u64 = s
            .active
            .iter()
            .map(|t| t.est_bytes.max(t.bytes.load(Ordering::Relaxed)))
            .sum();
        let active_est: u64 = s.active.iter().map(|t| t.est_bytes).sum();
        s.done_bytes + active + self.est_bytes.saturating_sub(s.done_est + active_est)
    }

    fn totals(&self) -> (u64, u64, usize, Vec<Arc<TableProgress>>) {
        let s = self.lock();
        let bytes = s.done_bytes
            + s.active
                .iter()
                .map(|t| t.bytes.load(Ordering::Relaxed))
                .sum::<u64>();
        let rows = s.done_rows
            + s.active
                .iter()
                .map(|t| t.rows.load(Ordering::Relaxed))
                .sum::<u64>();
        (bytes, rows, s.done_tables, s.active.clone())
    }

    fn draw_bars(&self) {
        let (bytes, rows, done, active) = self.totals();
        if let Some(o) = &self.overall {
            o.set_length(self.expected_bytes().max(bytes).max(1));
            o.set_position(bytes);
            o.set_message(format!("{rows} rows, {done}/{} tables", self.total_tables));
        }
        for t in active {
            if let Some(b) = &t.bar {
                let r = t.rows.load(Ordering::Relaxed);
                let pct = (r * 100)
                    .checked_div(t.est_rows)
                    .map(|p| format!(" ({}%)", p.min(99)))
                    .unwrap_or_default();
                b.set_message(format!(
                    "{}: {} rows{pct}, {}",
                    t.name,
                    r,
                    HumanBytes(t.bytes.load(Ordering::Relaxed))
                ));
                b.tick();
            }
        }
    }

    fn log_line(&self) {
        let (bytes, rows, done, active) = self.totals();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let names: Vec<String> = active.iter().map(|t| t.name.clone()).collect();
        eprintln!(
            "{secs:>7.1}s progress: {done}/{} tables, {rows} rows, {} ({}/s), active: {}",
            self.total_tables,
            HumanBytes(bytes),
            HumanBytes((bytes as f64 / secs) as u64),
            if names.is_empty() {
                "-".to_string()
            } else {
                names.join(", ")
            }
        );
    }

    /// Redraw until `stop` fires. Run as its own task.
    pub async fn run_ticker(self: Arc<Self>, mut stop: tokio::sync::oneshot::Receiver<()>) {
        let every = match self.mode {
            Mode::Bars => BAR_TICK,
            Mode::Log => LOG_EVERY,
            Mode::Quiet => return,
        };
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => match self.mode {
                    Mode::Bars => self.draw_bars(),
                    _ => self.log_line(),
                },
            }
        }
        // The bar goes; its final state stays on screen as a line (100 %
        // when every table ran).
        if let Some(o) = &self.overall {
            o.finish_and_clear();
            let (bytes, rows, done, _) = self.totals();
            let total = self.expected_bytes().max(bytes).max(1);
            eprintln!(
                "{:>7.1}s {} of {} ({}%), {rows} rows, {done}/{} tables",
                self.started.elapsed().as_secs_f64(),
                HumanBytes(bytes),
                HumanBytes(total),
                bytes * 100 / total,
                self.total_tables
            );
        }
    }
}
