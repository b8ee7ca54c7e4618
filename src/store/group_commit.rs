//! Group commit: many writers, one flush.
//!
//! Writers hand their write to one committer thread and wait. The thread takes whatever
//! has queued up — one write when the server is quiet, hundreds under load — commits it as
//! one atomic, durable unit, and only then, in commit order, runs each writer's `apply`
//! (the in-memory update) and wakes it. So:
//! - an acknowledgement always means the write is on disk;
//! - memory changes in exactly the order the store did, and only after the store did, so a
//!   decision never sees a write that could still be lost;
//! - all memory writes happen on this one thread, which is why the book needs no locking
//!   protocol beyond dashmap's own.

use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{Applied, Store, StoreError, WriteOp};

/// The most writes one commit takes (bounds the latency a single flush adds).
const MAX_GROUP: usize = 4096;

type Then = Box<dyn FnOnce(Result<Applied, StoreError>) + Send>;

struct Job {
    op: WriteOp,
    then: Then,
}

/// The committer thread and its queue, in front of a [`Store`].
pub struct GroupCommit {
    store: Arc<dyn Store>,
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    pub fn start(store: Arc<dyn Store>) -> GroupCommit {
        let (tx, rx) = mpsc::channel::<Job>();
        let committer = store.clone();
        let thread = std::thread::Builder::new()
            .name("predial-commit".into())
            .spawn(move || commit_loop(&*committer, rx))
            .expect("spawn the commit thread");
        GroupCommit {
            store,
            queue: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Commits `op`, then runs `apply` with what it did (on the committer thread, in commit
    /// order), and returns `apply`'s result once the write is durable.
    pub async fn submit<R, F>(&self, op: WriteOp, apply: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(Applied) -> R + Send + 'static,
    {
        self.enqueue(op, apply)?.await.map_err(|_| StoreError::Closed)?
    }

    /// The same as [`submit`](Self::submit), for callers outside the async runtime
    /// (start-up).
    pub fn submit_blocking<R, F>(&self, op: WriteOp, apply: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(Applied) -> R + Send + 'static,
    {
        self.enqueue(op, apply)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }

    fn enqueue<R, F>(&self, op: WriteOp, apply: F) -> Result<oneshot::Receiver<Result<R, StoreError>>, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(Applied) -> R + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let then: Then = Box::new(move |result| {
            let _ = tx.send(result.map(apply));
        });
        let queue = self.queue.lock().expect("commit queue lock");
        let sender = queue.as_ref().ok_or(StoreError::Closed)?;
        sender.send(Job { op, then }).map_err(|_| StoreError::Closed)?;
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

fn commit_loop(store: &dyn Store, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let (ops, thens): (Vec<WriteOp>, Vec<Then>) = jobs.into_iter().map(|j| (j.op, j.then)).unzip();
        match store.commit(&ops) {
            Ok(applied) => {
                for (then, applied) in thens.into_iter().zip(applied) {
                    then(Ok(applied));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, writes = ops.len(), "commit failed; nothing in the group was applied");
                let message = e.to_string();
                for then in thens {
                    then(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }
}
