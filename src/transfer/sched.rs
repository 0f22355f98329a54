//! Hands jobs to workers: a job is ready once every job it depends on has
//! committed; among ready jobs the largest goes first, so the longest
//! table starts early and does not finish last alone. Jobs that would
//! take the same exclusive lock (dropping foreign keys to one parent) are
//! not started together: the second would only wait, holding a worker.

use std::collections::{BinaryHeap, HashSet};
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
    /// Lock keys held by running jobs.
    held: HashSet<usize>,
}

pub struct Scheduler {
    inner: Mutex<Inner>,
    sizes: Vec<u64>,
    /// Per job, the keys of the exclusive locks it takes.
    locks: Vec<Vec<usize>>,
    wake: Notify,
}

impl Scheduler {
    /// `locks[j]` lists keys of the exclusive locks job `j` takes; jobs
    /// sharing a key never run at the same time. Empty means none.
    pub fn new(jobs: &[Job], sizes: Vec<u64>, mut locks: Vec<Vec<usize>>) -> Self {
        locks.resize(jobs.len(), Vec::new());
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
                held: HashSet::new(),
            }),
            sizes,
            locks,
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
                // The largest ready job whose locks are free.
                let mut passed = Vec::new();
                let mut found = None;
                while let Some((size, j)) = g.ready.pop() {
                    if self.locks[j].iter().any(|k| g.held.contains(k)) {
                        passed.push((size, j));
                    } else {
                        found = Some(j);
                        break;
                    }
                }
                g.ready.extend(passed);
                if let Some(j) = found {
                    g.state[j] = JobState::Running;
                    g.running += 1;
                    g.held.extend(self.locks[j].iter().copied());
                    return Some(j);
                }
                if g.running == 0 {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Up to `max` more ready jobs that `fits` accepts and that take no
    /// locks, marked running (for a worker that loads several small jobs
    /// in one transaction). Each is completed on its own.
    pub fn take_ready(&self, max: usize, fits: impl Fn(usize) -> bool) -> Vec<usize> {
        let mut g = self.lock();
        let mut taken = Vec::new();
        let mut kept = Vec::new();
        while let Some((size, j)) = g.ready.pop() {
            if taken.len() < max && self.locks[j].is_empty() && fits(j) {
                taken.push(j);
            } else {
                kept.push((size, j));
            }
        }
        g.ready.extend(kept);
        for &j in &taken {
            g.state[j] = JobState::Running;
            g.running += 1;
        }
        taken
    }

    /// Record the end of a job and release or skip its dependents.
    pub fn complete(&self, job: usize, ok: bool) {
        let mut g = self.lock();
        g.running -= 1;
        for k in &self.locks[job] {
            g.held.remove(k);
        }
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
        let s = Scheduler::new(
            &[job(vec![]), job(vec![]), job(vec![0])],
            vec![10, 20, 99],
            vec![],
        );
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
        let s = Scheduler::new(
            &[job(vec![]), job(vec![0]), job(vec![1])],
            vec![1, 1, 1],
            vec![],
        );
        assert_eq!(s.next().await, Some(0));
        s.complete(0, false);
        assert_eq!(s.next().await, None);
        assert_eq!(
            s.states(),
            vec![JobState::Failed, JobState::Skipped, JobState::Skipped]
        );
    }

    #[tokio::test]
    async fn small_ready_jobs_are_taken_together_and_completed_alone() {
        let s = Scheduler::new(
            &[
                job(vec![]),
                job(vec![]),
                job(vec![]),
                job(vec![1]),
                job(vec![]),
            ],
            vec![5, 1, 2, 1, 3],
            vec![vec![], vec![], vec![], vec![], vec![9]],
        );
        assert_eq!(s.next().await, Some(0));
        // 4 takes a lock and 3 is not ready: only 1 and 2.
        let mut more = s.take_ready(10, |j| j != 0);
        more.sort();
        assert_eq!(more, vec![1, 2]);
        assert!(s.take_ready(10, |_| true).is_empty());
        s.complete(1, true);
        s.complete(2, true);
        s.complete(0, true);
        assert_eq!(s.next().await, Some(4));
        assert_eq!(s.next().await, Some(3));
        s.complete(4, true);
        s.complete(3, true);
        assert_eq!(s.next().await, None);
    }

    #[tokio::test]
    async fn jobs_sharing_a_lock_do_not_run_together() {
        // 0 and 1 both lock key 7; 2 locks nothing.
        let s = Scheduler::new(
            &[job(vec![]), job(vec![]), job(vec![])],
            vec![30, 20, 10],
            vec![vec![7], vec![7], vec![]],
        );
        assert_eq!(s.next().await, Some(0));
        assert_eq!(s.next().await, Some(2), "1 waits for 0's lock");
        s.complete(2, true);
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), s.next()).await;
        assert!(waiting.is_err(), "1 must not start while 0 runs");
        s.complete(0, true);
        assert_eq!(s.next().await, Some(1));
        s.complete(1, true);
        assert_eq!(s.next().await, None);
    }
}
