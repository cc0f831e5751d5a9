//! The terminal's look, shared by every text renderer (the report, its
//! findings and journeys, `summary`, `compare`): the layout width, ANSI
//! styling (or none) and number formatting. A leaf: the renderers import
//! it, it imports none of them.

/// Report width the layout is designed for.
pub const WIDTH: usize = 100;

/// ANSI styling, or nothing.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Styling on or off.
    pub fn new(enabled: bool) -> Style {
        Style { enabled }
    }

    /// Wraps `s` in an SGR code when styling is on.
    pub fn paint(self, code: &str, s: &str) -> String {
        if self.enabled && !s.is_empty() {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Bold.
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }

    /// Dim.
    pub fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }

    /// Colours a right-aligned count by status when it is non-zero.
    pub(crate) fn count(self, status: &str, n: u64, width: usize) -> String {
        let text = format!("{:>width$}", thousands(n));
        match (status, n) {
            (_, 0) => self.dim(&text),
            ("deferred", _) => self.paint("33", &text),
            ("bounced" | "expired" | "undeliverable", _) => self.paint("31", &text),
            _ => text,
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
