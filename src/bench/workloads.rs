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
//!
//! With `--reserve`, every decision request reserves, and the bench then does what a
//! dialer does with each lease it is granted: nine in ten are settled with `RecordContact`
//! naming the `attempt_id` (a busy signal, so the book's counts stay where they were), one
//! in ten released with `ReleaseAttempt` (a call never placed). Each stream settles its
//! leases as they come, up to `--window` at once, beside the stream; a slice ends once its
//! leases are all settled, so one slice's leases never weigh on the next.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::options::BenchOptions;
use super::populate::Book;
use super::report::{Report, histogram};
use super::workload::{Leases, Workload, run_tag};
use crate::client::{Conn, Decisions};
use crate::proto::v1 as pb;

/// What one caller or stream measured.
struct Tally {
    latencies: hdrhistogram::Histogram<u64>,
    completed: u64,
    errors: u64,
    /// Leases granted, settled by RecordContact, and released.
    leases: Leases,
    /// When its last request was answered (settling what it was granted may take longer,
    /// and is not the workload's time).
    finished: Instant,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latencies: histogram(),
            completed: 0,
            errors: 0,
            leases: Leases::default(),
            finished: Instant::now(),
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

fn dial(book: &Book, seq: u64, reserve: bool) -> pb::DialRequest {
    let (id, phone) = book.pick();
    pb::DialRequest {
        request_id: seq.to_string(),
        consumer_id: id,
        channel: pb::Channel::Phone as i32,
        phone,
        mode: pb::Mode::Auto as i32,
        workflow: true,
        at: book.at,
        reserve,
        ..Default::default()
    }
}

/// A lease granted to a reserving request: whose, and its id.
struct Granted {
    consumer_id: String,
    phone: String,
    attempt_id: String,
}

/// Settles (nine in ten, as a busy call) or releases (one in ten) each lease that comes
/// in, up to `window` at once, until the stream is done and every lease is dealt with. A
/// placed call without a lease (`--cycle`, not reserving) gets the same outcome recorded,
/// nine in ten; the tenth stands for a call never placed, and nothing is sent for it.
async fn settle_all(
    client: Decisions,
    book: Book,
    tag: Arc<String>,
    caller: usize,
    window: usize,
    granted: mpsc::UnboundedReceiver<Granted>,
    slots: Option<Arc<Semaphore>>,
) -> Leases {
    use futures_util::StreamExt;
    let calls = tokio_stream::wrappers::UnboundedReceiverStream::new(granted)
        .enumerate()
        .map(|(n, lease)| {
            let (mut client, tag, slots) = (client.clone(), tag.clone(), slots.clone());
            async move {
                // With `--cycle` the dialer's line is busy until the call's outcome is in:
                // the slot frees once it is.
                let _free_the_slot = slots.map(FreeOnDrop);
                if n % 10 == 9 && lease.attempt_id.is_empty() {
                    // Never placed, and no lease to release: nothing to tell the server.
                    None
                } else if n % 10 == 9 {
                    let request = pb::ReleaseAttemptRequest {
                        attempt_id: lease.attempt_id,
                        operator_id: String::new(),
                    };
                    let ok = matches!(client.release_attempt(request).await, Ok(r) if r.get_ref().released);
                    Some((false, ok))
                } else {
                    let event = pb::ContactEvent {
                        event_id: format!("bench-{tag}-settle-{caller}-{n}"),
                        consumer_id: lease.consumer_id,
                        channel: pb::Channel::Phone as i32,
                        phone: lease.phone,
                        result_code: 6,
                        occurred_at: book.at,
                        attempt_id: lease.attempt_id.clone(),
                        ..Default::default()
                    };
                    let ok = matches!(client.record_contact(event).await, Ok(ack) if ack.get_ref().settled_attempt_id == lease.attempt_id);
                    Some((true, ok))
                }
            }
        })
        .buffer_unordered(window.max(1));
    futures_util::pin_mut!(calls);
    let mut leases = Leases::default();
    while let Some(done) = calls.next().await {
        let Some((settling, ok)) = done else { continue };
        match (settling, ok) {
            (true, true) => leases.settled += 1,
            (false, true) => leases.released += 1,
            (_, false) => leases.errors += 1,
        }
    }
    leases
}

/// Gives a stream's request slot back when dropped.
struct FreeOnDrop(Arc<Semaphore>);

impl Drop for FreeOnDrop {
    fn drop(&mut self) {
        self.0.add_permits(1);
    }
}

fn contact(book: &Book, tag: &str, caller: usize, seq: u64) -> pb::ContactEvent {
    let request = dial(book, seq, false);
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
        let me = Caller {
            client: conns[caller % conns.len()].decisions(),
            book,
            tag: tag.clone(),
            index: caller,
            window: options.window.max(1),
            record_every: options.record_every.max(1),
            reserve: options.reserve,
            cycle: options.cycle,
            deadline,
        };
        tasks.push(tokio::spawn(async move {
            match workload {
                Workload::Candial | Workload::PingStream => stream(workload, me).await,
                _ => unary(workload, me).await,
            }
        }));
    }
    let mut report = Report::empty(workload);
    let mut finished = started;
    for task in tasks {
        let tally = task.await.expect("a workload task");
        finished = finished.max(tally.finished);
        report.latencies.add(&tally.latencies).expect("same bounds");
        report.completed += tally.completed;
        report.errors += tally.errors;
        report.leases.add(tally.leases);
    }
    report.elapsed = finished - started;
    report
}

/// Where caller `caller`'s request numbers start: every caller and stream has its own
/// range, so no two requests of a run share a `request_id` (one that did, for the same
/// consumer, would be a retry of the other).
fn first_seq(caller: usize) -> u64 {
    (caller as u64) << 40
}

/// Whether a dialer places the call a decision answers.
fn placed(decision: &pb::DialDecision) -> bool {
    matches!(
        pb::Verdict::try_from(decision.verdict),
        Ok(pb::Verdict::Allow | pb::Verdict::Warn)
    )
}

/// Whether a decision answers request number `seq`.
fn answers(decision: &pb::DialDecision, seq: u64) -> bool {
    decision.request_id.parse() == Ok(seq)
}

/// One caller or stream of a run, and what it needs.
struct Caller {
    client: Decisions,
    book: Book,
    /// Unique to the run, for event ids.
    tag: Arc<String>,
    index: usize,
    /// Requests in flight on a stream (and leases settled at once).
    window: usize,
    record_every: usize,
    reserve: bool,
    /// Record the outcome of every ALLOW and WARN, leased or not (`--cycle`).
    cycle: bool,
    deadline: Instant,
}

async fn unary(workload: Workload, me: Caller) -> Tally {
    let Caller {
        mut client,
        book,
        tag,
        index: caller,
        record_every,
        reserve,
        deadline,
        ..
    } = me;
    let book = &book;
    let tag = &tag;
    let mut tally = Tally::new();
    // Request ids unique across callers: a repeated id for the same consumer is a
    // retry, which gets the earlier request's lease back.
    let mut seq = first_seq(caller);
    let (settle, granted) = mpsc::unbounded_channel();
    let settler = tokio::spawn(settle_all(client.clone(), *book, tag.clone(), caller, 4, granted, None));
    while Instant::now() < deadline {
        seq += 1;
        let t0 = Instant::now();
        let ok = match workload {
            Workload::Ping => client.ping(pb::PingRequest::default()).await.is_ok(),
            Workload::Record => record(&mut client, contact(book, tag, caller, seq)).await,
            Workload::Mixed if seq % record_every as u64 == 0 => {
                record(&mut client, contact(book, tag, caller, seq)).await
            }
            _ => {
                let request = dial(book, seq, reserve);
                let (consumer_id, phone) = (request.consumer_id.clone(), request.phone.clone());
                match client.check(request).await {
                    Ok(d) if answers(d.get_ref(), seq) => {
                        let attempt_id = d.into_inner().attempt_id;
                        if !attempt_id.is_empty() {
                            tally.leases.granted += 1;
                            let _ = settle.send(Granted {
                                consumer_id,
                                phone,
                                attempt_id,
                            });
                        }
                        true
                    }
                    _ => false,
                }
            }
        };
        tally.record(t0, ok);
    }
    tally.finished = Instant::now();
    drop(settle);
    let leases = settler.await.expect("the settling task");
    tally.leases.add(Leases { granted: 0, ..leases });
    tally
}

/// Records `event`; whether it was acknowledged as itself.
async fn record(client: &mut Decisions, event: pb::ContactEvent) -> bool {
    let event_id = event.event_id.clone();
    matches!(client.record_contact(event).await, Ok(ack) if ack.get_ref().event_id == event_id)
}

/// Sequence number and send time of a request in flight; with `--reserve`, whose it is,
/// to settle its lease.
type Sent = (u64, Instant, Option<(String, String)>);

/// One stream with `window` requests in flight.
///
/// Long on purpose: the sender, the receiver and the settling of leases share the
/// window's bookkeeping, which is easier to check in one place than passed between three.
async fn stream(workload: Workload, me: Caller) -> Tally {
    let Caller {
        mut client,
        book,
        tag,
        index: caller,
        window,
        reserve,
        cycle,
        deadline,
        ..
    } = me;
    let book = &book;
    let mut tally = Tally::new();
    // The requests in flight, oldest first.
    let sent: Arc<Mutex<VecDeque<Sent>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(window));
    let (settle, granted) = mpsc::unbounded_channel();
    let settler = tokio::spawn(settle_all(
        client.clone(),
        *book,
        tag,
        caller,
        window,
        granted,
        cycle.then(|| permits.clone()),
    ));
    macro_rules! drive {
        ($request:expr, $answers:expr, $call:ident) => {{
            let (tx, rx) = mpsc::channel(window);
            let (sender_sent, sender_permits) = (sent.clone(), permits.clone());
            let book = *book;
            let sender = tokio::spawn(async move {
                let mut seq = first_seq(caller);
                while Instant::now() < deadline {
                    let Ok(permit) = sender_permits.acquire().await else {
                        break;
                    };
                    permit.forget();
                    seq += 1;
                    #[allow(clippy::redundant_closure_call)]
                    let (request, whose) = ($request)(&book, seq);
                    sender_sent
                        .lock()
                        .expect("sent lock")
                        .push_back((seq, Instant::now(), whose));
                    if tx.send(request).await.is_err() {
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
                                let Some((seq, t0, whose)) = popped else {
                                    // More answers than requests: count it, and stop
                                    // trusting this stream.
                                    tally.errors += 1;
                                    break;
                                };
                                #[allow(clippy::redundant_closure_call)]
                                let (ok, attempt_id) = ($answers)(&answer, seq);
                                tally.record(t0, ok);
                                let mut outcome_frees_the_slot = false;
                                if let (Some((consumer_id, phone)), Some(attempt_id)) = (whose, attempt_id) {
                                    tally.leases.granted += u64::from(!attempt_id.is_empty());
                                    outcome_frees_the_slot = cycle;
                                    let _ = settle.send(Granted {
                                        consumer_id,
                                        phone,
                                        attempt_id,
                                    });
                                }
                                if !outcome_frees_the_slot {
                                    permits.add_permits(1);
                                }
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
        Workload::Candial => drive!(
            |book: &Book, seq| {
                let request = dial(book, seq, reserve);
                let whose = (reserve || cycle).then(|| (request.consumer_id.clone(), request.phone.clone()));
                (request, whose)
            },
            |d: &pb::DialDecision, seq| (
                answers(d, seq),
                // Without a lease, a placed call (an ALLOW or a WARN) still has an outcome.
                if !d.attempt_id.is_empty() {
                    Some(d.attempt_id.clone())
                } else {
                    (cycle && !reserve && placed(d)).then(String::new)
                }
            ),
            can_dial
        ),
        _ => drive!(
            |_: &Book, _| (pb::PingRequest::default(), None),
            |_: &pb::PingResponse, _| (true, None::<String>),
            ping_stream
        ),
    }
    tally.finished = Instant::now();
    drop(settle);
    let leases = settler.await.expect("the settling task");
    tally.leases.add(Leases { granted: 0, ..leases });
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
