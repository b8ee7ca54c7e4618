//! Phone normalisation: any text parses or is refused without a panic, and what parses
//! prints as a number that reads back as itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use predial::domain::PhoneNumber;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(number) = PhoneNumber::parse(text) {
        let printed = number.to_string();
        assert_eq!(PhoneNumber::parse(&printed), Ok(number), "{text:?} -> {printed}");
        let _ = number.nanp_area_code();
        let _ = number.tag();
    }
});
