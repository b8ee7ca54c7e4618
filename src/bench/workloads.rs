//! The workloads and their baselines.
//!
//! Streaming workloads (`candial`, `ping-stream`) open `--streams` streams and keep
//! `--window` requests in flight on each; a request's latency runs from its send to its
//! answer (answers come in order). Unary workloads (`check`, `record`, `mixed`, `ping`) run
//! `--concurrency` callers, each waiting for its answer before the next request. All share
//! `--connections` connections, the same for a workload and its baseline.
//!
//! An answer counts as an error when the call fails or when it is not the answer to its
//! request: a decision must carry its request's `request_id`, an acknowledgement its
//! contact's `event_id`. (The baselines' empty messages have nothing to check.) A load
//! test that counted wrong answers as throughput would flatter a broken server.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::BenchOptions;
use super::connect::{Conn, Decisions};
use super::populate::Book;
use super::report::{Report, histogram};
use crate::proto::v1 as pb;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Bidirectional CanDial streams.
    Candial,
    /// Unary Check.
    Check,
    /// RecordContact, every acknowledgement durable.
    Record,
    /// Dialer-like: one RecordContact per `--record-every` Checks.
    Mixed,
    /// The unary baseline: an empty round trip.
    Ping,
    /// The streaming baseline.
    PingStream,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Candial => "candial",
            Workload::Check => "check",
            Workload::Record => "record",
            Workload::Mixed => "mixed",
            Workload::Ping => "ping",
            Workload::PingStream => "ping-stream",
        }
    }

    /// The bare transport round trip this workload is measured against.
    pub fn baseline(self) -> Workload {
        match self {
            Workload::Candial | Workload::PingStream => Workload::PingStream,
            _ => Workload::Ping,
        }
    }

    fn is_stream(self) -> bool {
        matches!(self, Workload::Candial | Workload::PingStream)
    }
}

/// What one caller or stream measured.
struct Tally {
    latencies: hdrhistogram::Histogram<u64>,
    completed: u64,
    errors: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latencies: histogram(),
            completed: 0,
            errors: 0,
        }
    }
    fn record(&mut self, since: Instant, ok: bool) {
        let us = since.elapsed().as_micros().clamp(1, 60_000_000) as u64;
        self.latencies.record(us).expect("within bounds");
        if ok {
            self.completed += 1;
        } else {
            self.errors += 1;
        }
    }
}

fn dial(book: &Book, seq: u64) -> pb::DialRequest {
    let (id, phone) = book.pick();
    pb::DialRequest {
        request_id: seq.to_string(),
        consumer_id: id,
        channel: pb::Channel::Phone as i32,
        phone,
        mode: pb::Mode::Auto as i32,
        workflow: true,
        at: book.at,
        ..Default::default()
    }
}

/// A run-unique event id prefix, so repeated runs against one server never collide.
fn run_tag() -> String {
    format!("{:x}", fastrand::u64(..))
}

fn contact(book: &Book, tag: &str, caller: usize, seq: u64) -> pb::ContactEvent {
    let request = dial(book, seq);
    pb::ContactEvent {
        event_id: format!("bench-{tag}-{caller}-{seq}"),
        consumer_id: request.consumer_id,
        channel: pb::Channel::Phone as i32,
        phone: request.phone,
        result_code: 6, // busy: recorded, durable, and not counted, so the book stays the same
        occurred_at: book.at,
        ..Default::default()
    }
}

/// Runs `workload` for `duration`.
pub async fn run(
    workload: Workload,
    options: &BenchOptions,
    conns: &[Conn],
    book: &Book,
    duration: Duration,
) -> Report {
    let started = Instant::now();
    let deadline = started + duration;
    let book = *book;
    let tag = Arc::new(run_tag());
    let callers = if workload.is_stream() {
        options.streams
    } else {
        options.concurrency
    };
    let mut tasks = Vec::with_capacity(callers);
    for caller in 0..callers.max(1) {
        let client = conns[caller % conns.len()].decisions();
        let tag = tag.clone();
        let (window, record_every) = (options.window.max(1), options.record_every.max(1));
        tasks.push(tokio::spawn(async move {
            match workload {
                Workload::Candial | Workload::PingStream => stream(workload, client, &book, window, deadline).await,
                _ => unary(workload, client, &book, &tag, caller, record_every, deadline).await,
            }
        }));
    }
    let mut report = Report::empty(workload);
    for task in tasks {
        let tally = task.await.expect("a workload task");
        report.latencies.add(&tally.latencies).expect("same bounds");
        report.completed += tally.completed;
        report.errors += tally.errors;
    }
    report.elapsed = started.elapsed();
    report
}

/// Whether a decision answers request number `seq`.
fn answers(decision: &pb::DialDecision, seq: u64) -> bool {
    decision.request_id.parse() == Ok(seq)
}

async fn unary(
    workload: Workload,
    mut client: Decisions,
    book: &Book,
    tag: &str,
    caller: usize,
    record_every: usize,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::new();
    let mut seq = 0u64;
    while Instant::now() < deadline {
        seq += 1;
        let t0 = Instant::now();
        let ok = match workload {
            Workload::Ping => client.ping(pb::PingRequest::default()).await.is_ok(),
            Workload::Record => record(&mut client, contact(book, tag, caller, seq)).await,
            Workload::Mixed if seq % record_every as u64 == 0 => {
                record(&mut client, contact(book, tag, caller, seq)).await
            }
            _ => matches!(client.check(dial(book, seq)).await, Ok(d) if answers(d.get_ref(), seq)),
        };
        tally.record(t0, ok);
    }
    tally
}

/// Records `event`; whether it was acknowledged as itself.
async fn record(client: &mut Decisions, event: pb::ContactEvent) -> bool {
    let event_id = event.event_id.clone();
    matches!(client.record_contact(event).await, Ok(ack) if ack.get_ref().event_id == event_id)
}

/// One stream with `window` requests in flight.
async fn stream(workload: Workload, mut client: Decisions, book: &Book, window: usize, deadline: Instant) -> Tally {
    let mut tally = Tally::new();
    // Sequence number and send time of each request in flight, oldest first.
    let sent: Arc<Mutex<VecDeque<(u64, Instant)>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(window));
    macro_rules! drive {
        ($request:expr, $answers:expr, $call:ident) => {{
            let (tx, rx) = mpsc::channel(window);
            let (sender_sent, sender_permits) = (sent.clone(), permits.clone());
            let book = *book;
            let sender = tokio::spawn(async move {
                let mut seq = 0u64;
                while Instant::now() < deadline {
                    let Ok(permit) = sender_permits.acquire().await else {
                        break;
                    };
                    permit.forget();
                    seq += 1;
                    sender_sent.lock().expect("sent lock").push_back((seq, Instant::now()));
                    #[allow(clippy::redundant_closure_call)]
                    if tx.send(($request)(&book, seq)).await.is_err() {
                        break;
                    }
                }
            });
            match client.$call(ReceiverStream::new(rx)).await {
                Ok(response) => {
                    let mut replies = response.into_inner();
                    loop {
                        match replies.message().await {
                            Ok(Some(answer)) => {
                                let popped = sent.lock().expect("sent lock").pop_front();
                                let Some((seq, t0)) = popped else {
                                    // More answers than requests: count it, and stop
                                    // trusting this stream.
                                    tally.errors += 1;
                                    break;
                                };
                                #[allow(clippy::redundant_closure_call)]
                                tally.record(t0, ($answers)(&answer, seq));
                                permits.add_permits(1);
                            }
                            Ok(None) => break,
                            Err(_) => {
                                tally.errors += 1;
                                break;
                            }
                        }
                    }
                }
                Err(_) => tally.errors += 1,
            }
            permits.close();
            let _ = sender.await;
        }};
    }
    match workload {
        Workload::Candial => drive!(|book: &Book, seq| dial(book, seq), answers, can_dial),
        _ => drive!(
            |_: &Book, _| pb::PingRequest::default(),
            |_: &pb::PingResponse, _| true,
            ping_stream
        ),
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_answers_only_the_request_whose_id_it_carries() {
        let decision = |id: &str| pb::DialDecision {
            request_id: id.into(),
            ..Default::default()
        };
        assert!(answers(&decision("7"), 7));
        assert!(!answers(&decision("8"), 7));
        assert!(!answers(&decision(""), 7));
        assert!(!answers(&decision("7 "), 7));
    }
}
