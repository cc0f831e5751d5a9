//! Splitting a byte buffer into line-aligned chunks for parallel scanning.

use memchr::memchr;

/// Splits `data` into pieces of about `target` bytes, each ending just after
/// a `\n` (the last piece ends where `data` ends). No line is ever split, so
/// every piece can be scanned on its own; a single line longer than `target`
/// simply makes its piece longer.
pub(crate) fn line_aligned(data: &[u8], target: usize) -> Vec<&[u8]> {
    let target = target.max(1);
    let mut pieces = Vec::with_capacity(data.len() / target + 1);
    let mut start = 0;
    while start < data.len() {
        let want = start.saturating_add(target).min(data.len());
        let end = if want >= data.len() {
            data.len()
        } else {
            match memchr(b'\n', &data[want - 1..]) {
                Some(off) => want + off,
                None => data.len(),
            }
        };
        pieces.push(&data[start..end]);
        start = end;
    }
    pieces
}

/// A chunk size that gives every thread several pieces (for balance) without
/// making pieces so small that per-piece overhead shows.
pub(crate) fn target_size(len: usize, threads: usize) -> usize {
    const MIN: usize = 256 << 10;
    const MAX: usize = 16 << 20;
    (len / (threads.max(1) * 8)).clamp(MIN, MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert!(line_aligned(b"", 4).is_empty());
        assert_eq!(line_aligned(b"abc", 1), vec![&b"abc"[..]]);
        assert_eq!(
            line_aligned(b"a\nb\nc\n", 1),
            vec![&b"a\n"[..], b"b\n", b"c\n"]
        );
        assert_eq!(line_aligned(b"aaaa\nb", 2), vec![&b"aaaa\n"[..], b"b"]);
        assert_eq!(line_aligned(b"a\nbb\n", 100), vec![&b"a\nbb\n"[..]]);
    }

    proptest! {
        #[test]
        fn pieces_concatenate_and_end_on_newlines(
            data in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..2000),
            target in 1usize..300,
        ) {
            let pieces = line_aligned(&data, target);
            let joined: Vec<u8> = pieces.concat();
            prop_assert_eq!(&joined, &data);
            for p in &pieces[..pieces.len().saturating_sub(1)] {
                prop_assert_eq!(p.last(), Some(&b'\n'));
            }
            // Same lines as a plain split.
            let lines = |v: &[u8]| v.split(|b| *b == b'\n').count();
            let n: usize = pieces.iter().map(|p| p.iter().filter(|b| **b == b'\n').count()).sum();
            prop_assert_eq!(n + 1, lines(&data));
        }
    }
}
