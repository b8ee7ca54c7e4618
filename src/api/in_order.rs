//! Answers in order, writes side by side: the shape of a `CanDial` stream.
//!
//! Each request is decided the moment it is taken from the stream, in order, so each sees
//! the leases of those before it. Most answers are ready then. An answer that waits for a
//! write (a lease, a prompt) would hold up the stream for a flush if the next request were
//! only taken once it was sent; instead, while the oldest answer waits, [`InOrder`] goes on
//! taking and deciding requests — up to [`DEPTH`] waiting at once — so their writes join
//! the same flush, and yields the answers in request order as they complete.
//!
//! While nothing waits it is the plain stream: a ready answer is handed on as it is, with
//! no queue and no allocation, and the next request is taken only when the client has room
//! for the next answer (HTTP/2's flow control stays the back-pressure). While answers
//! wait, at most [`DEPTH`] are held.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use futures_util::stream::{Fuse, FuturesOrdered};
use futures_util::{Stream, StreamExt};

/// How many answers one stream holds while they wait for their writes.
pub const DEPTH: usize = 256;

/// A decided request: its answer, or a wait for it.
pub enum Answer<T> {
    Ready(T),
    Waiting(BoxFuture<'static, T>),
}

/// `inner`'s answers, in order, their waits overlapping.
pub struct InOrder<S, T> {
    inner: Fuse<S>,
    waiting: FuturesOrdered<BoxFuture<'static, T>>,
}

impl<S, T> InOrder<S, T>
where
    S: Stream<Item = Answer<T>>,
{
    pub fn new(inner: S) -> Self {
        InOrder {
            inner: inner.fuse(),
            waiting: FuturesOrdered::new(),
        }
    }
}

impl<S, T> Stream for InOrder<S, T>
where
    S: Stream<Item = Answer<T>> + Unpin,
    T: Send + 'static,
{
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        loop {
            if !this.waiting.is_empty()
                && let Poll::Ready(Some(answer)) = this.waiting.poll_next_unpin(cx)
            {
                return Poll::Ready(Some(answer));
            }
            if this.waiting.len() >= DEPTH {
                return Poll::Pending; // woken when the oldest completes
            }
            match this.inner.poll_next_unpin(cx) {
                Poll::Ready(Some(Answer::Ready(answer))) if this.waiting.is_empty() => {
                    return Poll::Ready(Some(answer));
                }
                // Behind a waiting answer: it waits its turn.
                Poll::Ready(Some(Answer::Ready(answer))) => {
                    this.waiting.push_back(Box::pin(std::future::ready(answer)))
                }
                // Polled on the next turn of the loop, which starts its write.
                Poll::Ready(Some(Answer::Waiting(wait))) => this.waiting.push_back(wait),
                Poll::Ready(None) if this.waiting.is_empty() => return Poll::Ready(None),
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn answers_come_in_request_order_while_later_waits_run_alongside() {
        let decided = Arc::new(AtomicUsize::new(0));
        let (release, released) = tokio::sync::watch::channel(false);
        let requests = futures_util::stream::iter(0..10usize).map({
            let decided = decided.clone();
            move |i| {
                decided.fetch_add(1, Ordering::SeqCst);
                if i % 3 == 0 {
                    let mut released = released.clone();
                    Answer::Waiting(Box::pin(async move {
                        let _ = released.wait_for(|r| *r).await;
                        i
                    }))
                } else {
                    Answer::Ready(i)
                }
            }
        });
        let mut answers = InOrder::new(requests);
        let early = tokio::time::timeout(std::time::Duration::from_millis(50), answers.next()).await;
        assert!(early.is_err(), "the first answer came before its write");
        // The first answer waits: every request behind it was decided meanwhile.
        assert_eq!(decided.load(Ordering::SeqCst), 10);
        release.send(true).unwrap();
        let all: Vec<usize> = answers.collect().await;
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn ready_answers_pass_one_at_a_time_without_taking_ahead() {
        let decided = Arc::new(AtomicUsize::new(0));
        let requests = futures_util::stream::iter(0..5usize).map({
            let decided = decided.clone();
            move |i| {
                decided.fetch_add(1, Ordering::SeqCst);
                Answer::Ready(i)
            }
        });
        let mut answers = InOrder::new(requests);
        assert_eq!(answers.next().await, Some(0));
        assert_eq!(decided.load(Ordering::SeqCst), 1);
        assert_eq!(answers.collect::<Vec<_>>().await, vec![1, 2, 3, 4]);
    }
}
