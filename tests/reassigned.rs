//! The Reassigned Numbers Database's answers against the real binary: imported over gRPC,
//! HTTP (CSV) and `predial reassigned import`; a number disconnected since consent is DENY
//! in every mode, one disconnected before consent is not; a control's required check is
//! DENY for a machine and PROMPT for a person until a fresh answer is imported; a later
//! check replaces an earlier one; answers survive a restart; bad input is refused whole,
//! naming the answer (or the line).

mod common;

use common::http::{http_addr, post_text};
use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const A: &str = "+12125550101";
const B: &str = "+12125550102";
const CONSENT: &str = "2025-03-01T15:00:00Z";
const AT: &str = "2026-12-01T16:00:00Z"; // a Tuesday, 11:00 in New York

fn answer(number: &str, as_of: &str, kind: pb::ReassignedAnswerKind, checked_at: &str) -> pb::ReassignedAnswer {
    pb::ReassignedAnswer {
        number: number.into(),
        as_of: as_of.into(),
        answer: kind as i32,
        checked_at: Some(ts(checked_at)),
    }
}

use pb::ReassignedAnswerKind::{
    ReassignedAnswerNo as NO, ReassignedAnswerNoData as NO_DATA, ReassignedAnswerYes as YES,
};

async fn import(server: &Server, chunks: Vec<Vec<pb::ReassignedAnswer>>) -> Result<pb::ImportSummary, tonic::Status> {
    let chunks: Vec<_> = chunks
        .into_iter()
        .map(|answers| pb::ReassignedChunk { answers })
        .collect();
    server
        .programs()
        .await
        .import_reassigned(tokio_stream::iter(chunks))
        .await
        .map(tonic::Response::into_inner)
}

/// Consumer `c1` in New York with numbers A and B, both given on [`CONSENT`].
async fn setup(server: &Server) {
    let mut c = consumer("c1", "NY", "America/New_York", A);
    c.phones.push(pb::Phone {
        number: B.into(),
        ..Default::default()
    });
    for p in &mut c.phones {
        p.consent_at = Some(ts(CONSENT));
    }
    upsert(server, c).await;
}

async fn decide(server: &Server, phone: &str, mode: pb::Mode, at: &str) -> pb::DialDecision {
    let ask = dial("r", "c1", phone, mode, at);
    server.decisions().await.check(ask).await.unwrap().into_inner()
}

/// The rules in force with the Regulation F call control requiring a check `max_age_days`
/// old at most (0: the default).
async fn require_check(server: &Server, max_age_days: u32) {
    let mut rules = rules_in_force(server).await;
    let calls = rules
        .controls
        .iter_mut()
        .find(|c| c.r#type == pb::Channel::Phone as i32 && c.state.is_empty())
        .expect("a call control for everyone");
    calls.require_reassigned_check = true;
    calls.reassigned_check_max_age_days = max_age_days;
    server.rules().await.put_rule_set(rules).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_number_reassigned_after_consent_is_denied_in_every_mode_and_one_reassigned_before_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let summary = import(
        &server,
        vec![vec![
            answer(A, "2025-03-01", YES, "2026-11-02T13:00:00Z"),
            answer(B, "2024-06-01", YES, "2026-11-02T13:00:00Z"),
        ]],
    )
    .await
    .unwrap();
    assert_eq!((summary.imported, summary.numbers), (2, 2));
    for mode in [pb::Mode::Auto, pb::Mode::ClickToDial, pb::Mode::Manual] {
        let d = decide(&server, A, mode, AT).await;
        assert_eq!(verdict(&d), pb::Verdict::Deny, "{mode:?}: {d:?}");
        assert_eq!(reason_codes(&d), [pb::ReasonCode::ReassignedNumber]);
        let said = &d.reasons[0].message;
        assert!(
            said.contains("YES on 2026-11-02") && said.contains("disconnected after 2025-03-01"),
            "{said}"
        );
    }
    // B was disconnected some time after 2024-06-01: before or after the consumer gave it
    // in March 2025 the answer cannot say, so it does not deny.
    let b = decide(&server, B, pb::Mode::Auto, AT).await;
    assert_eq!(verdict(&b), pb::Verdict::Allow, "{b:?}");
    // A text to A is denied too; the answers survive a restart.
    let mut text = dial("t", "c1", A, pb::Mode::Auto, AT);
    text.channel = pb::Channel::Text as i32;
    let t = server.decisions().await.check(text.clone()).await.unwrap().into_inner();
    assert!(reason_codes(&t).contains(&pb::ReasonCode::ReassignedNumber), "{t:?}");
    drop(server);
    let server = Server::start(dir.path());
    let d = decide(&server, A, pb::Mode::Auto, AT).await;
    assert_eq!(reason_codes(&d), [pb::ReasonCode::ReassignedNumber]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_required_check_is_deny_in_auto_and_prompt_by_hand_until_a_fresh_no_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    require_check(&server, 0).await;
    let auto = decide(&server, A, pb::Mode::Auto, AT).await;
    assert_eq!(verdict(&auto), pb::Verdict::Deny, "{auto:?}");
    assert_eq!(reason_codes(&auto), [pb::ReasonCode::ReassignedCheckMissing]);
    assert!(auto.next_allowed_at.is_none(), "no time helps: {auto:?}");
    let by_hand = decide(&server, A, pb::Mode::ClickToDial, AT).await;
    assert_eq!(verdict(&by_hand), pb::Verdict::Prompt, "{by_hand:?}");

    // NO_DATA is no check; an answer asked as of a day before consent is none either.
    import(
        &server,
        vec![vec![answer(A, "2025-03-01", NO_DATA, "2026-11-20T13:00:00Z")]],
    )
    .await
    .unwrap();
    import(&server, vec![vec![answer(B, "2025-02-01", NO, "2026-11-20T13:00:00Z")]])
        .await
        .unwrap();
    for phone in [A, B] {
        let d = decide(&server, phone, pb::Mode::Auto, AT).await;
        assert_eq!(reason_codes(&d), [pb::ReasonCode::ReassignedCheckMissing], "{phone}");
    }
    // A later check of the same question replaces NO_DATA; an older one does not undo it.
    import(&server, vec![vec![answer(A, "2025-03-01", NO, "2026-11-25T13:00:00Z")]])
        .await
        .unwrap();
    import(
        &server,
        vec![vec![answer(A, "2025-03-01", NO_DATA, "2026-11-21T13:00:00Z")]],
    )
    .await
    .unwrap();
    let fresh = decide(&server, A, pb::Mode::Auto, AT).await;
    assert_eq!(verdict(&fresh), pb::Verdict::Allow, "{fresh:?}");
    // 31 days after the check it is stale (the default maximum age), and 45 allows it again.
    let late = "2026-12-29T16:00:00Z";
    let stale = decide(&server, A, pb::Mode::Auto, late).await;
    assert_eq!(reason_codes(&stale), [pb::ReasonCode::ReassignedCheckMissing]);
    assert!(stale.reasons[0].message.contains("more than 31 days ago"), "{stale:?}");
    require_check(&server, 45).await;
    assert_eq!(
        verdict(&decide(&server, A, pb::Mode::Auto, late).await),
        pb::Verdict::Allow
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_answer_refuses_the_whole_import_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let good = answer(A, "2025-03-01", YES, "2026-11-02T13:00:00Z");
    let cases = [
        (
            pb::ReassignedAnswer {
                answer: 9,
                ..good.clone()
            },
            "chunks[1].answers[1].answer",
        ),
        (
            pb::ReassignedAnswer {
                answer: 0,
                ..good.clone()
            },
            "chunks[1].answers[1].answer: is required",
        ),
        (
            pb::ReassignedAnswer {
                number: "12".into(),
                ..good.clone()
            },
            "chunks[1].answers[1].number",
        ),
        (
            pb::ReassignedAnswer {
                number: "+442071838750".into(),
                ..good.clone()
            },
            "not a NANP number",
        ),
        (
            pb::ReassignedAnswer {
                as_of: "2025-02-30".into(),
                ..good.clone()
            },
            "chunks[1].answers[1].as_of",
        ),
        (
            pb::ReassignedAnswer {
                as_of: "2026-11-03".into(),
                ..good.clone()
            },
            "after the day it was checked",
        ),
        (
            pb::ReassignedAnswer {
                checked_at: None,
                ..good.clone()
            },
            "chunks[1].answers[1].checked_at: is required",
        ),
        (
            pb::ReassignedAnswer {
                checked_at: Some(ts("2030-01-01T00:00:00Z")),
                ..good.clone()
            },
            "is in the future",
        ),
    ];
    for (bad, field) in cases {
        let refused = import(&server, vec![vec![good.clone()], vec![good.clone(), bad]])
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert!(refused.message().contains(field), "{field}: {}", refused.message());
    }
    // Nothing of any of them was kept.
    let d = decide(&server, A, pb::Mode::Auto, AT).await;
    assert_eq!(verdict(&d), pb::Verdict::Allow, "{d:?}");
    assert_eq!(import(&server, vec![]).await.unwrap().numbers, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_csv_is_uploaded_over_http_and_a_bad_line_is_named_and_nothing_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--http-listen", "127.0.0.1:0"]);
    setup(&server).await;
    let addr = http_addr(&server);
    let mut file = String::from("number,as_of,answer,checked_at\n");
    for i in 0..12_000 {
        file.push_str(&format!("303{i:07},2025-01-10,NO,2026-11-20T14:03:00Z\n"));
    }
    file.push_str(&format!("\n\"{A}\",2025-03-01,YES,2026-11-02T13:00:00Z\n"));
    let bad_answer = format!("{file}2125550199,2025-03-01,MAYBE,2026-11-02T13:00:00Z\n");
    let (status, body) = post_text(addr, "/v1/reassigned:import", &bad_answer);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 12004: answer: \\\"MAYBE\\\""), "{body}");
    let bad_date = format!("{file}2125550199,2025-13-01,NO,2026-11-02T13:00:00Z\n");
    let (status, body) = post_text(addr, "/v1/reassigned:import", &bad_date);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("line 12004: as_of"), "{body}");
    assert_eq!(
        verdict(&decide(&server, A, pb::Mode::Auto, AT).await),
        pb::Verdict::Allow
    );

    let (status, body) = post_text(addr, "/v1/reassigned:import", &file);
    assert_eq!(status, 200, "{body}");
    let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(summary["imported"], "12001");
    assert_eq!(summary["numbers"], "12001");
    assert_eq!(
        verdict(&decide(&server, A, pb::Mode::Auto, AT).await),
        pb::Verdict::Deny
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn predial_reassigned_import_sends_a_file_and_names_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let run = |body: &str| {
        let file = dir.path().join("answers.csv");
        std::fs::write(&file, body).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_predial"))
            .args(["reassigned", "import", "--addr", &server.addr.to_string()])
            .arg(&file)
            .output()
            .unwrap()
    };
    let bad = run(&format!(
        "{A},2025-03-01,YES,2026-11-02T13:00:00Z\n{B},2025-03-01,NO,last week\n"
    ));
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success(), "{said}");
    assert!(said.contains("line 2: checked_at"), "{said}");
    assert_eq!(
        verdict(&decide(&server, A, pb::Mode::Auto, AT).await),
        pb::Verdict::Allow
    );

    let out = run(&format!(
        "{A},2025-03-01,YES,2026-11-02T13:00:00Z\n{B},2025-03-01,NO,2026-11-02T13:00:00Z\n"
    ));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("2 answers sent, 2 answers kept now"), "{said}");
    assert_eq!(
        verdict(&decide(&server, A, pb::Mode::Auto, AT).await),
        pb::Verdict::Deny
    );
}

/// `count` numbers in area code 303, each asked about as of 2025-03-01, answered `kind`,
/// checked `hours` after a base instant.
fn answers(count: usize, kind: pb::ReassignedAnswerKind, hours: i64) -> Vec<pb::ReassignedAnswer> {
    let checked =
        chrono::DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z").unwrap() + chrono::Duration::hours(hours);
    (0..count)
        .map(|i| answer(&format!("+1303{i:07}"), "2025-03-01", kind, &checked.to_rfc3339()))
        .collect()
}

/// Whether calls to c1's numbers in area code 303 are all denied as reassigned.
async fn every_number_denied(server: &Server) -> bool {
    let asks: Vec<_> = [0, 1, 29_999, 59_999]
        .iter()
        .map(|i| dial(&format!("r{i}"), "c1", &format!("+1303{i:07}"), pb::Mode::Auto, AT))
        .collect();
    can_dial_all(&mut server.decisions().await, asks)
        .await
        .iter()
        .all(|d| reason_codes(d).contains(&pb::ReasonCode::ReassignedNumber))
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_of_the_same_questions_at_once_keep_the_latest_check_whatever_lands_last() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    // Eight imports at once of the same 60,000 questions (two durable writes each), checked
    // an hour apart: only the last check (YES) may stand, whichever import lands last.
    let imports = (0..8i64).map(|k| {
        let server = &server;
        async move {
            let kind = if k == 7 { YES } else { NO };
            let mut chunks = answers(60_000, kind, k);
            // The latest check sent first in two of them: arrival order must not matter.
            if k % 3 == 0 {
                chunks.reverse();
            }
            import(server, chunks.chunks(20_000).map(<[_]>::to_vec).collect())
                .await
                .unwrap()
        }
    });
    for summary in futures_util::future::join_all(imports).await {
        assert_eq!(summary.imported, 60_000);
    }
    let mut c = consumer("c1", "CO", "America/Denver", "+13030000000");
    for i in [1, 29_999, 59_999] {
        c.phones.push(pb::Phone {
            number: format!("+1303{i:07}"),
            ..Default::default()
        });
    }
    for p in &mut c.phones {
        p.consent_at = Some(ts(CONSENT));
    }
    upsert(&server, c).await;
    assert!(every_number_denied(&server).await);
    assert_eq!(
        import(&server, vec![]).await.unwrap().numbers,
        60_000,
        "one answer per question"
    );
    // Start-up merges the stored chunks by the same rule.
    drop(server);
    let server = Server::start(dir.path());
    assert!(every_number_denied(&server).await);
    assert_eq!(import(&server, vec![]).await.unwrap().numbers, 60_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_killed_midway_keeps_whole_chunks_and_sending_it_again_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let all = answers(1_000_000, NO, 0);
    let sent = all.clone();
    let addr = server.addr;
    let importing = tokio::spawn(async move {
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let chunks: Vec<_> = sent
            .chunks(10_000)
            .map(|c| pb::ReassignedChunk { answers: c.to_vec() })
            .collect();
        pb::programs_client::ProgramsClient::new(channel)
            .import_reassigned(tokio_stream::iter(chunks))
            .await
    });
    // Killed once the server has begun writing: memory counts an answer only once its
    // chunk is durable, so what is seen kept now must be kept after the kill.
    let mut seen = 0;
    for _ in 0..4_000 {
        seen = import(&server, vec![]).await.unwrap().numbers;
        if seen > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill9();
    let acknowledged = importing.await.unwrap().is_ok();
    let server = Server::start(dir.path());
    let kept = import(&server, vec![]).await.unwrap().numbers;
    eprintln!("killed with {seen} answers seen kept, {kept} kept after; acknowledged: {acknowledged}");
    assert!(seen > 0, "the import began writing");
    assert!(kept >= seen, "what was seen kept is on disk: {kept} < {seen}");
    assert_eq!(kept % 50_000, 0, "each durable write lands whole: {kept}");
    if acknowledged {
        assert_eq!(kept, 1_000_000, "an acknowledged import is on disk");
    }
    let summary = import(&server, all.chunks(10_000).map(<[_]>::to_vec).collect())
        .await
        .unwrap();
    assert_eq!((summary.imported, summary.numbers), (1_000_000, 1_000_000));
}
