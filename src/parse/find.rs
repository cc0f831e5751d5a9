//! Byte search for short spans: header fields, `key=value` pairs, hosts.
//!
//! `memchr` is built for long haystacks; on the 5–40 bytes between two
//! delimiters of a log line its call and set-up cost more than the search.
//! These look at eight bytes per step in a plain `u64` (SWAR) and hand
//! anything past [`SHORT`] bytes to `memchr`, so long spans stay fast too.

/// Bytes searched word by word before handing over to `memchr`.
const SHORT: usize = 64;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Index of the first byte of `word` (little-endian) equal to `byte`.
#[inline(always)]
fn first_in_word(word: u64, byte: u8) -> Option<usize> {
    let x = word ^ (LO * u64::from(byte));
    // Exact zero-byte test (no false positives from borrows): a byte is
    // flagged iff it is zero.
    let found = !(((x & !HI).wrapping_add(!HI)) | x | !HI);
    (found != 0).then(|| (found.trailing_zeros() / 8) as usize)
}

#[inline(always)]
fn word_at(hay: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&hay[i..i + 8]);
    u64::from_le_bytes(w)
}

/// The first index of `byte` in `hay`.
#[inline]
pub fn byte(byte: u8, hay: &[u8]) -> Option<usize> {
    let short = hay.len().min(SHORT);
    let mut i = 0;
    while i + 8 <= short {
        if let Some(k) = first_in_word(word_at(hay, i), byte) {
            return Some(i + k);
        }
        i += 8;
    }
    while i < short {
        if hay[i] == byte {
            return Some(i);
        }
        i += 1;
    }
    if hay.len() > SHORT {
        return memchr::memchr(byte, &hay[SHORT..]).map(|k| SHORT + k);
    }
    None
}

/// The first index of `a` or `b` in `hay`.
#[inline]
pub fn byte2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let short = hay.len().min(SHORT);
    let mut i = 0;
    while i + 8 <= short {
        let w = word_at(hay, i);
        match (first_in_word(w, a), first_in_word(w, b)) {
            (Some(x), Some(y)) => return Some(i + x.min(y)),
            (Some(x), None) | (None, Some(x)) => return Some(i + x),
            (None, None) => {}
        }
        i += 8;
    }
    while i < short {
        if hay[i] == a || hay[i] == b {
            return Some(i);
        }
        i += 1;
    }
    if hay.len() > SHORT {
        return memchr::memchr2(a, b, &hay[SHORT..]).map(|k| SHORT + k);
    }
    None
}

/// Whether every byte is an ASCII letter or digit, without a branch per
/// byte: queue ids mix digits and letters at random, which defeats the
/// branch predictor of a short-circuiting check.
#[inline]
pub fn all_alphanumeric(s: &[u8]) -> bool {
    s.iter().fold(true, |ok, &b| {
        let digit = b.wrapping_sub(b'0') < 10;
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        ok & (digit | letter)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert_eq!(byte(b':', b""), None);
        assert_eq!(byte(b':', b":"), Some(0));
        assert_eq!(byte(b':', b"abcdefgh:"), Some(8));
        assert_eq!(byte(b'\x80', b"abc\x80"), Some(3));
        assert_eq!(byte(b'\x00', b"abcdefghij\x00"), Some(10));
        let mut long = vec![b'a'; 200];
        long[150] = b'=';
        assert_eq!(byte(b'=', &long), Some(150));
        assert_eq!(byte(b'x', &long), None);
    }

    #[test]
    fn alphanumeric_matches_std() {
        for b in 0..=255u8 {
            assert_eq!(all_alphanumeric(&[b]), b.is_ascii_alphanumeric(), "{b}");
        }
        assert!(all_alphanumeric(b""));
        assert!(all_alphanumeric(b"4Ps9Pb5Bb5z2Bm0"));
        assert!(!all_alphanumeric(b"64591B40D0:"));
    }

    proptest! {
        #[test]
        fn same_answer_as_memchr(
            hay in proptest::collection::vec(prop_oneof![Just(b':'), Just(0u8), Just(0x80u8), Just(0xffu8), any::<u8>()], 0..200),
            needle in prop_oneof![Just(b':'), Just(0u8), Just(0x80u8), Just(0xffu8), any::<u8>()],
        ) {
            prop_assert_eq!(byte(needle, &hay), memchr::memchr(needle, &hay));
        }

        #[test]
        fn byte2_same_answer_as_memchr2(
            hay in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'"'), Just(0x80u8), any::<u8>()], 0..200),
            a in prop_oneof![Just(b' '), Just(0x80u8), any::<u8>()],
            b in prop_oneof![Just(b'"'), Just(0u8), any::<u8>()],
        ) {
            prop_assert_eq!(byte2(a, b, &hay), memchr::memchr2(a, b, &hay));
        }
    }
}
