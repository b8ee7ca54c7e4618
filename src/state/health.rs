//! Whether the node should serve: a node serves (`grpc.health.v1` SERVING) once memory is
//! loaded, and, on a shared store, while the store answers and its notifications arrive
//! (the follower, `follow.rs`, says which).

use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the node should serve.
pub struct Health {
    pub(super) loaded: AtomicBool,
    /// In step with the store (always, for a store this node has to itself).
    in_step: AtomicBool,
    pub(super) changed: tokio::sync::watch::Sender<bool>,
    /// Set at shutdown: the follower stops.
    pub(super) stopping: AtomicBool,
}

impl Default for Health {
    fn default() -> Self {
        Health {
            loaded: AtomicBool::new(false),
            in_step: AtomicBool::new(true),
            changed: tokio::sync::watch::channel(false).0,
            stopping: AtomicBool::new(false),
        }
    }
}

impl Health {
    pub fn serving(&self) -> bool {
        self.loaded.load(Ordering::Acquire) && self.in_step.load(Ordering::Acquire)
    }

    fn publish(&self) {
        let serving = self.serving();
        self.changed
            .send_if_modified(|s| std::mem::replace(s, serving) != serving);
    }

    pub(super) fn set_loaded(&self) {
        self.loaded.store(true, Ordering::Release);
        self.publish();
    }

    pub(super) fn set_in_step(&self, in_step: bool) {
        if self.in_step.swap(in_step, Ordering::AcqRel) != in_step {
            if in_step {
                tracing::info!("in step with the store again: serving");
            } else {
                tracing::warn!("the store is unreachable: NOT_SERVING; reads go on from memory");
            }
        }
        self.publish();
    }
}
