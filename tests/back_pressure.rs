//! Back-pressure over the real binary: a client that stops reading stops being read, limits
//! shed with RESOURCE_EXHAUSTED (and change nothing), oversized messages are refused, and
//! a stream's deadline ends it.

mod common;

use std::time::Duration;

use common::*;
use predial::proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const PHONE: &str = "2125550100";
const AT: &str = "2026-06-02T15:00:00Z";

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_reading_answers_stops_being_read_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    accounts
        .upsert_consumer(consumer("c-1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let before = rss_kib(server.child.id());

    let (tx, rx) = mpsc::channel(1);
    let mut decisions = server.decisions().await;
    let answers = decisions.can_dial(ReceiverStream::new(rx)).await.unwrap().into_inner();
    // Send without reading a single answer until the sends stall.
    let mut sent = 0u64;
    loop {
        let request = dial(&format!("r{sent}"), "c-1", PHONE, pb::Mode::Auto, AT);
        match tokio::time::timeout(Duration::from_secs(2), tx.send(request)).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(_)) => panic!("the stream closed"),
            Err(_) => break,
        }
        assert!(sent < 2_000_000, "the server kept reading a client that never reads");
    }
    let after = rss_kib(server.child.id());
    println!("sent {sent} requests before the stall; server RSS {before} KiB -> {after} KiB");
    assert!(sent > 0);
    assert!(
        after.saturating_sub(before) < 64 * 1024,
        "a stuck client grew the server by {} KiB",
        after - before
    );

    // Others are served meanwhile.
    let mut other = server.decisions().await;
    other.ping(pb::PingRequest::default()).await.unwrap();

    // Reading again drains every answer, in order.
    drop(tx);
    let mut answers = answers;
    let mut read = 0u64;
    while let Some(answer) = answers.message().await.unwrap() {
        assert_eq!(answer.request_id, format!("r{read}"));
        read += 1;
    }
    assert_eq!(read, sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_past_the_limit_are_refused_with_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-open-streams", "2"]);
    let mut decisions = server.decisions().await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let (tx, rx) = mpsc::channel::<pb::DialRequest>(1);
        let answers = decisions.can_dial(ReceiverStream::new(rx)).await.unwrap();
        open.push((tx, answers));
    }
    let (_tx, rx) = mpsc::channel::<pb::DialRequest>(1);
    let refused = decisions.can_dial(ReceiverStream::new(rx)).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert!(refused.message().contains("max_open_streams"), "{}", refused.message());

    // Closing one frees its place.
    let (tx, answers) = open.pop().unwrap();
    drop(tx);
    let mut answers = answers.into_inner();
    while answers.message().await.unwrap().is_some() {}
    drop(answers);
    let mut admitted = false;
    for _ in 0..50 {
        let (_tx, rx) = mpsc::channel::<pb::DialRequest>(1);
        if decisions.can_dial(ReceiverStream::new(rx)).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a closed stream's place was never given back");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_past_the_limit_are_shed_and_leave_no_trace() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-concurrent-calls", "1"]);
    server
        .accounts()
        .await
        .upsert_consumer(consumer("c-1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let channel = server.channel().await;
    let mut calls = Vec::new();
    for i in 0..64 {
        let mut client = pb::decisions_client::DecisionsClient::new(channel.clone());
        calls.push(tokio::spawn(async move {
            client
                .record_contact(call(&format!("e{i}"), "c-1", PHONE, 0, "2026-06-01T15:00:00Z"))
                .await
        }));
    }
    let (mut acknowledged, mut shed) = (0u32, 0u32);
    for c in calls {
        match c.await.unwrap() {
            Ok(_) => acknowledged += 1,
            Err(s) if s.code() == Code::ResourceExhausted => shed += 1,
            Err(s) => panic!("unexpected {s:?}"),
        }
    }
    println!("{acknowledged} acknowledged, {shed} shed");
    assert!(
        acknowledged >= 1 && shed >= 1,
        "{acknowledged} acknowledged, {shed} shed"
    );
    // Only the acknowledged contacts count.
    let decision = server
        .decisions()
        .await
        .check(dial("r", "c-1", PHONE, pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.attempts, acknowledged);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_over_the_size_limit_is_refused_with_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--max-message-bytes", "1024"]);
    let mut accounts = server.accounts().await;
    let mut big = consumer("c-1", "NY", "America/New_York", PHONE);
    big.emails = (0..100).map(|i| format!("someone{i}@example.com")).collect();
    let refused = accounts.upsert_consumer(big).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    let missing = accounts
        .get_consumer(pb::GetConsumerRequest { id: "c-1".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    accounts
        .upsert_consumer(consumer("c-1", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streams_deadline_ends_it_with_deadline_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (tx, rx) = mpsc::channel(4);
    tx.send(dial("r0", "nobody", PHONE, pb::Mode::Auto, AT)).await.unwrap();
    let mut request = tonic::Request::new(ReceiverStream::new(rx));
    request.set_timeout(Duration::from_millis(300));
    let mut answers = server.decisions().await.can_dial(request).await.unwrap().into_inner();
    let first = answers.message().await.unwrap().expect("the first answer");
    assert_eq!(first.request_id, "r0");
    // The client keeps the stream open and sends nothing more; the deadline ends it.
    let end = answers.message().await.unwrap_err();
    assert_eq!(end.code(), Code::DeadlineExceeded);
    drop(tx);
}

/// A unary answer waits at most for the client's deadline or the server's cap, whichever is
/// sooner. An import whose client stops sending mid-stream is the slow call here: it is
/// ended at the deadline (tonic answers CANCELLED for a server-side expiry). An import
/// reads its whole stream before it writes, so a cut-off import has written nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_unary_answer_is_cut_off_at_the_clients_deadline_or_the_servers_cap() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--request-timeout-seconds", "1"]);
    let mut programs = server.programs().await;
    for client_deadline in [Some(Duration::from_millis(200)), None] {
        let (tx, rx) = mpsc::channel(1);
        tx.send(pb::DoNotCallChunk {
            numbers: vec![PHONE.into()],
            ..Default::default()
        })
        .await
        .unwrap();
        let mut request = tonic::Request::new(ReceiverStream::new(rx));
        if let Some(d) = client_deadline {
            request.set_timeout(d);
        }
        let started = std::time::Instant::now();
        let ended = programs.import_do_not_call(request).await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(ended.code(), Code::Cancelled | Code::DeadlineExceeded),
            "{ended:?}"
        );
        let bound = client_deadline.unwrap_or(Duration::from_secs(1));
        assert!(
            took >= bound && took < bound + Duration::from_secs(5),
            "{took:?} for {bound:?}"
        );
        drop(tx);
    }
    // The server still answers at once.
    server.decisions().await.ping(pb::PingRequest::default()).await.unwrap();
}
