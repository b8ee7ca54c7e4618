//! The book a benchmark runs against: consumers in pairs (debtor and cosigner sharing a
//! group), two numbers each, eight states in four zones, and up to four calls in the last
//! six days — some of them right party contacts, so every verdict occurs.
//!
//! Everything is dated from one instant, [`bench_instant`], and every request asks about
//! that instant: the mix of verdicts, and so the figures, do not depend on the hour a
//! benchmark runs at (at night in the US, asking about "now" makes every call a DENY for
//! calling hours).

use std::io::Write;
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, stream};
use tonic::Status;

use crate::client::Conn;
use crate::proto::v1 as pb;

const STATES: [(&str, &str); 8] = [
    ("NY", "America/New_York"),
    ("MA", "America/New_York"),
    ("FL", "America/New_York"),
    ("IL", "America/Chicago"),
    ("TX", "America/Chicago"),
    ("CO", "America/Denver"),
    ("AZ", "America/Phoenix"),
    ("CA", "America/Los_Angeles"),
];

/// How many writes are in flight while populating.
const IN_FLIGHT: usize = 64;

/// The consumers a workload picks from, and the instant it asks about.
///
/// Only their number is kept: a request's consumer id and phone number are written from
/// its index ([`consumer_id`], [`number`]) when it is sent. A table of the strings would
/// make the client's cost grow with the book: at 100,000 consumers, copying a randomly
/// picked pair out of it was 27% of the client's CPU in `perf` (the first read of each
/// string missing the cache), and client and server share the cores, so the server's
/// figures fell with a cost that is not the server's.
#[derive(Debug, Clone, Copy, Default)]
pub struct Book {
    pub consumers: usize,
    /// The instant every request asks about and contacts are dated from.
    pub at: Option<prost_types::Timestamp>,
}

impl Book {
    /// A consumer picked at random: its id and the number it is dialled on. With no
    /// consumers, an id the server does not know.
    pub fn pick(&self) -> (String, String) {
        if self.consumers == 0 {
            return (String::from("bench-none"), String::from("+15550000000"));
        }
        let i = fastrand::usize(..self.consumers);
        (consumer_id(i), number(i, 0))
    }
}

/// The latest 18:00 UTC on a Tuesday, Wednesday or Thursday at or before `now`: inside
/// calling hours in every US zone (10:00–14:00 local), on a working day.
pub fn bench_instant(now: SystemTime) -> SystemTime {
    use chrono::{DateTime, Datelike, Days, NaiveTime, Utc, Weekday};
    let now = DateTime::<Utc>::from(now);
    let mut date = now.date_naive();
    loop {
        let at = date
            .and_time(NaiveTime::from_hms_opt(18, 0, 0).expect("a time"))
            .and_utc();
        if at <= now && matches!(date.weekday(), Weekday::Tue | Weekday::Wed | Weekday::Thu) {
            return at.into();
        }
        date = date - Days::new(1);
    }
}

/// Waits (up to 10 s) until the node at `conn` knows the book's last consumer: another node
/// of a cluster, following the one that populated it.
pub async fn wait_for_book(conn: &Conn, book: &Book) {
    if book.consumers == 0 {
        return;
    }
    let i = book.consumers - 1;
    let mut decisions = conn.decisions();
    for _ in 0..1_000 {
        let request = pb::DialRequest {
            request_id: "wait".into(),
            consumer_id: consumer_id(i),
            channel: pb::Channel::Phone as i32,
            phone: number(i, 0),
            at: book.at,
            ..Default::default()
        };
        let known = decisions.check(request).await.is_ok_and(|d| {
            !d.get_ref()
                .reasons
                .iter()
                .any(|r| r.code == pb::ReasonCode::UnknownConsumer as i32)
        });
        if known {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub fn consumer_id(i: usize) -> String {
    format!("bench-c{i}")
}

pub fn number(i: usize, which: usize) -> String {
    format!("+1555{:07}", 2 * i + which)
}

fn timestamp(t: SystemTime) -> prost_types::Timestamp {
    prost_types::Timestamp::from(t)
}

/// Creates `n` consumers and their history, printing progress on stderr.
pub async fn populate(conn: &Conn, n: usize) -> Result<Book, Status> {
    let (accounts, decisions) = (conn.accounts(), conn.decisions());
    let now = bench_instant(SystemTime::now());
    let step = (n / 10).max(1);
    let mut done = 0usize;
    let mut writes = stream::iter(0..n)
        .map(|i| {
            let (mut accounts, mut decisions) = (accounts.clone(), decisions.clone());
            async move {
                let (state, zone) = STATES[i % STATES.len()];
                let consumer = pb::Consumer {
                    id: consumer_id(i),
                    role: if i % 2 == 0 {
                        pb::Role::Debtor
                    } else {
                        pb::Role::Cosigner
                    } as i32,
                    group_id: format!("bench-g{}", i / 2),
                    state: state.into(),
                    country: "US".into(),
                    time_zone: zone.into(),
                    phones: (0..2)
                        .map(|k| pb::Phone {
                            number: number(i, k),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                };
                accounts.upsert_consumer(consumer).await?;
                for k in 0..i % 5 {
                    let at = now - Duration::from_secs(86_400 * (1 + k as u64) + 3_600 * (i % 7) as u64);
                    let event = pb::ContactEvent {
                        event_id: format!("bench-e{i}-{k}"),
                        consumer_id: consumer_id(i),
                        channel: pb::Channel::Phone as i32,
                        phone: number(i, 0),
                        result_code: if i % 13 == 0 && k == 0 { 4 } else { 1 },
                        occurred_at: Some(timestamp(at)),
                        ..Default::default()
                    };
                    decisions.record_contact(event).await?;
                }
                Ok::<(), Status>(())
            }
        })
        .buffer_unordered(IN_FLIGHT);
    while let Some(result) = writes.next().await {
        result?;
        done += 1;
        if done % step == 0 || done == n {
            eprint!("\rpopulating: {done}/{n} consumers");
            let _ = std::io::stderr().flush();
        }
    }
    if n > 0 {
        eprintln!();
    }
    Ok(Book {
        consumers: n,
        at: Some(timestamp(now)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

    #[test]
    fn a_picked_consumer_is_one_of_the_book_with_the_number_it_was_given() {
        let book = Book { consumers: 5, at: None };
        let mut seen = [false; 5];
        for _ in 0..500 {
            let (id, phone) = book.pick();
            let i: usize = id.strip_prefix("bench-c").and_then(|i| i.parse().ok()).expect(&id);
            assert!(i < 5, "{id}");
            assert_eq!(phone, number(i, 0));
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s), "every consumer is picked: {seen:?}");
        let (id, _) = Book::default().pick();
        assert_eq!(id, "bench-none");
    }

    #[test]
    fn the_bench_instant_is_the_latest_working_afternoon_at_or_before_now() {
        let at = |s: &str| -> SystemTime { s.parse::<DateTime<Utc>>().unwrap().into() };
        // A Monday night: back to the Thursday before.
        assert_eq!(bench_instant(at("2026-11-23T07:00:00Z")), at("2026-11-19T18:00:00Z"));
        // A Wednesday before and after 18:00.
        assert_eq!(bench_instant(at("2026-11-25T17:59:59Z")), at("2026-11-24T18:00:00Z"));
        assert_eq!(bench_instant(at("2026-11-25T18:00:00Z")), at("2026-11-25T18:00:00Z"));
        for day in 0..14 {
            let now = at("2026-11-01T12:34:56Z") + Duration::from_secs(86_400 * day);
            let b = DateTime::<Utc>::from(bench_instant(now));
            assert!(b <= DateTime::<Utc>::from(now) && DateTime::<Utc>::from(now) - b < chrono::Duration::days(7));
            assert_eq!((b.hour(), b.minute()), (18, 0));
            assert!(matches!(b.weekday(), Weekday::Tue | Weekday::Wed | Weekday::Thu));
        }
    }
}
