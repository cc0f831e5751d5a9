//! Log text is attacker-controlled: anyone who can send mail chooses bytes
//! that end up in reply texts and addresses. Nothing from a log line reaches
//! a terminal or a spreadsheet without passing through here.

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

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width, LRM/RLM
            | '\u{202a}'..='\u{202e}' // bidi embeddings and overrides
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{feff}'              // BOM / zero-width no-break space
            | '\u{fffd}') // replacement char: shows where bytes were invalid
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
