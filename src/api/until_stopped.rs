//! A stream of answers that ends when the server stops, for the price of a counter.
//!
//! `StreamExt::take_until(token.cancelled_owned())` polls the cancellation future before
//! every item, and that poll takes the token's lock: about 3% of the server's CPU on a busy
//! `CanDial` stream. [`UntilStopped`] looks at the token once every [`CHECK_EVERY`] items
//! while items flow, and polls the cancellation future — which registers for the wake-up —
//! only when the stream is about to wait anyway. So an idle stream ends at once on
//! shutdown, and a busy one within `CHECK_EVERY` more answers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// How many items a flowing stream yields between looks at the token.
pub const CHECK_EVERY: u32 = 64;

/// `inner` until `token` is cancelled.
pub struct UntilStopped<S> {
    inner: Pin<Box<S>>,
    token: CancellationToken,
    stopped: Pin<Box<WaitForCancellationFutureOwned>>,
    since_check: u32,
    done: bool,
}

impl<S> UntilStopped<S> {
    pub fn new(inner: S, token: CancellationToken) -> Self {
        UntilStopped {
            inner: Box::pin(inner),
            stopped: Box::pin(token.clone().cancelled_owned()),
            token,
            since_check: 0,
            done: false,
        }
    }
}

impl<S: Stream> Stream for UntilStopped<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        this.since_check += 1;
        if this.since_check >= CHECK_EVERY {
            this.since_check = 0;
            if this.token.is_cancelled() {
                this.done = true;
                return Poll::Ready(None);
            }
        }
        match this.inner.as_mut().poll_next(cx) {
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(item) => Poll::Ready(item),
            Poll::Pending => match this.stopped.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.done = true;
                    Poll::Ready(None)
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn an_idle_stream_ends_as_soon_as_the_token_is_cancelled() {
        let token = CancellationToken::new();
        let mut s = UntilStopped::new(futures_util::stream::pending::<u32>(), token.clone());
        let waiting = tokio::spawn(async move { s.next().await });
        tokio::task::yield_now().await;
        token.cancel();
        assert_eq!(waiting.await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_flowing_stream_ends_within_check_every_items_of_the_cancel() {
        let token = CancellationToken::new();
        let mut s = UntilStopped::new(futures_util::stream::iter(0u32..), token.clone());
        assert_eq!(s.next().await, Some(0));
        token.cancel();
        let mut more = 0;
        while s.next().await.is_some() {
            more += 1;
        }
        assert!(more < CHECK_EVERY, "{more} items after the cancel");
        assert_eq!(s.next().await, None);
    }

    #[tokio::test]
    async fn a_stream_that_ends_by_itself_ends() {
        let s = UntilStopped::new(futures_util::stream::iter([1, 2, 3]), CancellationToken::new());
        assert_eq!(s.collect::<Vec<_>>().await, [1, 2, 3]);
    }
}
