//! Log text is attacker-controlled: anyone who can send mail chooses bytes
//! that end up in reply texts and addresses. Nothing from a log line reaches
//! a terminal, a SIEM or a spreadsheet without passing through here. A leaf:
//! the renderers (`report/`, `compare`) and the exports (`export/`) both use
//! it, and it imports nothing of the crate.

use std::borrow::Cow;

/// Escapes control characters (C0, DEL, C1), bidi overrides and other
/// invisible format characters as `\xNN` / `\u{NNNN}`, so escape sequences
/// cannot drive the terminal and text cannot disguise itself.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// True for a character that must not reach a terminal as itself: controls
/// (C0, C1), the invisible format characters that reorder, hide or smuggle
/// text (bidi marks, embeddings, overrides and isolates, the Arabic letter
/// mark, zero-width characters, line and paragraph separators, interlinear
/// annotation, the tag block that hides ASCII), and U+FFFD, which marks
/// bytes that were not UTF-8.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00ad}'                // soft hyphen (invisible)
            | '\u{061c}'              // Arabic letter mark (bidi)
            | '\u{180e}'              // Mongolian vowel separator (invisible)
            | '\u{200b}'..='\u{200f}' // zero-width, LRM/RLM
            | '\u{2028}' | '\u{2029}' // line and paragraph separators
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{206f}' // bidi isolates, deprecated format chars
            | '\u{feff}'              // BOM / zero-width no-break space
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation
            | '\u{fffd}'              // replacement char: shows where bytes were invalid
            | '\u{e0000}'..='\u{e007f}') // tags: invisible copies of ASCII
}

/// OWASP CSV-injection guidance: a cell starting with `=`, `+`, `-`, `@`,
/// tab or CR is prefixed with `'` so spreadsheets treat it as text.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// Display width of a sanitised string, counting chars (close enough for
/// the report's alignment: log text is overwhelmingly ASCII).
pub fn width(s: &str) -> usize {
    s.chars().count()
}

/// Cuts `s` to at most `max` chars, marking the cut with `…`.
pub fn ellipsize(s: &str, max: usize) -> Cow<'_, str> {
    if width(s) <= max {
        return Cow::Borrowed(s);
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    Cow::Owned(out)
}

/// The value Hive, Spark, Trino and DuckDB read as NULL: rows without a
/// syslog host (Exim's own mainlog). No host name encodes to it.
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Encoded host names longer than this are cut and given a hash suffix, so
/// `host=VALUE` and the staging name beside it fit a 255-byte file name.
pub(crate) const MAX_PARTITION_VALUE: usize = 200;
/// Bytes of the encoded name kept before the hash suffix.
const KEPT_BEFORE_HASH: usize = 160;

/// A host name as a path component: anything but `[A-Za-z0-9._-]` becomes
/// `%XX`, so a hostile host name cannot climb out of the directory; a name
/// that would read as Hive's NULL gets its first byte encoded; a long one is
/// cut at [`KEPT_BEFORE_HASH`] bytes and ends in `~` and 16 hex digits of its
/// BLAKE3 hash (`~` never appears otherwise), so it fits a file name and
/// stays distinct.
pub fn partition_value(host: &[u8]) -> String {
    if host.is_empty() {
        return NULL_PARTITION.into();
    }
    let mut out = String::with_capacity(host.len());
    for &b in host {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !out.is_empty()) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out == NULL_PARTITION {
        out.replace_range(..1, "%5F");
    }
    if out.len() > MAX_PARTITION_VALUE {
        let mut cut = KEPT_BEFORE_HASH;
        // Never cut inside a %XX escape.
        let bytes = out.as_bytes();
        while cut > 0 && bytes[cut.saturating_sub(2)..cut].contains(&b'%') {
            cut -= 1;
        }
        let hash = blake3::hash(host);
        out.truncate(cut);
        out.push('~');
        for b in &hash.as_bytes()[..8] {
            out.push_str(&format!("{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(terminal("plain text"), "plain text");
        assert_eq!(terminal("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(terminal("bell\x07 nul\0"), "bell\\x07 nul\\x00");
        assert_eq!(terminal("c1\u{9b}x"), "c1\\x9bx");
        assert_eq!(terminal("rtl\u{202e}gnp.exe"), "rtl\\u{202e}gnp.exe");
        assert_eq!(terminal("bad\u{fffd}"), "bad\\u{fffd}");
        assert_eq!(terminal("tab\there"), "tab\\x09here");
        // Issue 14: these reached the terminal as themselves.
        assert_eq!(terminal("a\u{061c}b"), "a\\u{061c}b");
        assert_eq!(terminal("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        assert_eq!(terminal("x\u{e0041}\u{e007f}"), "x\\u{e0041}\\u{e007f}");
        assert_eq!(terminal("naïve café"), "naïve café");
    }

    #[test]
    fn neutralises_csv_formulas() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for s in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_cell(s).starts_with('\''), "{s:?}");
        }
        assert_eq!(csv_cell("gmail.com"), "gmail.com");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn ellipsis() {
        assert_eq!(ellipsize("abcdef", 4), "abc…");
        assert_eq!(ellipsize("abc", 4), "abc");
    }
}
