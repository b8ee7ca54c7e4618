//! Group commit: many writers, one flush.
//!
//! Writers hand their job (one or more writes that stand or fall together) to one
//! committer thread and wait. The thread takes whatever has queued up — one job when the
//! server is quiet, hundreds under load — commits it as one atomic, durable unit, and only
//! then, in commit order, hands each applied write to the [`Applier`] (the in-memory
//! update) and wakes its writer. So:
//! - an acknowledgement always means the write is on disk;
//! - memory changes in exactly the order the store did, and only after the store did, so a
//!   decision never sees a write that could still be lost;
//! - all durable writes reach memory on this one thread, which is why the book needs no
//!   locking protocol beyond dashmap's own. The exception is what a caller put in memory
//!   ahead of its write (an attempt lease, which must count from the moment it is granted):
//!   when that write does not land — the commit failed, or its job was refused — the
//!   applier is told so (`None`), in commit order too, and takes it out again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{Applied, Change, Committed, JobOutcome, LogThrottle, Store, StoreError, WriteOp};

/// The most jobs one commit takes (bounds the latency a single flush adds).
const MAX_GROUP: usize = 4096;

/// Applies a durable write to memory (`Some`), or undoes what was put in memory ahead of a
/// write that did not land (`None`). Runs on the committer thread, in commit order.
pub type Applier = Arc<dyn Fn(&WriteOp, Option<&Applied>) + Send + Sync>;

/// A job in the queue. It commits whether or not this is awaited; awaiting it gives the
/// outcome once it is durable and in memory.
pub struct Queued(oneshot::Receiver<Result<JobOutcome, StoreError>>);

impl std::future::Future for Queued {
    type Output = Result<JobOutcome, StoreError>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(StoreError::Closed)))
    }
}

type Reply = oneshot::Sender<Result<JobOutcome, StoreError>>;

struct Job {
    ops: Vec<WriteOp>,
    reply: Reply,
}

/// The committer thread and its queue, in front of a [`Store`].
pub struct GroupCommit {
    store: Arc<dyn Store>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    memory: Arc<Memory>,
}

/// What writes memory, and, for a store other nodes write too, how far memory has followed
/// its change feed. The committer and the feed's follower both write memory through it,
/// one at a time, so that memory takes every change in the feed's order.
struct Memory {
    applier: Applier,
    /// The feed position memory holds everything up to; held while applying, so that
    /// the committer and the follower apply one at a time and in order.
    position: Mutex<u64>,
    /// The same position, published once what it covers is applied. Deciders read this
    /// one: it never waits on an apply in progress, and so a decider that holds a
    /// reservation stripe never waits on the committer, which may itself be waiting on
    /// that stripe to undo a refused lease.
    published: AtomicU64,
}

impl Memory {
    fn publish(&self, position: u64) {
        self.published.store(position, Ordering::Release);
    }
}

impl GroupCommit {
    pub fn start(store: Arc<dyn Store>, applier: Applier) -> GroupCommit {
        let (tx, rx) = mpsc::channel::<Job>();
        let committer = store.clone();
        let memory = Arc::new(Memory {
            applier,
            position: Mutex::new(0),
            published: AtomicU64::new(0),
        });
        let writer = memory.clone();
        let thread = std::thread::Builder::new()
            .name("predial-commit".into())
            .spawn(move || commit_loop(&*committer, &writer, rx))
            .expect("spawn the commit thread");
        GroupCommit {
            store,
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            memory,
        }
    }

    /// The feed position memory holds everything up to (a lower bound while an apply is
    /// in progress). Never blocks.
    pub fn position(&self) -> u64 {
        self.memory.published.load(Ordering::Acquire)
    }

    /// Sets where memory starts following the feed (start-up, once memory holds the
    /// store's snapshot at that position).
    pub fn start_at(&self, position: u64) {
        *self.memory.position.lock().expect("memory position lock") = position;
        self.memory.publish(position);
    }

    /// Applies what other nodes committed, in feed order, from memory's position on: each
    /// change that follows on from it, up to the first that this node wrote (its commit
    /// applies that one) or the first gap. Answers how many were applied.
    pub fn follow(&self, changes: &[Change]) -> usize {
        let mut position = self.memory.position.lock().expect("memory position lock");
        let mut applied = 0;
        let from = *position;
        for change in changes.iter().skip_while(|c| c.seq <= from) {
            if change.mine || change.seq != *position + 1 {
                break;
            }
            (self.memory.applier)(&change.op, Some(&change.applied));
            *position = change.seq;
            self.memory.publish(change.seq);
            applied += 1;
        }
        applied
    }

    /// Commits `ops` as one job, applies them to memory, and answers once durable.
    pub async fn submit(&self, ops: Vec<WriteOp>) -> Result<JobOutcome, StoreError> {
        self.queue(ops)?.await
    }

    /// Queues `ops` as one job now, before anything is awaited: for a write whose effect
    /// is already in memory, which must reach the store (or be undone) even if the caller
    /// goes away.
    pub fn queue(&self, ops: Vec<WriteOp>) -> Result<Queued, StoreError> {
        self.enqueue(ops).map(Queued)
    }

    /// The same as [`submit`](Self::submit), for callers outside the async runtime
    /// (start-up).
    pub fn submit_blocking(&self, ops: Vec<WriteOp>) -> Result<JobOutcome, StoreError> {
        self.enqueue(ops)?.blocking_recv().map_err(|_| StoreError::Closed)?
    }

    fn enqueue(&self, ops: Vec<WriteOp>) -> Result<oneshot::Receiver<Result<JobOutcome, StoreError>>, StoreError> {
        let (reply, rx) = oneshot::channel();
        let queue = self.queue.lock().expect("commit queue lock");
        let sender = queue.as_ref().ok_or(StoreError::Closed)?;
        sender.send(Job { ops, reply }).map_err(|_| StoreError::Closed)?;
        Ok(rx)
    }

    /// Stops taking writes, lets the queued ones commit, and flushes.
    pub fn shutdown(&self) -> Result<(), StoreError> {
        self.queue.lock().expect("commit queue lock").take();
        if let Some(thread) = self.thread.lock().expect("commit thread lock").take() {
            let _ = thread.join();
        }
        self.store.flush()
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Commit failures, logged at most once a second (`left_out` counts the rest).
static FAILURES: LazyLock<LogThrottle> = LazyLock::new(LogThrottle::every_second);

fn commit_loop(store: &dyn Store, memory: &Memory, rx: mpsc::Receiver<Job>) {
    let applier = &*memory.applier;
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Vec<WriteOp>>, Vec<Reply>) = jobs.into_iter().map(|j| (j.ops, j.reply)).unzip();
        let started = std::time::Instant::now();
        let after = *memory.position.lock().expect("memory position lock");
        let committed = store.commit(&ops, after);
        crate::metrics::metrics().flushed(ops.len(), started.elapsed());
        match committed {
            Ok(Committed { outcomes, feed }) => {
                // What other nodes committed first, then this group: the feed's order.
                let mut position = memory.position.lock().expect("memory position lock");
                if let Some(feed) = &feed {
                    for change in &feed.before {
                        if change.seq > *position {
                            applier(&change.op, Some(&change.applied));
                            *position = change.seq;
                            memory.publish(change.seq);
                        }
                    }
                }
                for (ops, outcome) in ops.iter().zip(&outcomes) {
                    match outcome {
                        Ok(applied) => {
                            for (op, applied) in ops.iter().zip(applied) {
                                applier(op, Some(applied));
                            }
                        }
                        Err(_) => ops.iter().for_each(|op| applier(op, None)),
                    }
                }
                if let Some(feed) = &feed {
                    *position = (*position).max(feed.through);
                    memory.publish(*position);
                }
                drop(position);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                if let Some(left_out) = FAILURES.admit() {
                    tracing::error!(error = %e, jobs = ops.len(), left_out, "commit failed; nothing in the group was applied");
                }
                for (ops, reply) in ops.iter().zip(replies) {
                    ops.iter().for_each(|op| applier(op, None));
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lease::AttemptId;
    use crate::store::sled_store::SledStore;
    use std::time::Duration;

    /// A decider holds a reservation stripe while it reads the position, and the applier
    /// may need that stripe to undo a refused lease: were the read to wait on an apply in
    /// progress, the two would wait on each other for ever (as they once did).
    #[test]
    fn the_position_answers_while_an_apply_is_in_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).unwrap());
        let (entered_tx, entered) = mpsc::channel::<()>();
        let (resume, resume_rx) = mpsc::channel::<()>();
        let gate = Mutex::new((entered_tx, resume_rx));
        let applier: Applier = Arc::new(move |_, _| {
            let gate = gate.lock().unwrap();
            let _ = gate.0.send(());
            let _ = gate.1.recv_timeout(Duration::from_secs(30));
        });
        let commits = Arc::new(GroupCommit::start(store, applier));
        let release = WriteOp::ReleaseLease {
            consumer_id: "c1".into(),
            attempt_id: AttemptId::from_bytes([7; 16]),
        };
        let queued = commits.queue(vec![release]).unwrap();
        entered.recv_timeout(Duration::from_secs(10)).expect("the applier runs");

        let (answer_tx, answer) = mpsc::channel();
        let reader = commits.clone();
        std::thread::spawn(move || answer_tx.send(reader.position()).unwrap());
        let position = answer.recv_timeout(Duration::from_secs(5));
        resume.send(()).unwrap();
        assert_eq!(position, Ok(0), "position() waited on the apply in progress");
        let outcome = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(queued);
        assert!(outcome.is_ok(), "the job still completes: {outcome:?}");
    }
}
