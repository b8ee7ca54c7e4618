//! The program-numbers CSV import: any bytes are read or refused whole, never half-read,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use predial::domain::programs::{MAX_CSV_ROWS, parse_numbers_csv};

fuzz_target!(|data: &[u8]| {
    match parse_numbers_csv(data) {
        Ok(numbers) => {
            assert!(numbers.len() <= MAX_CSV_ROWS);
            for n in &numbers {
                // Every number read is a normalised phone that reads back as itself.
                let printed = n.number.to_string();
                assert_eq!(predial::domain::PhoneNumber::parse(&printed), Ok(n.number));
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
});
