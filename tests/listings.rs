//! Paging and search over gRPC and HTTP against the real binary: the audit trail of one
//! consumer or of all, filtered by time and kind, paged with opaque tokens that see each
//! note once while writes go on; consumers by state, group and number; and a contact for a
//! consumer predial does not know.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::http::{http_addr, request};
use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

fn flags(bankruptcy: bool) -> pb::SetExclusionsRequest {
    pb::SetExclusionsRequest {
        consumer_id: "c0".into(),
        bankruptcy,
        operator_id: "ops".into(),
        ..Default::default()
    }
}

async fn page(server: &Server, req: pb::ListAuditNotesRequest) -> pb::ListAuditNotesResponse {
    server
        .accounts()
        .await
        .list_audit_notes(req)
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_through_every_note_while_writes_go_on_sees_each_once_and_skips_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    for i in 0..4 {
        accounts
            .upsert_consumer(consumer(
                &format!("c{i}"),
                "NY",
                "America/New_York",
                &format!("+1212555010{i}"),
            ))
            .await
            .unwrap();
    }
    // 2,500 notes: exclusion changes, from 8 writers at once.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let mut accounts = accounts.clone();
            tokio::spawn(async move {
                for i in 0..2_500 / 8 + usize::from(w < 2_500 % 8) {
                    let mut req = flags(i % 2 == 0);
                    req.consumer_id = format!("c{}", w % 4);
                    accounts.set_exclusions(req).await.unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    // More notes keep arriving on another consumer while the pages are read.
    let stop = Arc::new(AtomicBool::new(false));
    let background = {
        let (mut accounts, stop) = (accounts.clone(), stop.clone());
        tokio::spawn(async move {
            let mut written = 0;
            while !stop.load(Ordering::Relaxed) {
                let mut req = flags(written % 2 == 0);
                req.consumer_id = "c3".into();
                accounts.set_exclusions(req).await.unwrap();
                written += 1;
            }
            written
        })
    };
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let answer = page(
            &server,
            pb::ListAuditNotesRequest {
                page_size: 100,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        seen.extend(answer.notes.iter().map(|n| n.id.parse::<u64>().unwrap()));
        pages += 1;
        if answer.next_page_token.is_empty() || seen.len() >= 2_600 {
            break;
        }
        token = answer.next_page_token;
    }
    stop.store(true, Ordering::Relaxed);
    let written_meanwhile = background.await.unwrap();
    assert!(pages >= 26, "{pages} pages");
    assert!(written_meanwhile > 0, "the writes went on while paging");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "each note once, in id order");
    // None skipped: every note up to the last one seen was seen.
    let last = *seen.last().unwrap();
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let answer = page(
            &server,
            pb::ListAuditNotesRequest {
                page_size: 1000,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await;
        all.extend(answer.notes.iter().map(|n| n.id.parse::<u64>().unwrap()));
        if answer.next_page_token.is_empty() {
            break;
        }
        token = answer.next_page_token;
    }
    let expected: Vec<u64> = all.into_iter().filter(|id| *id <= last).collect();
    assert_eq!(seen, expected);
    assert!(seen.len() >= 2_500);
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_are_found_by_consumer_time_and_kind_over_grpc_and_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    let mut accounts = server.accounts().await;
    accounts
        .upsert_consumer(consumer("c0", "NY", "America/New_York", "+12125550100"))
        .await
        .unwrap();
    // Notes keep their instant to the millisecond: `from` at this one's start.
    let now = chrono::Utc::now();
    let before = now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 1_000_000));
    for i in 0..5 {
        accounts.set_exclusions(flags(i % 2 == 0)).await.unwrap();
    }
    accounts
        .exclude_phone(pb::ExcludePhoneRequest {
            consumer_id: "c0".into(),
            phone: "+12125550100".into(),
            excluded: true,
            operator_id: "ops".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mine = page(
        &server,
        pb::ListAuditNotesRequest {
            consumer_id: "c0".into(),
            page_size: 4,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(mine.notes.len(), 4);
    assert!(!mine.next_page_token.is_empty());
    let kinds = page(
        &server,
        pb::ListAuditNotesRequest {
            kinds: vec!["PHONE_EXCLUDED".into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(kinds.notes.len(), 1);
    assert_eq!(kinds.notes[0].consumer_id, "c0");
    let rules_only = page(
        &server,
        pb::ListAuditNotesRequest {
            kinds: vec!["RULES".into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(rules_only.notes.len(), 1, "the preset put at start");
    let ts_of = |t: chrono::DateTime<chrono::Utc>| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    };
    let since = page(
        &server,
        pb::ListAuditNotesRequest {
            from: Some(ts_of(before)),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(since.notes.len(), 6, "everything after the preset's note");

    // A token from one listing is no good in another; bad ranges and kinds are named.
    let mut accounts = server.accounts().await;
    for (req, field) in [
        (
            pb::ListAuditNotesRequest {
                page_token: mine.next_page_token.clone(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            pb::ListAuditNotesRequest {
                page_size: 1001,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListAuditNotesRequest {
                from: Some(ts_of(before)),
                to: Some(ts_of(before - chrono::Duration::seconds(1))),
                ..Default::default()
            },
            "from",
        ),
        (
            pb::ListAuditNotesRequest {
                kinds: vec!["GOSSIP".into()],
                ..Default::default()
            },
            "kinds[0]",
        ),
    ] {
        let refused = accounts.list_audit_notes(req).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{field}");
        assert!(refused.message().contains(field), "{field}: {}", refused.message());
    }

    let http = http_addr(&server);
    let (status, body) = request(http, "GET", "/v1/auditNotes?kinds=PHONE_EXCLUDED", None);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["notes"].as_array().unwrap().len(), 1);
    let (status, body) = request(http, "GET", "/v1/consumers/c0/auditNotes?pageSize=2", None);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["notes"].as_array().unwrap().len(), 2);
    assert!(!answer["nextPageToken"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn consumers_are_listed_by_state_group_and_number_in_any_written_form() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    let mut accounts = server.accounts().await;
    for (id, state, group, phone) in [
        ("a1", "MA", "g1", "+16175550100"),
        ("a2", "MA", "", "+16175550101"),
        ("a3", "NY", "g1", "+12125550100"),
        ("a4", "NY", "", "+16175550100"),
        ("a5", "MA", "g2", "+16175550102"),
    ] {
        let mut c = consumer(id, state, "America/New_York", phone);
        c.group_id = group.into();
        accounts.upsert_consumer(c).await.unwrap();
    }
    let list = |req: pb::ListConsumersRequest| {
        let channel = server.accounts();
        async move {
            let answer = channel.await.list_consumers(req).await.unwrap().into_inner();
            let ids: Vec<String> = answer.consumers.iter().map(|c| c.id.clone()).collect();
            (ids, answer.next_page_token)
        }
    };
    let (ma, token) = list(pb::ListConsumersRequest {
        state: "ma".into(),
        page_size: 2,
        ..Default::default()
    })
    .await;
    assert_eq!(ma, ["a1", "a2"]);
    let (rest, token) = list(pb::ListConsumersRequest {
        state: "MA".into(),
        page_size: 2,
        page_token: token,
        ..Default::default()
    })
    .await;
    assert_eq!((rest, token.as_str()), (vec!["a5".to_string()], ""));
    let (group, _) = list(pb::ListConsumersRequest {
        group_id: "g1".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(group, ["a1", "a3"]);
    let (by_number, _) = list(pb::ListConsumersRequest {
        phone: "(617) 555-0100".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(by_number, ["a1", "a4"]);
    let refused = accounts
        .list_consumers(pb::ListConsumersRequest {
            phone: "555-0100".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("phone"));

    let (status, body) = request(http_addr(&server), "GET", "/v1/consumers?state=NY", None);
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ids: BTreeSet<&str> = answer["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, BTreeSet::from(["a3", "a4"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_for_an_unknown_consumer_is_recorded_and_said_to_be() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--metrics-listen", "127.0.0.1:0"]);
    let mut decisions = server.decisions().await;
    let ack = decisions
        .record_contact(call("e1", "c-typo", "+12125550100", 1, "2026-06-01T15:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(ack.unknown_consumer);
    // Recorded: once the consumer arrives, the contact counts.
    upsert(&server, consumer("c-typo", "NY", "America/New_York", "+12125550100")).await;
    let again = decisions
        .record_contact(call("e2", "c-typo", "+12125550100", 1, "2026-06-01T16:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(!again.unknown_consumer);
    assert_eq!(again.attempts, 2, "the first contact was kept");
    let metrics = server
        .start_log
        .iter()
        .find_map(|l| l.split("metrics on http://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let (_, text) = request(metrics, "GET", "/metrics", None);
    assert!(text.contains("predial_contacts_unknown_consumer_total 1"), "{text}");
}
