//! Opt-out replies over gRPC, read the way the FCC's revocation rule reads them: a
//! revocation in natural language excludes the number for every consumer who has it, and
//! later calls and texts to it are denied; what does not revoke changes nothing.

mod common;

use common::*;
use predial::proto::v1 as pb;

const SHARED: &str = "+15551234567";
const AT: &str = "2026-06-02T15:00:00Z"; // Tuesday, 11:00 in New York

fn text(body: &str) -> pb::InboundTextRequest {
    pb::InboundTextRequest {
        phone: SHARED.into(),
        body: body.into(),
        at: Some(ts(AT)),
        caller_id: String::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_in_other_words_excludes_the_number_for_both_consumers_who_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let mut accounts = server.accounts().await;
    for id in ["debtor", "cosigner"] {
        let mut c = consumer(id, "NY", "America/New_York", SHARED);
        c.phones[0].sms_authorized_at = Some(ts("2026-05-01T00:00:00Z"));
        accounts.upsert_consumer(c).await.unwrap();
    }
    // Chatter changes nothing.
    for body in [
        "Thanks, got it",
        "I will pay on Friday",
        "What is my balance?",
        "Can you call me tomorrow?",
        "",
    ] {
        let reply = accounts.inbound_text(text(body)).await.unwrap().into_inner();
        assert_eq!((reply.keyword.as_str(), reply.excluded), ("", false), "{body:?}");
    }
    let reply = accounts
        .inbound_text(text("Please don’t text me anymore!! 🙏"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((reply.keyword.as_str(), reply.excluded), ("DONT TEXT ME", true));
    let mut ids = reply.consumer_ids.clone();
    ids.sort();
    assert_eq!(ids, ["cosigner", "debtor"]);

    let mut decisions = server.decisions().await;
    for id in ["debtor", "cosigner"] {
        for channel in [pb::Channel::Phone, pb::Channel::Text] {
            let mut ask = dial("r", id, SHARED, pb::Mode::Auto, AT);
            ask.channel = channel as i32;
            let d = decisions.check(ask).await.unwrap().into_inner();
            assert_eq!(verdict(&d), pb::Verdict::Deny, "{id} {channel:?}");
            assert!(
                reason_codes(&d).contains(&pb::ReasonCode::NumberExcludedByCustomer),
                "{d:?}"
            );
        }
        // The audit note quotes the reply and names what decided.
        let notes = audit_notes(&server, id).await;
        let opted_out: Vec<_> = notes.iter().filter(|n| n.kind == "OPTED_OUT").collect();
        assert_eq!(opted_out.len(), 1, "{notes:?}");
        assert!(
            opted_out[0].text.contains("\"Please don’t text me anymore!! 🙏\"")
                && opted_out[0].text.contains("DONT TEXT ME"),
            "{}",
            opted_out[0].text
        );
    }
    // A reply with a revocation and an opt-in in it does not re-subscribe; START alone does.
    let both = accounts
        .inbound_text(text("stop, then start again next month"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((both.keyword.as_str(), both.excluded), ("STOP", true));
    let start = accounts.inbound_text(text("START")).await.unwrap().into_inner();
    assert_eq!((start.keyword.as_str(), start.excluded), ("START", false));
}
