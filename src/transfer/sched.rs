//! Hands jobs to workers: a job is ready once every job it depends on has
//! committed; among ready jobs the largest goes first, so the longest
//! table starts early and does not finish last alone.

use std::collections::BinaryHeap;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::order::Job;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Waiting,
    Running,
    Done,
    Failed,
    /// A job it depends on failed, so it was never started.
    Skipped,
}

struct Inner {
    state: Vec<JobState>,
    missing: Vec<usize>,
    dependents: Vec<Vec<usize>>,
    ready: BinaryHeap<(u64, usize)>,
    running: usize,
}

pub struct Scheduler {
    inner: Mutex<Inner>,
    sizes: Vec<u64>,
    wake: Notify,
}

impl Scheduler {
    pub fn new(jobs: &[Job], sizes: Vec<u64>) -> Self {
        let mut dependents = vec![Vec::new(); jobs.len()];
        for (i, j) in jobs.iter().enumerate() {
            for &d in &j.deps {
                dependents[d].push(i);
            }
        }
        let missing: Vec<usize> = jobs.iter().map(|j| j.deps.len()).collect();
        let ready = missing
            .iter()
            .enumerate()
            .filter(|(_, &m)| m == 0)
            .map(|(i, _)| (sizes[i], i))
            .collect();
        Scheduler {
            inner: Mutex::new(Inner {
                state: vec![JobState::Waiting; jobs.len()],
                missing,
                dependents,
                ready,
                running: 0,
            }),
            sizes,
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next job to run, or `None` when nothing is left that can run.
    pub async fn next(&self) -> Option<usize> {
        loop {
            let notified = self.wake.notified();
            {
                let mut g = self.lock();
                if let Some((_, j)) = g.ready.pop() {
                    g.state[j] = JobState::Running;
                    g.running += 1;
                    return Some(j);
                }
                if g.running == 0 {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Record the end of a job and release or skip its dependents.
    pub fn complete(&self, job: usize, ok: bool) {
        let mut g = self.lock();
        g.running -= 1;
        g.state[job] = if ok { JobState::Done } else { JobState::Failed };
        let mut stack = g.dependents[job].clone();
        while let Some(d) = stack.pop() {
            if g.state[d] != JobState::Waiting {
                continue;
            }
            if ok {
                g.missing[d] -= 1;
                if g.missing[d] == 0 {
                    let size = self.sizes[d];
                    g.ready.push((size, d));
                }
            } else {
                g.state[d] = JobState::Skipped;
                stack.extend(g.dependents[d].clone());
            }
        }
        drop(g);
        self.wake.notify_waiters();
    }

    pub fn states(&self) -> Vec<JobState> {
        self.lock().state.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(deps: Vec<usize>) -> Job {
        Job {
            units: vec![],
            deps,
            deferred: false,
        }
    }

    #[tokio::test]
    async fn largest_ready_first_then_dependents() {
        let s = Scheduler::new(&[job(vec![]), job(vec![]), job(vec![0])], vec![10, 20, 99]);
        assert_eq!(s.next().await, Some(1));
        assert_eq!(s.next().await, Some(0));
        s.complete(0, true);
        assert_eq!(s.next().await, Some(2));
        s.complete(1, true);
        s.complete(2, true);
        assert_eq!(s.next().await, None);
    }

    #[tokio::test]
    async fn failure_skips_dependents_transitively() {
        let s = Scheduler::new(&[job(vec![]), job(vec![0]), job(vec![1])], vec![1, 1, 1]);
        assert_eq!(s.next().await, Some(0));
        s.complete(0, false);
        assert_eq!(s.next().await, None);
        assert_eq!(
            s.states(),
            vec![JobState::Failed, JobState::Skipped, JobState::Skipped]
        );
    }
}
