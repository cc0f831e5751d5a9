//! Lines: a chunk of the input split at its newlines, and what a line is
//! before anything parses it (text, blank, or too long to parse).
//!
//! The only per-byte pass besides the parsers: one `memchr` iterator over
//! a chunk's newlines (a `memchr` call per line paid its set-up on every
//! ~150-byte line). Input cuts chunks at newlines, so a chunk holds whole
//! lines; the last line of an input may lack its newline.

/// Lines longer than this are not parsed (they are counted as
/// `Unparsed::TooLong`): no MTA writes them, and it bounds the work per
/// line. A stream never holds one whole (input's bound).
pub(crate) use crate::input::MAX_LINE_LEN;

/// Calls `f` on each line of `chunk`, without its `\n`.
#[inline]
pub fn for_each_line<'a>(chunk: &'a [u8], mut f: impl FnMut(&'a [u8])) {
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', chunk) {
        f(&chunk[start..nl]);
        start = nl + 1;
    }
    if start < chunk.len() {
        f(&chunk[start..]);
    }
}

/// A line as the scan sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// Something to parse (a CRLF file's `\r` removed).
    Text(&'a [u8]),
    /// Only whitespace.
    Blank,
    /// Longer than [`MAX_LINE_LEN`]: counted, never parsed.
    TooLong(&'a [u8]),
}

/// What `line` (without its `\n`) is.
#[inline]
pub fn line(line: &[u8]) -> Line<'_> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() > MAX_LINE_LEN {
        Line::TooLong(line)
    } else if line.iter().all(|b| b.is_ascii_whitespace()) {
        Line::Blank
    } else {
        Line::Text(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunk: &[u8]) -> Vec<&[u8]> {
        let mut v = Vec::new();
        for_each_line(chunk, |l| v.push(l));
        v
    }

    #[test]
    fn lines_of_a_chunk_with_and_without_a_final_newline() {
        assert_eq!(lines(b"a\nbb\n"), [&b"a"[..], b"bb"]);
        assert_eq!(lines(b"a\nbb"), [&b"a"[..], b"bb"]);
        assert_eq!(lines(b"\n\n"), [&b""[..], b""]);
        assert!(lines(b"").is_empty());
    }

    #[test]
    fn what_a_line_is() {
        assert_eq!(line(b"x y\r"), Line::Text(b"x y"));
        assert_eq!(line(b" \t\r"), Line::Blank);
        assert_eq!(line(b""), Line::Blank);
        let long = vec![b'x'; MAX_LINE_LEN + 1];
        assert!(matches!(line(&long), Line::TooLong(l) if l.len() == MAX_LINE_LEN + 1));
        let crlf = [&long[..MAX_LINE_LEN], b"\r"].concat();
        assert_eq!(line(&crlf), Line::Text(&long[..MAX_LINE_LEN]));
    }
}
