//! The DfE local authority numbers a UPN may carry in characters 2 to 4.
//!
//! Why check them at all: the UPN check letter catches typing errors, but a number made up to
//! pass it (or one copied from another field) usually names no local authority. Rejecting it at
//! the edge stops a made-up "UPN" from becoming a matching key.
//!
//! Data sources:
//! - the 3-digit English LA numbers as listed by python-stdnum (`stdnum/gb/upn.py`, version
//!   2.2), itself taken from DfE's "New local authority codes: January 2011" publication
//!   (post-1999 numbering, 152 codes);
//! - the pseudo-LA numbers 001, 702 and 708, which python-stdnum does not list, added because
//!   UPNs are issued under them (001 appears in the temporary UPN test vector `X00180001701A`).
//!
//! Known gap: LA numbers created after January 2011 (for example those of the unitary
//! authorities formed since 2019) are not in either source. Check this list against DfE's Get
//! Information about Schools before relying on it to reject UPNs in production.

/// Recognised LA numbers, sorted ascending with no duplicates (checked at compile time below),
/// so that [`is_recognised_la_code`] can binary-search it.
#[rustfmt::skip] // Keep the groups as laid out.
pub const RECOGNISED_LA_CODES: &[u16] = &[
    // Pseudo-LA number (not in python-stdnum; see the module documentation).
    1,
    // London boroughs and the City of London.
    201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213,
    301, 302, 303, 304, 305, 306, 307, 308, 309, 310, 311, 312, 313, 314, 315, 316, 317, 318,
    319, 320,
    // Metropolitan districts.
    330, 331, 332, 333, 334, 335, 336, 340, 341, 342, 343, 344, 350, 351, 352, 353, 354, 355,
    356, 357, 358, 359, 370, 371, 372, 373, 380, 381, 382, 383, 384, 390, 391, 392, 393, 394,
    // Isles of Scilly.
    420,
    // Pseudo-LA numbers (not in python-stdnum; see the module documentation).
    702, 708,
    // Unitary authorities and shire counties.
    800, 801, 802, 803, 805, 806, 807, 808, 810, 811, 812, 813, 815, 816, 821, 822, 823, 825,
    826, 830, 831, 835, 836, 837, 840, 841, 845, 846, 850, 851, 852, 855, 856, 857, 860, 861,
    865, 866, 867, 868, 869, 870, 871, 872, 873, 874, 876, 877, 878, 879, 880, 881, 882, 883,
    884, 885, 886, 887, 888, 889, 890, 891, 892, 893, 894, 895, 896, 908, 909, 916, 919, 921,
    925, 926, 928, 929, 931, 933, 935, 936, 937, 938,
];

const fn strictly_ascending(codes: &[u16]) -> bool {
    let mut i = 1;
    while i < codes.len() {
        if codes[i - 1] >= codes[i] {
            return false;
        }
        i += 1;
    }
    true
}

// Binary search is only correct on a sorted list: make an unsorted edit a compile error.
const _: () = assert!(strictly_ascending(RECOGNISED_LA_CODES));

/// Whether `code` is a recognised DfE LA number (the number as an integer, so `001` is `1`).
pub fn is_recognised_la_code(code: u16) -> bool {
    RECOGNISED_LA_CODES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_test_vector_codes_and_not_900() {
        for code in [1, 207, 702, 708, 801] {
            assert!(is_recognised_la_code(code), "{code} should be recognised");
        }
        for code in [0, 2, 200, 900, 999] {
            assert!(
                !is_recognised_la_code(code),
                "{code} should not be recognised"
            );
        }
    }

    #[test]
    fn has_every_source_code() {
        // 152 codes from python-stdnum plus the 3 pseudo-LA codes.
        assert_eq!(RECOGNISED_LA_CODES.len(), 155);
        assert!(RECOGNISED_LA_CODES.iter().all(|&c| c <= 999));
    }
}
