//! A client as the MTAs log it, reduced to one spelling: Postfix
//! `name[ip]:port`, Exim `name (helo) [ip]:port`, `(helo) [ip]` and `[ip]`
//! all become `name[ip]` (`unknown[ip]` without a verified name, Postfix's
//! own word). The helo is the client's claim and the port changes with
//! every connection: neither tells two clients apart.

/// A client's verified name (or `unknown`) and address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client<'a> {
    /// Reverse-DNS name, `unknown`, or `local` for local submission.
    pub name: &'a [u8],
    /// The address inside the brackets; empty for local submission.
    pub ip: &'a [u8],
}

impl Client<'_> {
    /// `name[ip]`, or `local`, into `out` (cleared first).
    pub fn write(&self, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(self.name);
        if !self.ip.is_empty() {
            out.push(b'[');
            out.extend_from_slice(self.ip);
            out.push(b']');
        }
    }
}

/// The client of a logged client field; `None` when it names no address
/// (a mangled or truncated field). Postfix `pickup` and Exim `local` (no
/// `H=`) are local submission.
pub fn client(logged: &[u8]) -> Option<Client<'_>> {
    if logged == b"pickup" || logged == b"local" {
        return Some(Client {
            name: b"local",
            ip: b"",
        });
    }
    // The address is the last bracketed part: Exim's helo may itself be
    // `([192.0.2.1])`.
    let close = memchr::memrchr(b']', logged)?;
    let open = memchr::memrchr(b'[', &logged[..close])?;
    let ip = &logged[open + 1..close];
    let ip = ip.strip_prefix(b"ipv6:").unwrap_or(ip);
    if ip.is_empty()
        || !ip
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b".:".contains(b))
    {
        return None;
    }
    let before = logged[..open].trim_ascii_end();
    let name = before
        .split(|b| *b == b' ')
        .next()
        .filter(|n| !n.is_empty() && !n.starts_with(b"("))
        .unwrap_or(b"unknown");
    Some(Client { name, ip })
}

/// The network an address is in, as a postmaster blocks it: IPv4 `/24`,
/// IPv6 `/48` (a site's prefix), into `out`. Many networks in a short time
/// is how a stolen password looks: the legitimate user moves between a
/// few.
pub fn network(ip: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if memchr::memchr(b':', ip).is_none() {
        match memchr::memrchr(b'.', ip) {
            Some(dot) => {
                out.extend_from_slice(&ip[..dot]);
                out.extend_from_slice(b".0/24");
            }
            None => out.extend_from_slice(ip),
        }
        return;
    }
    // The first three groups; `::` inside them shortens the prefix.
    let mut groups = 0;
    for (i, b) in ip.iter().enumerate() {
        if *b == b':' {
            groups += 1;
            if groups == 3 || ip.get(i + 1) == Some(&b':') {
                out.extend_from_slice(&ip[..i]);
                out.extend_from_slice(b"::/48");
                return;
            }
        }
    }
    out.extend_from_slice(ip);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(logged: &str) -> String {
        let mut out = Vec::new();
        match client(logged.as_bytes()) {
            Some(c) => c.write(&mut out),
            None => return "-".into(),
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_spelling_for_every_mta() {
        assert_eq!(
            one("mail.x.example[192.0.2.1]:41234"),
            "mail.x.example[192.0.2.1]"
        );
        assert_eq!(one("unknown[203.0.113.10]"), "unknown[203.0.113.10]");
        assert_eq!(
            one("mx.x.example (helo.example) [192.0.2.7]"),
            "mx.x.example[192.0.2.7]"
        );
        assert_eq!(one("(User) [45.129.14.179]"), "unknown[45.129.14.179]");
        assert_eq!(
            one("ppp-1.example ([1.2.3.4]) [1.2.3.4]:51451"),
            "ppp-1.example[1.2.3.4]"
        );
        assert_eq!(one("[192.0.2.7]"), "unknown[192.0.2.7]");
        assert_eq!(one("unknown[2001:db8::1]"), "unknown[2001:db8::1]");
        assert_eq!(one("x[ipv6:2001:db8::1]"), "x[2001:db8::1]");
        assert_eq!(one("pickup"), "local");
        assert_eq!(one("local"), "local");
        assert_eq!(one("broken"), "-");
        assert_eq!(
            one("x[<script>]"),
            "-",
            "an address is hex digits, dots and colons"
        );
    }

    #[test]
    fn networks() {
        let net = |ip: &str| {
            let mut out = Vec::new();
            network(ip.as_bytes(), &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(net("203.0.113.10"), "203.0.113.0/24");
        assert_eq!(net("2001:db8:1:2::1"), "2001:db8:1::/48");
        assert_eq!(net("2001:db8::1"), "2001:db8::/48");
    }
}
