//! Checks the day cache's one assumption (`src/domain/time.rs`): a local day whose UTC
//! offset is the same at its first and last millisecond has the same offset all day (no
//! pair of transitions inside one day that cancel out). For every zone chrono-tz knows and
//! every day from 1990 to 2039 it samples the offset every 30 minutes.
//!
//! `cargo run --release --example uniform_days` (about 20 s); prints the days that break
//! the assumption, then the totals.

use chrono::{Duration, NaiveDate, Offset, TimeZone, Utc};
fn main() {
    let mut bad = 0u64;
    let mut days = 0u64;
    for tz in chrono_tz::TZ_VARIANTS.iter() {
        let mut d = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
        let end_d = NaiveDate::from_ymd_opt(2040, 1, 1).unwrap();
        while d < end_d {
            let start = predial::domain::time::start_of_day(d, *tz);
            let end = predial::domain::time::start_of_day(d.succ_opt().unwrap(), *tz);
            let off = |u: chrono::DateTime<Utc>| tz.offset_from_utc_datetime(&u.naive_utc()).fix().local_minus_utc();
            let a = off(start);
            let b = off(end - Duration::milliseconds(1));
            if a == b {
                let mut u = start;
                while u < end {
                    if off(u) != a {
                        bad += 1;
                        println!("{tz} {d}");
                        break;
                    }
                    u += Duration::minutes(30);
                }
            }
            days += 1;
            d = d.succ_opt().unwrap();
        }
    }
    println!("{days} zone-days checked; {bad} break the assumption");
    if bad > 0 {
        std::process::exit(1);
    }
}
