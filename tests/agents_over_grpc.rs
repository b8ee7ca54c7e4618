//! Exclusions, STOP/START, click-to-dial prompts, exempt operators, callbacks and the audit
//! trail, over the real gRPC interface — and all of it surviving a kill -9.

mod common;

use common::*;
use predial::proto::v1 as pb;
use tonic::Code;

const PHONE: &str = "+15551234567";
const OTHER: &str = "+15557654321";
// Tuesday June 2, 2026, 11:00 in New York: inside calling hours.
const AT: &str = "2026-06-02T15:00:00Z";

async fn setup(server: &Server) {
    let mut c = consumer("c1", "NY", "America/New_York", PHONE);
    c.phones.push(pb::Phone {
        number: OTHER.into(),
        ..Default::default()
    });
    c.emails = vec!["c1@example.com".into()];
    server.accounts().await.upsert_consumer(c).await.unwrap();
}

fn request(channel: pb::Channel, mode: pb::Mode, workflow: bool) -> pb::DialRequest {
    let mut r = dial("r", "c1", PHONE, mode, AT);
    r.channel = channel as i32;
    r.workflow = workflow;
    if matches!(channel, pb::Channel::Email | pb::Channel::Letter) {
        r.phone.clear();
        r.email = "c1@example.com".into();
    }
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn every_row_of_the_exclusion_table_holds_over_grpc() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let mut accounts = server.accounts().await;
    let mut decisions = server.decisions().await;
    let flags = [
        (
            pb::SetExclusionsRequest {
                bankruptcy: true,
                ..Default::default()
            },
            pb::ReasonCode::Bankruptcy,
        ),
        (
            pb::SetExclusionsRequest {
                disable_text_and_auto_calls: true,
                ..Default::default()
            },
            pb::ReasonCode::TextAndAutoCallsDisabled,
        ),
        (
            pb::SetExclusionsRequest {
                disable_auto_communications: true,
                ..Default::default()
            },
            pb::ReasonCode::AutoCommunicationsDisabled,
        ),
    ];
    let mut checked = 0;
    for (set, code) in flags {
        let set = pb::SetExclusionsRequest {
            consumer_id: "c1".into(),
            operator_id: "admin".into(),
            ..set
        };
        let status = accounts.set_exclusions(set).await.unwrap().into_inner();
        assert_eq!(
            status.status,
            pb::ExclusionLevel::None as i32,
            "account flags are not number exclusions"
        );
        for channel in [
            pb::Channel::Phone,
            pb::Channel::Text,
            pb::Channel::Email,
            pb::Channel::Letter,
        ] {
            for mode in [pb::Mode::Auto, pb::Mode::Manual, pb::Mode::ClickToDial] {
                for workflow in [false, true] {
                    let d = decisions
                        .check(request(channel, mode, workflow))
                        .await
                        .unwrap()
                        .into_inner();
                    let auto = mode == pb::Mode::Auto;
                    let expected = match code {
                        pb::ReasonCode::Bankruptcy => workflow,
                        pb::ReasonCode::TextAndAutoCallsDisabled => {
                            (channel == pb::Channel::Text && workflow) || (channel == pb::Channel::Phone && auto)
                        }
                        _ => auto && workflow,
                    };
                    assert_eq!(
                        reason_codes(&d).contains(&code),
                        expected,
                        "{code:?} {channel:?} {mode:?} {workflow}"
                    );
                    let deny = verdict(&d) == pb::Verdict::Deny;
                    assert_eq!(deny, expected, "{code:?} {channel:?} {mode:?} {workflow}: {d:?}");
                    if expected {
                        assert_eq!(d.next_allowed_at, None);
                        assert!(d.prompt_token.is_empty(), "exclusions are never overridable");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 72);
    // Clearing all flags allows again; each change left a note.
    let clear = pb::SetExclusionsRequest {
        consumer_id: "c1".into(),
        ..Default::default()
    };
    accounts.set_exclusions(clear).await.unwrap();
    let d = decisions
        .check(request(pb::Channel::Phone, pb::Mode::Auto, true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Allow);
    let kinds: Vec<String> = audit_notes(&server, "c1").await.into_iter().map(|n| n.kind).collect();
    assert_eq!(kinds, ["EXCLUSIONS_CHANGED"; 4]);
}

#[tokio::test(flavor = "multi_thread")]
async fn stop_and_start_replies_exclude_and_clear_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let mut accounts = server.accounts().await;
    let mut decisions = server.decisions().await;

    let stop = pb::InboundTextRequest {
        phone: "(555) 123-4567".into(),
        body: "  Stop ".into(),
        at: Some(ts(AT)),
        caller_id: String::new(),
    };
    let reply = accounts.inbound_text(stop).await.unwrap().into_inner();
    assert_eq!(
        (reply.phone.as_str(), reply.keyword.as_str(), reply.excluded),
        (PHONE, "STOP", true)
    );
    assert_eq!(reply.consumer_ids, ["c1"]);

    for mode in [pb::Mode::Auto, pb::Mode::ClickToDial] {
        let d = decisions
            .check(dial("r", "c1", PHONE, mode, AT))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            (verdict(&d), reason_codes(&d)),
            (pb::Verdict::Deny, vec![pb::ReasonCode::NumberExcludedByCustomer])
        );
    }
    let other = decisions
        .check(dial("r", "c1", OTHER, pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&other), pb::Verdict::Allow);

    let status = accounts
        .get_exclusion_status(pb::GetConsumerRequest { id: "c1".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, pb::ExclusionLevel::Partial as i32);
    assert_eq!(status.phones[0].excluded_by_customer_at, Some(ts(AT)));
    assert!(status.phones[1].excluded_by_customer_at.is_none());

    // A user cannot clear what the consumer asked for.
    let clear = pb::ExcludePhoneRequest {
        consumer_id: "c1".into(),
        phone: PHONE.into(),
        by: pb::ExcludedBy::Customer as i32,
        excluded: false,
        operator_id: "agent-1".into(),
    };
    assert_eq!(
        accounts.exclude_phone(clear).await.unwrap_err().code(),
        Code::FailedPrecondition
    );

    // A reply with no keyword changes nothing; START clears.
    let chat = pb::InboundTextRequest {
        phone: PHONE.into(),
        body: "who is this?".into(),
        at: None,
        caller_id: String::new(),
    };
    assert!(accounts.inbound_text(chat).await.unwrap().into_inner().excluded);
    let start = pb::InboundTextRequest {
        phone: PHONE.into(),
        body: "start".into(),
        at: None,
        caller_id: String::new(),
    };
    let reply = accounts.inbound_text(start).await.unwrap().into_inner();
    assert_eq!((reply.keyword.as_str(), reply.excluded), ("START", false));
    let d = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Allow);
    let kinds: Vec<String> = audit_notes(&server, "c1").await.into_iter().map(|n| n.kind).collect();
    assert_eq!(kinds, ["OPTED_OUT", "OPTED_IN"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn user_exclusions_set_and_clear_and_make_the_status_full() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let mut accounts = server.accounts().await;
    let exclude = |phone: &str, excluded| pb::ExcludePhoneRequest {
        consumer_id: "c1".into(),
        phone: phone.into(),
        by: pb::ExcludedBy::User as i32,
        excluded,
        operator_id: "agent-1".into(),
    };
    accounts.exclude_phone(exclude(PHONE, true)).await.unwrap();
    let status = accounts.exclude_phone(exclude(OTHER, true)).await.unwrap().into_inner();
    assert_eq!(status.status, pb::ExclusionLevel::Full as i32);
    assert!(status.phones.iter().all(|p| p.excluded_by_user));
    let d = server
        .decisions()
        .await
        .check(dial("r", "c1", OTHER, pb::Mode::Manual, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&d), [pb::ReasonCode::NumberExcludedByUser]);
    let status = accounts
        .exclude_phone(exclude(OTHER, false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.status, pb::ExclusionLevel::Partial as i32);
    let missing = pb::ExcludePhoneRequest {
        consumer_id: "nobody".into(),
        ..exclude(PHONE, true)
    };
    assert_eq!(
        accounts.exclude_phone(missing).await.unwrap_err().code(),
        Code::NotFound
    );
}

/// One call a day, May 27 … June 2: the seventh in seven days as of `AT`.
async fn seven_calls(server: &Server) {
    let mut decisions = server.decisions().await;
    let days = ["05-27", "05-28", "05-29", "05-30", "05-31", "06-01", "06-02"];
    for (i, day) in days.iter().enumerate() {
        let at = format!("2026-{day}T14:00:00Z");
        decisions
            .record_contact(call(&format!("e{i}"), "c1", PHONE, 1, &at))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_is_confirmed_once_by_its_operator_and_every_step_is_noted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    seven_calls(&server).await;
    let mut decisions = server.decisions().await;
    let mut ask = dial("r", "c1", PHONE, pb::Mode::ClickToDial, AT);
    ask.operator_id = "agent-7".into();
    let d = decisions.check(ask.clone()).await.unwrap().into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Prompt);
    assert_eq!(
        d.prompt_text,
        "7 calls in the last 7 days; the limit is 7 — call anyway?"
    );
    assert!(d.prompt_token.len() >= 32, "an unguessable token: {:?}", d.prompt_token);

    let answer = |token: &str, operator: &str, proceed| pb::ConfirmOverrideRequest {
        prompt_token: token.into(),
        operator_id: operator.into(),
        proceed,
    };
    // Another operator cannot answer it; a forged token is unknown.
    let status = decisions
        .confirm_override(answer(&d.prompt_token, "agent-8", true))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = decisions
        .confirm_override(answer("forged-token", "agent-7", true))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    let ok = decisions
        .confirm_override(answer(&d.prompt_token, "agent-7", true))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.verdict, pb::Verdict::Allow as i32);
    // Single use.
    let status = decisions
        .confirm_override(answer(&d.prompt_token, "agent-7", true))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);

    // A second prompt, declined.
    let d2 = decisions.check(ask).await.unwrap().into_inner();
    assert_ne!(d2.prompt_token, d.prompt_token);
    let no = decisions
        .confirm_override(answer(&d2.prompt_token, "agent-7", false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(no.verdict, pb::Verdict::Deny as i32);

    let notes = audit_notes(&server, "c1").await;
    let kinds: Vec<&str> = notes.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "PROMPT_ISSUED",
            "OVERRIDE_CONFIRMED",
            "PROMPT_ISSUED",
            "OVERRIDE_DECLINED"
        ]
    );
    assert_eq!(notes[1].id, ok.note_id);
    assert_eq!(notes[3].id, no.note_id);
    assert!(
        notes
            .iter()
            .all(|n| n.operator_id == "agent-7" && n.consumer_id == "c1")
    );
    assert_eq!(
        notes[1].text,
        "Operator agent-7 overrode: 7 calls in the last 7 days; the limit is 7."
    );
    let ids: Vec<u64> = notes.iter().map(|n| n.id.parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "notes are listed in order: {ids:?}"
    );

    // A machine still gets DENY and no token.
    let auto = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((verdict(&auto), auto.prompt_token.as_str()), (pb::Verdict::Deny, ""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_token_expires() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &["--prompt-ttl-seconds", "1"]);
    setup(&server).await;
    seven_calls(&server).await;
    let mut decisions = server.decisions().await;
    let d = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Manual, AT))
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let late = pb::ConfirmOverrideRequest {
        prompt_token: d.prompt_token,
        operator_id: "agent-1".into(),
        proceed: true,
    };
    let status = decisions.confirm_override(late).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("expired"), "{}", status.message());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exempt_operator_is_allowed_with_the_reasons_kept_and_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    seven_calls(&server).await;
    let mut rules = server.rules().await;
    let mut set = rules
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner();
    set.exempt_operator_ids = vec!["supervisor".into()];
    rules.put_rule_set(set).await.unwrap();
    let mut decisions = server.decisions().await;
    let mut ask = dial("r", "c1", PHONE, pb::Mode::ClickToDial, AT);
    ask.operator_id = "supervisor".into();
    let d = decisions.check(ask.clone()).await.unwrap().into_inner();
    assert_eq!(verdict(&d), pb::Verdict::Allow);
    assert_eq!(
        reason_codes(&d),
        [pb::ReasonCode::MaxContacts, pb::ReasonCode::SuppressedForOperator]
    );
    assert!(d.prompt_token.is_empty());
    ask.mode = pb::Mode::Auto as i32;
    assert_eq!(
        verdict(&decisions.check(ask).await.unwrap().into_inner()),
        pb::Verdict::Deny
    );
    let notes = audit_notes(&server, "c1").await;
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].kind.as_str(), notes[0].operator_id.as_str()),
        ("SUPPRESSED_FOR_OPERATOR", "supervisor")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_lifts_the_hold_until_the_next_call_and_everything_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let mut decisions = server.decisions().await;
    // A conversation on Monday June 1 holds calls through June 7.
    decisions
        .record_contact(call("rpc", "c1", PHONE, 4, "2026-06-01T14:00:00Z"))
        .await
        .unwrap();
    let held = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Auto, AT))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&held), [pb::ReasonCode::HoldAfterRpc]);

    let cb = pb::ScheduleCallbackRequest {
        consumer_id: "c1".into(),
        phone: "555-123-4567".into(),
        callback_at: Some(ts("2026-06-03T18:00:00Z")),
        operator_id: "agent-1".into(),
    };
    let callback = decisions.schedule_callback(cb).await.unwrap().into_inner();
    assert!(!callback.id.is_empty());
    assert_eq!(callback.phone, PHONE);

    // Before callback_at: still held. From it on: allowed, with CALLBACK_OVERRIDE.
    let before = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Auto, "2026-06-03T17:59:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&before), pb::Verdict::Deny);
    let at_cb = dial("r", "c1", PHONE, pb::Mode::Auto, "2026-06-03T18:00:00Z");
    let lifted = decisions.check(at_cb.clone()).await.unwrap().into_inner();
    assert_eq!(
        (verdict(&lifted), reason_codes(&lifted)),
        (pb::Verdict::Allow, vec![pb::ReasonCode::CallbackOverride])
    );
    // The other number is still held; calling hours still apply.
    let other = decisions
        .check(dial("r", "c1", OTHER, pb::Mode::Auto, "2026-06-03T18:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verdict(&other), pb::Verdict::Deny);
    let night = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Auto, "2026-06-04T02:00:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert!(reason_codes(&night).contains(&pb::ReasonCode::OutsideCallingHours));

    // Also a STOP on the other number, an exclusion flag and a used prompt, to restart with.
    let stop = pb::InboundTextRequest {
        phone: OTHER.into(),
        body: "STOP".into(),
        at: Some(ts(AT)),
        caller_id: String::new(),
    };
    server.accounts().await.inbound_text(stop).await.unwrap();
    let flags = pb::SetExclusionsRequest {
        consumer_id: "c1".into(),
        bankruptcy: true,
        ..Default::default()
    };
    server.accounts().await.set_exclusions(flags).await.unwrap();
    let notes_before = audit_notes(&server, "c1").await;
    let status_before = server
        .accounts()
        .await
        .get_exclusion_status(pb::GetConsumerRequest { id: "c1".into() })
        .await
        .unwrap()
        .into_inner();
    server.kill9();

    let server = Server::start(dir.path());
    let mut decisions = server.decisions().await;
    assert_eq!(decisions.check(at_cb.clone()).await.unwrap().into_inner(), lifted);
    assert_eq!(audit_notes(&server, "c1").await, notes_before);
    let status_after = server
        .accounts()
        .await
        .get_exclusion_status(pb::GetConsumerRequest { id: "c1".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status_after, status_before);

    // The call at the callback consumes it: the hold is back for the next one.
    decisions
        .record_contact(call("cb-call", "c1", PHONE, 1, "2026-06-03T18:01:00Z"))
        .await
        .unwrap();
    let again = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Auto, "2026-06-03T18:30:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reason_codes(&again), [pb::ReasonCode::HoldAfterRpc]);
    server.kill9();
    let server = Server::start(dir.path());
    let again2 = server
        .decisions()
        .await
        .check(dial("r", "c1", PHONE, pb::Mode::Auto, "2026-06-03T18:30:00Z"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again2, again);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_used_prompt_stays_used_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    seven_calls(&server).await;
    let mut decisions = server.decisions().await;
    let d = decisions
        .check(dial("r", "c1", PHONE, pb::Mode::Manual, AT))
        .await
        .unwrap()
        .into_inner();
    let answer = pb::ConfirmOverrideRequest {
        prompt_token: d.prompt_token.clone(),
        operator_id: "agent-1".into(),
        proceed: true,
    };
    decisions.confirm_override(answer.clone()).await.unwrap();
    server.kill9();
    let server = Server::start(dir.path());
    let status = server.decisions().await.confirm_override(answer).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_text_names_every_consumer_with_the_number_as_last_written_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    let mut accounts = server.accounts().await;
    accounts
        .upsert_consumer(consumer("c0", "NY", "America/New_York", PHONE))
        .await
        .unwrap();
    let hello = |phone: &str| pb::InboundTextRequest {
        phone: phone.into(),
        body: "hello".into(),
        at: Some(ts(AT)),
        caller_id: String::new(),
    };
    let reply = accounts.inbound_text(hello(PHONE)).await.unwrap().into_inner();
    assert_eq!(reply.consumer_ids, ["c0", "c1"]);

    // c1 gives up PHONE (keeps OTHER); the index follows, and survives a kill -9.
    let mut c1 = consumer("c1", "NY", "America/New_York", OTHER);
    c1.emails = vec!["c1@example.com".into()];
    accounts.upsert_consumer(c1).await.unwrap();
    server.kill9();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    let reply = accounts.inbound_text(hello(PHONE)).await.unwrap().into_inner();
    assert_eq!(reply.consumer_ids, ["c0"]);
    let reply = accounts.inbound_text(hello(OTHER)).await.unwrap().into_inner();
    assert_eq!(reply.consumer_ids, ["c1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prompt_in_a_can_dial_stream_waits_for_its_token_and_keeps_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    setup(&server).await;
    seven_calls(&server).await;
    let mut decisions = server.decisions().await;
    let mut prompt = dial("s2", "c1", PHONE, pb::Mode::ClickToDial, AT);
    prompt.operator_id = "agent-7".into();
    let requests = vec![
        dial("s1", "c1", PHONE, pb::Mode::Auto, AT),
        prompt,
        dial("s3", "c1", OTHER, pb::Mode::Auto, AT),
    ];
    let got = can_dial_all(&mut decisions, requests).await;
    let seen: Vec<(&str, pb::Verdict)> = got.iter().map(|d| (d.request_id.as_str(), verdict(d))).collect();
    assert_eq!(
        seen,
        [
            ("s1", pb::Verdict::Deny),
            ("s2", pb::Verdict::Prompt),
            ("s3", pb::Verdict::Deny)
        ]
    );
    // The token was durable before the answer: the operator can use it at once.
    let ok = decisions
        .confirm_override(pb::ConfirmOverrideRequest {
            prompt_token: got[1].prompt_token.clone(),
            operator_id: "agent-7".into(),
            proceed: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.verdict, pb::Verdict::Allow as i32);
}
