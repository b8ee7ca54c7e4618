//! Named Do Not Call lists against the real binary: REPLACE, ADD and REMOVE over gRPC, a
//! REPLACE that decisions never see half done, the reason naming the list, the lists'
//! listing, bad input changing nothing, HTTP uploads by line, and `predial dnc import`.

mod common;

use std::time::Duration;

use common::http::{http_addr, post_text, request};
use common::*;
use predial::proto::v1 as pb;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

const AT: &str = "2026-06-02T15:00:00Z";
const CALLER: &str = "+15556000001";
const X: &str = "+12125550101";
const Y: &str = "+12125550102";
const Z: &str = "+12125550103";

/// A consumer with the numbers X, Y and Z, and a telemarketing caller ID (only
/// telemarketing consults the lists).
async fn setup(server: &Server) {
    let mut c = consumer("c1", "NY", "America/New_York", X);
    for n in [Y, Z] {
        c.phones.push(pb::Phone {
            number: n.into(),
            ..Default::default()
        });
    }
    upsert(server, c).await;
    let mut programs = server.programs().await;
    programs
        .create_program(pb::Program {
            id: "tm".into(),
            business_unit: "Sales".into(),
            program_type: "Outbound".into(),
            name: "Offers".into(),
            call_purpose: pb::CallPurpose::Telemarketing as i32,
            display_name: "ACME".into(),
            shorthand_display: "ACME".into(),
            start: Some(ts("2026-01-01T00:00:00Z")),
            end: Some(ts("2027-01-01T00:00:00Z")),
            ..Default::default()
        })
        .await
        .unwrap();
    programs
        .add_numbers(pb::AddNumbersRequest {
            program_id: "tm".into(),
            numbers: vec![pb::ProgramNumber {
                number: CALLER.into(),
                call_purpose: pb::CallPurpose::Telemarketing as i32,
            }],
        })
        .await
        .unwrap();
}

/// The DO_NOT_CALL_LISTED reason's words for a call to `phone`, if any.
async fn listed(server: &Server, phone: &str) -> Option<String> {
    let ask = pb::DialRequest {
        caller_id: CALLER.into(),
        ..dial("r", "c1", phone, pb::Mode::Auto, AT)
    };
    let d = server.decisions().await.check(ask).await.unwrap().into_inner();
    d.reasons
        .iter()
        .find(|r| r.code == pb::ReasonCode::DoNotCallListed as i32)
        .map(|r| r.message.clone())
}

fn chunk(numbers: &[&str], list: &str, mode: pb::ImportMode) -> pb::DoNotCallChunk {
    pb::DoNotCallChunk {
        numbers: numbers.iter().map(|n| n.to_string()).collect(),
        list: list.into(),
        mode: mode as i32,
    }
}

async fn import(server: &Server, chunks: Vec<pb::DoNotCallChunk>) -> Result<pb::ImportSummary, tonic::Status> {
    let answer = server
        .programs()
        .await
        .import_do_not_call(tokio_stream::iter(chunks))
        .await?;
    Ok(answer.into_inner())
}

async fn lists(server: &Server) -> Vec<(String, u64)> {
    let answer = server
        .programs()
        .await
        .list_do_not_call_lists(pb::ListDoNotCallListsRequest {})
        .await
        .unwrap()
        .into_inner();
    answer.lists.into_iter().map(|l| (l.name, l.numbers)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_are_replaced_added_to_and_taken_from_and_a_decision_names_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    use pb::ImportMode::{Add, Remove, Replace};

    let s = import(&server, vec![chunk(&[X, Y], "National", Replace)])
        .await
        .unwrap();
    assert_eq!(
        (s.list.as_str(), s.imported, s.removed, s.numbers),
        ("national", 2, 0, 2)
    );
    import(&server, vec![chunk(&[Z], "internal", Add)]).await.unwrap();
    assert_eq!(lists(&server).await, [("internal".into(), 1), ("national".into(), 2)]);
    let said = listed(&server, X).await.expect("X is listed");
    assert!(said.contains("\"national\""), "{said}");
    assert!(listed(&server, Z).await.unwrap().contains("\"internal\""));

    // The registry's daily deletions, then a new download with Z and not X or Y.
    let s = import(&server, vec![chunk(&[Y], "national", Remove)]).await.unwrap();
    assert_eq!((s.removed, s.numbers), (1, 1));
    assert!(listed(&server, Y).await.is_none());
    let s = import(
        &server,
        vec![
            chunk(&[Z], "national", Replace),
            chunk(&["", "(212) 555-0103"], "", pb::ImportMode::Unspecified),
        ],
    )
    .await
    .unwrap();
    assert_eq!((s.imported, s.removed, s.numbers), (2, 1, 1), "X went; Z twice is once");
    assert!(listed(&server, X).await.is_none());

    // Bad input changes nothing.
    let unknown = import(&server, vec![chunk(&[X], "state-ma", Remove)])
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    let bad = import(
        &server,
        vec![
            chunk(&[X], "national", Replace),
            chunk(&[Y, "not a number"], "", pb::ImportMode::Unspecified),
        ],
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().starts_with("chunks[1].numbers[1]"), "{}", bad.message());
    let mixed = import(
        &server,
        vec![chunk(&[X], "national", Add), chunk(&[Y], "internal", Add)],
    )
    .await
    .unwrap_err();
    assert!(mixed.message().contains("chunks[1].list"), "{}", mixed.message());
    assert_eq!(lists(&server).await, [("internal".into(), 1), ("national".into(), 1)]);
    assert!(listed(&server, X).await.is_none(), "the refused imports added nothing");

    // The store keeps the lists as the imports left them.
    drop(server);
    let server = Server::start(dir.path());
    assert_eq!(lists(&server).await, [("internal".into(), 1), ("national".into(), 1)]);
    assert!(listed(&server, Z).await.unwrap().contains("\"internal\""));
    assert!(listed(&server, X).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replace_is_seen_whole_when_it_ends_and_not_before() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    import(&server, vec![chunk(&[X], "national", pb::ImportMode::Replace)])
        .await
        .unwrap();

    // The new download: Y in its first chunk, then 200,000 more numbers, not X.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut programs = server.programs().await;
    let importing = tokio::spawn(async move { programs.import_do_not_call(ReceiverStream::new(rx)).await });
    tx.send(chunk(&[Y], "national", pb::ImportMode::Replace)).await.unwrap();
    for block in 0..20 {
        let numbers: Vec<String> = (0..10_000).map(|i| format!("+1303{:07}", block * 10_000 + i)).collect();
        tx.send(pb::DoNotCallChunk {
            numbers,
            ..Default::default()
        })
        .await
        .unwrap();
        // Half way and at the end, decisions still see the old list whole.
        if block % 10 == 9 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(
                listed(&server, X).await.is_some(),
                "X is on the old list until the swap"
            );
            assert!(listed(&server, Y).await.is_none(), "Y is not on it until the swap");
        }
    }
    drop(tx);
    let summary = importing.await.unwrap().unwrap().into_inner();
    assert_eq!(
        (summary.imported, summary.removed, summary.numbers),
        (200_001, 1, 200_001)
    );
    assert!(listed(&server, X).await.is_none());
    assert!(listed(&server, Y).await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_list_file_is_uploaded_over_http_and_a_bad_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    setup(&server).await;
    let addr = http_addr(&server);
    // The registry's form (area code, number), with a blank line; then a bad line 25,002.
    let mut file = String::from("212,5550101\n\n2125550102\n");
    for i in 0..25_000 {
        file.push_str(&format!("303{i:07}\n"));
    }
    let (status, body) = post_text(addr, "/v1/dnc/national:import?mode=replace", &file);
    assert_eq!(status, 200, "{body}");
    let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(summary["numbers"], "25002");
    assert_eq!(summary["list"], "national");
    assert!(listed(&server, X).await.unwrap().contains("national"));

    let bad = format!("{file}not-a-number\n");
    let (status, body) = post_text(addr, "/v1/dnc/national:import?mode=replace", &bad);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 25004"), "{body}");
    let (status, body) = request(addr, "GET", "/v1/dnc", None);
    assert_eq!(status, 200);
    assert!(
        body.contains("\"numbers\":\"25002\""),
        "nothing of the bad file: {body}"
    );
    let (status, body) = post_text(addr, "/v1/dnc/national:import?mode=erase", "");
    assert_eq!(status, 400);
    assert!(body.contains("mode"), "{body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn predial_dnc_import_replaces_a_list_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let file = dir.path().join("internal.txt");
    std::fs::write(&file, format!("{X}\n{Z}\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_predial"))
        .args([
            "dnc",
            "import",
            "--addr",
            &server.addr.to_string(),
            "--list",
            "internal",
        ])
        .args(["--mode", "replace"])
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("2 on the list now"), "{said}");
    assert_eq!(lists(&server).await, [("internal".into(), 2)]);
}
