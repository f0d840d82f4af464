//! Test NHS numbers, shared by the end-to-end tests and the benchmarks (which include this file
//! by path). The check digit comes from the contracts' own Modulus 11 code.

use throughline_contracts::identifiers::NhsNumber;

/// `count` distinct valid NHS numbers in the never-issued test range 999 000 0000 – 999 999 9999,
/// starting from `offset` (so each test or benchmark can use its own children).
pub fn test_nhs_numbers(offset: u32, count: usize) -> Vec<String> {
    (offset..)
        .filter_map(|n| {
            let body = format!("999{:06}", n % 1_000_000);
            let mut first9 = [0u8; 9];
            for (d, c) in first9.iter_mut().zip(body.bytes()) {
                *d = c - b'0';
            }
            NhsNumber::check_digit(&first9).map(|check| format!("{body}{check}"))
        })
        .take(count)
        .collect()
}
