//! URL canonicalisation and lookup expressions, as Google Safe Browsing documents them
//! (Update API v4, "URLs and Hashing").
//!
//! Lists of URLs are kept only as SHA-256 digests of *expressions* (`host/path?query`
//! without the scheme). A URL is checked by canonicalising it, forming every
//! host-suffix × path-prefix expression, hashing each and looking the digests up, so a
//! listed `evil.example/dir/` catches `http://www.evil.example/dir/page.html?x=1`.
//!
//! Canonicalisation, in order:
//! 1. strip leading and trailing whitespace; remove tab, CR and LF anywhere;
//! 2. drop the fragment (from the first `#`);
//! 3. percent-unescape repeatedly until nothing changes;
//! 4. split off the scheme (`http` if none) and the authority; drop user info and port;
//! 5. host: IDN to Punycode, strip leading and trailing dots, collapse runs of dots,
//!    lower-case, and if it parses as an IPv4 address in any legal form (decimal, octal,
//!    hex, fewer than four parts) rewrite it as four dotted decimals;
//! 6. path: resolve `.` and `..` segments, collapse runs of slashes, `/` if empty;
//!    the query is kept as is;
//! 7. percent-escape bytes <= 0x20, >= 0x7f, `#` and `%` (upper-case hex).
//!
//! Plaintext is wiped from memory when a [`CanonicalUrl`] is dropped and after expressions
//! are hashed, so the matcher holds digests only.

use std::fmt;

use percent_encoding::percent_decode;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Error;

/// At most this many host strings (the exact host and four suffixes).
const MAX_HOSTS: usize = 5;
/// At most this many root-anchored path prefixes (`/`, `/a/`, `/a/b/`, `/a/b/c/`).
const MAX_PATH_PREFIXES: usize = 4;
/// At most this many path strings: with the query, without, and the prefixes.
const MAX_PATHS: usize = MAX_PATH_PREFIXES + 2;

/// A canonical URL, split into its parts. All parts are ASCII and already escaped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct CanonicalUrl {
    scheme: String,
    host: String,
    path: String,
    query: Option<String>,
    host_is_ip: bool,
}

impl fmt::Debug for CanonicalUrl {
    /// Does not print the URL: debug output ends up in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CanonicalUrl(..)")
    }
}

impl fmt::Display for CanonicalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.host, self.path)?;
        if let Some(q) = &self.query {
            write!(f, "?{q}")?;
        }
        Ok(())
    }
}

/// Canonicalises a URL and returns it as a string (e.g. `http://www.google.com/`).
pub fn canonicalize(url: &str) -> Result<String, Error> {
    Ok(CanonicalUrl::parse(url)?.to_string())
}

/// The lookup expressions of a URL (at most 5 hosts × 6 paths), most specific first.
pub fn lookup_expressions(url: &str) -> Result<Vec<String>, Error> {
    Ok(CanonicalUrl::parse(url)?.expressions())
}

/// SHA-256 of one expression: the form in which URL lists are stored.
pub fn expression_digest(expression: &str) -> [u8; 32] {
    expression_digest_bytes(expression.as_bytes())
}

/// [`expression_digest`] of an expression given as bytes.
pub fn expression_digest_bytes(expression: &[u8]) -> [u8; 32] {
    Sha256::digest(expression).into()
}

impl CanonicalUrl {
    /// Canonicalises a URL given as text.
    pub fn parse(url: &str) -> Result<Self, Error> {
        Self::parse_bytes(url.as_bytes())
    }

    /// Canonicalises a URL given as bytes, which need not be UTF-8 (Safe Browsing's own
    /// examples include a raw `0x80` byte).
    pub fn parse_bytes(input: &[u8]) -> Result<Self, Error> {
        let trimmed = trim_ascii_whitespace(input);
        let mut s: Zeroizing<Vec<u8>> = Zeroizing::new(
            trimmed
                .iter()
                .copied()
                .filter(|b| !matches!(b, b'\t' | b'\r' | b'\n'))
                .collect(),
        );
        if let Some(hash) = s.iter().position(|&b| b == b'#') {
            s.truncate(hash);
        }
        // Every round that changes something shortens the text, so this ends.
        while s.contains(&b'%') {
            let next: Zeroizing<Vec<u8>> = Zeroizing::new(percent_decode(&s).collect());
            if *next == *s {
                break;
            }
            s = next;
        }
        if s.is_empty() {
            return Err(Error::MalformedUrl("empty URL"));
        }
        let (scheme, rest) = split_scheme(&s)?;
        let authority_end = rest
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(authority_end);
        let (path, query) = match rest.iter().position(|&b| b == b'?') {
            Some(q) => (&rest[..q], Some(&rest[q + 1..])),
            None => (rest, None),
        };
        let (host, host_is_ip) = canonical_host(authority)?;
        Ok(Self {
            scheme,
            host,
            path: canonical_path(path),
            query: query.map(escape),
            host_is_ip,
        })
    }

    /// The scheme, lower-case (`http` when the input had none).
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The canonical host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The canonical path, starting with `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query without its `?`, if the URL had one (possibly empty).
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// Whether the host is an IP address (then no host suffixes are formed).
    pub fn host_is_ip(&self) -> bool {
        self.host_is_ip
    }

    /// The most specific expression: `host/path?query`. A listed URL is stored as the
    /// digest of this.
    pub fn full_expression(&self) -> String {
        let mut e = format!("{}{}", self.host, self.path);
        if let Some(q) = &self.query {
            e.push('?');
            e.push_str(q);
        }
        e
    }

    /// The host strings: the exact host, then (unless it is an IP address) up to four
    /// suffixes formed from its last five components by removing the leading component,
    /// never the top-level domain alone.
    pub fn host_suffixes(&self) -> Vec<String> {
        let (hosts, n) = self.host_slices();
        hosts.iter().take(n).map(|h| (*h).to_owned()).collect()
    }

    /// The host strings (the first `n` of the array), without allocating.
    fn host_slices(&self) -> ([&str; MAX_HOSTS], usize) {
        let mut hosts = [self.host.as_str(); MAX_HOSTS];
        if self.host_is_ip {
            return (hosts, 1);
        }
        // Suffixes of at most five components, longest first, not the last component
        // alone. `starts[c]`: where the suffix of `c + 1` components starts (after the
        // `c + 1`-th dot from the end).
        let mut starts = [0usize; MAX_HOSTS];
        let mut dots = 0;
        for (i, b) in self.host.bytes().enumerate().rev() {
            if b == b'.' {
                if let Some(slot) = starts.get_mut(dots) {
                    *slot = i + 1;
                }
                dots += 1;
                if dots == MAX_HOSTS {
                    break;
                }
            }
        }
        let mut n = 1;
        for components in (2..=dots.min(MAX_HOSTS)).rev() {
            if let (Some(&start), Some(slot)) = (starts.get(components - 1), hosts.get_mut(n)) {
                *slot = self.host.get(start..).unwrap_or_default();
                n += 1;
            }
        }
        (hosts, n)
    }

    /// The path strings: the exact path with the query, the exact path, then up to four
    /// prefixes from the root (`/`, `/1/`, …), each ending in a slash. Duplicates removed.
    pub fn path_prefixes(&self) -> Vec<String> {
        let (paths, n) = self.path_slices();
        paths
            .iter()
            .take(n)
            .map(|(p, q)| match q {
                Some(q) => format!("{p}?{q}"),
                None => (*p).to_owned(),
            })
            .collect()
    }

    /// `(path, query)` pairs (the first `n` of the array); the query is present only on
    /// the first. Without allocating.
    fn path_slices(&self) -> ([(&str, Option<&str>); MAX_PATHS], usize) {
        let mut paths = [(self.path.as_str(), None); MAX_PATHS];
        let mut n = 0;
        if let Some(q) = &self.query {
            paths[0] = (&self.path, Some(q.as_str()));
            n = 1;
        }
        if let Some(slot) = paths.get_mut(n) {
            *slot = (&self.path, None);
            n += 1;
        }
        let mut prefixes = 0;
        for (i, b) in self.path.bytes().enumerate() {
            if b == b'/' {
                if prefixes == MAX_PATH_PREFIXES {
                    break;
                }
                prefixes += 1;
                let prefix = self.path.get(..=i).unwrap_or_default();
                if !paths
                    .iter()
                    .take(n)
                    .any(|(p, q)| q.is_none() && *p == prefix)
                {
                    if let Some(slot) = paths.get_mut(n) {
                        *slot = (prefix, None);
                        n += 1;
                    }
                }
            }
        }
        (paths, n)
    }

    /// Every lookup expression, host-major: for each host string, each path string.
    /// Host strings are distinct and so are path strings, so expressions are too.
    pub fn expressions(&self) -> Vec<String> {
        let paths = self.path_prefixes();
        let (hosts, n) = self.host_slices();
        let mut out = Vec::with_capacity(paths.len() * n);
        for h in hosts.iter().take(n) {
            for p in &paths {
                out.push(format!("{h}{p}"));
            }
        }
        out
    }

    /// SHA-256 digests of [`Self::expressions`], in the same order, hashed piece by piece
    /// so that no plaintext expression is ever assembled.
    pub fn expression_digests(&self) -> Vec<[u8; 32]> {
        let mut out = Vec::with_capacity(MAX_HOSTS * MAX_PATHS);
        self.for_each_expression_digest(|d| out.push(d));
        out
    }

    /// Each lookup expression's bytes, in the order of [`Self::expressions`], assembled in
    /// one buffer that is wiped afterwards (what a check does when its lists allow a fast
    /// filter).
    pub fn for_each_expression(&self, mut f: impl FnMut(&[u8])) {
        let (paths, paths_n) = self.path_slices();
        let (hosts, hosts_n) = self.host_slices();
        // Room for the longest expression up front: the buffer never grows, so no copy of
        // an expression is left behind in memory that is not wiped.
        let longest_host = hosts.iter().take(hosts_n).map(|h| h.len()).max();
        let longest_path = paths
            .iter()
            .take(paths_n)
            .map(|(p, q)| p.len() + q.map_or(0, |q| q.len() + 1))
            .max();
        let capacity = longest_host.unwrap_or(0) + longest_path.unwrap_or(0);
        let mut buf: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(capacity));
        for h in hosts.iter().take(hosts_n) {
            for (p, q) in paths.iter().take(paths_n) {
                buf.clear();
                buf.extend_from_slice(h.as_bytes());
                buf.extend_from_slice(p.as_bytes());
                if let Some(q) = q {
                    buf.push(b'?');
                    buf.extend_from_slice(q.as_bytes());
                }
                f(&buf);
            }
        }
    }

    /// [`Self::expression_digests`] one at a time, without allocating (what a check does).
    pub fn for_each_expression_digest(&self, mut f: impl FnMut([u8; 32])) {
        let (paths, paths_n) = self.path_slices();
        let (hosts, hosts_n) = self.host_slices();
        for h in hosts.iter().take(hosts_n) {
            let mut with_host = Sha256::new();
            with_host.update(h.as_bytes());
            for (p, q) in paths.iter().take(paths_n) {
                let mut hasher = with_host.clone();
                hasher.update(p.as_bytes());
                if let Some(q) = q {
                    hasher.update(b"?");
                    hasher.update(q.as_bytes());
                }
                f(hasher.finalize().into());
            }
        }
    }
}

fn trim_ascii_whitespace(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn escape(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Most hosts and paths need no escape: then they are printable ASCII, copied at once.
    if !bytes.iter().any(|&b| escaped(b)) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return text.to_owned();
        }
    }
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if escaped(b) {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

/// Whether the canonical form escapes `b`: <= 0x20, >= 0x7f, `#` and `%`.
fn escaped(b: u8) -> bool {
    b <= 0x20 || b >= 0x7f || b == b'#' || b == b'%'
}

/// Splits `scheme://` off. Without one the scheme is `http` and everything is authority
/// and path (`www.google.com/`, `www.gotaport.com:1234/`). `http:host` and `http:/host`
/// are read as `http://host`, as browsers do. Any other scheme (`mailto:`, `ftp://`,
/// `javascript:`) is refused: only web addresses can be checked. A name before a colon
/// followed only by digits is a host and its port, not a scheme.
fn split_scheme(s: &[u8]) -> Result<(String, &[u8]), Error> {
    if let Some(colon) = s.iter().position(|&b| b == b':') {
        let scheme = &s[..colon];
        let valid = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if valid {
            let lower = String::from_utf8_lossy(scheme).to_ascii_lowercase();
            let web = lower == "http" || lower == "https";
            let after = &s[colon + 1..];
            if let Some(rest) = after.strip_prefix(b"//") {
                return if web {
                    Ok((lower, rest))
                } else {
                    Err(Error::MalformedUrl(
                        "only http and https URLs can be checked",
                    ))
                };
            }
            if web {
                let slashes = after.iter().take_while(|&&b| b == b'/').count();
                return Ok((lower, &after[slashes..]));
            }
            let port_end = after
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(after.len());
            if !after[..port_end].iter().all(u8::is_ascii_digit) {
                return Err(Error::MalformedUrl(
                    "only http and https URLs can be checked",
                ));
            }
        }
    }
    Ok(("http".to_owned(), s))
}

/// The canonical form of a bracketed IPv6 literal (`[...]`, brackets included): the
/// compressed lower-case text of RFC 5952 (`[2001:db8::1]` for every way of writing it), or
/// the IPv4 address itself for an IPv4-mapped (`::ffff:a.b.c.d`) or NAT64 (`64:ff9b::/96`)
/// address, as Safe Browsing canonicalises them. Anything else in brackets is refused.
fn canonical_ipv6(literal: &[u8]) -> Result<String, Error> {
    let inner = &literal[1..literal.len() - 1];
    let addr: std::net::Ipv6Addr = std::str::from_utf8(inner)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Error::MalformedUrl("not an IPv6 address in brackets"))?;
    let s = addr.segments();
    let embedded =
        std::net::Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if addr.to_ipv4_mapped().is_some() || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Ok(embedded.to_string());
    }
    Ok(format!("[{addr}]"))
}

fn canonical_host(authority: &[u8]) -> Result<(String, bool), Error> {
    let hostport = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    // A bracketed IPv6 literal, alone or followed by a port, in its canonical form.
    if hostport.first() == Some(&b'[') {
        let Some(close) = hostport.iter().position(|&b| b == b']') else {
            return Err(Error::MalformedUrl(
                "an IPv6 address without its closing bracket",
            ));
        };
        if hostport.get(close + 1).is_none_or(|&b| b == b':') {
            return Ok((canonical_ipv6(&hostport[..=close])?, true));
        }
    }
    // The port starts at the first colon: a host never contains one, and cutting at the
    // last would leave `a:b` of `a:b:80`, which a second pass would cut again.
    let host: &[u8] = match hostport.iter().position(|&b| b == b':') {
        Some(colon) => &hostport[..colon],
        None => hostport,
    };
    // IDN to Punycode. Hosts that are not valid UTF-8 or that IDNA rejects (spaces,
    // control bytes) are kept as bytes and escaped below. So are hosts whose IDNA form
    // holds anything but letters, digits, `-`, `_` and dots: IDNA maps `％` to `%` and
    // moves non-ASCII letters out of the way, which can leave a `%` followed by two hex
    // digits that a second canonicalisation would unescape.
    let mut punycode: Option<Zeroizing<Vec<u8>>> = None;
    if !host.is_ascii() {
        if let Ok(text) = std::str::from_utf8(host) {
            if let Ok(ascii) = idna::domain_to_ascii(text) {
                let plain = ascii
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if plain {
                    punycode = Some(Zeroizing::new(ascii.into_bytes()));
                }
            }
        }
    }
    let host: &[u8] = punycode.as_deref().map_or(host, Vec::as_slice);
    // Dots collapsed and trimmed, lower-cased; most hosts already are (then no copy).
    let tidy = host.first() != Some(&b'.')
        && host.last() != Some(&b'.')
        && !host.windows(2).any(|w| w == b"..")
        && !host.iter().any(u8::is_ascii_uppercase);
    let mut copy: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::new());
    if !tidy {
        for label in host.split(|&b| b == b'.').filter(|l| !l.is_empty()) {
            if !copy.is_empty() {
                copy.push(b'.');
            }
            copy.extend(label.iter().map(u8::to_ascii_lowercase));
        }
    }
    let collapsed: &[u8] = if tidy { host } else { &copy };
    if collapsed.is_empty() {
        return Err(Error::MalformedUrl("no host"));
    }
    if let Some(ip) = parse_ipv4(collapsed) {
        let [a, b, c, d] = ip;
        return Ok((format!("{a}.{b}.{c}.{d}"), true));
    }
    // What now reads as a bracketed literal (`.[a]`) is one on the next pass too, so it is
    // held to the same rule now.
    let literal = collapsed.first() == Some(&b'[')
        && collapsed.iter().position(|&b| b == b']') == Some(collapsed.len() - 1);
    if literal {
        return Ok((canonical_ipv6(collapsed)?, true));
    }
    if collapsed.first() == Some(&b'[') && !collapsed.contains(&b']') {
        return Err(Error::MalformedUrl(
            "an IPv6 address without its closing bracket",
        ));
    }
    Ok((escape(collapsed), false))
}

/// Parses an IPv4 address the way `inet_aton` does: one to four parts, each decimal,
/// octal (leading `0`) or hex (`0x`); the last part fills the remaining bytes.
fn parse_ipv4(host: &[u8]) -> Option<[u8; 4]> {
    // Most hosts are names: any byte that no number form has rules them out at once.
    if !host
        .iter()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b'x' | b'X'))
    {
        return None;
    }
    let mut numbers = [0u64; 4];
    let mut count = 0;
    for p in host.split(|&b| b == b'.') {
        *numbers.get_mut(count)? = parse_ip_number(p)?;
        count += 1;
    }
    let (last, leading) = numbers.get(..count)?.split_last()?;
    if leading.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (4 - leading.len() as u32);
    if last_bits < 64 && *last >= (1u64 << last_bits) {
        return None;
    }
    let mut value: u64 = *last;
    for (i, n) in leading.iter().enumerate() {
        value |= n << (8 * (3 - i as u32));
    }
    let v = u32::try_from(value).ok()?;
    Some(v.to_be_bytes())
}

fn parse_ip_number(p: &[u8]) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = p.strip_prefix(b"0x").or(p.strip_prefix(b"0X")) {
        (hex, 16)
    } else if p.len() > 1 && p[0] == b'0' {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        // "0x" alone is zero for inet_aton; an empty part is not a number.
        return if radix == 16 { Some(0) } else { None };
    }
    let mut value: u64 = 0;
    for &d in digits {
        let digit = char::from(d).to_digit(radix)?;
        value = value
            .checked_mul(u64::from(radix))?
            .checked_add(u64::from(digit))?;
        if value > u64::from(u32::MAX) {
            return None;
        }
    }
    Some(value)
}

/// Resolves `.` and `..`, collapses slashes and escapes. Keeps a trailing slash.
fn canonical_path(path: &[u8]) -> String {
    if is_canonical_path(path) {
        return escape(path);
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for seg in path.split(|&b| b == b'/') {
        trailing_slash = false;
        match seg {
            b"" => trailing_slash = true,
            b"." => trailing_slash = true,
            b".." => {
                segments.pop();
                trailing_slash = true;
            }
            s => segments.push(s),
        }
    }
    let mut out: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(path.len() + 1));
    out.push(b'/');
    for (i, seg) in segments.iter().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(seg);
    }
    if trailing_slash && !segments.is_empty() {
        out.push(b'/');
    }
    escape(&out)
}

/// Whether `path` is already what [`canonical_path`] makes of it (before escaping), as
/// most paths are: rooted, no empty segment but the last, no `.` or `..` segment.
fn is_canonical_path(path: &[u8]) -> bool {
    let Some(rest) = path.strip_prefix(b"/") else {
        return false;
    };
    let mut segments = rest.split(|&b| b == b'/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if (segment.is_empty() && !last) || segment == b"." || segment == b".." {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_forms() {
        assert_eq!(parse_ipv4(b"3279880203"), Some([195, 127, 0, 11]));
        assert_eq!(parse_ipv4(b"0xc37f000b"), Some([195, 127, 0, 11]));
        assert_eq!(parse_ipv4(b"0303.0177.0.013"), Some([195, 127, 0, 11]));
        assert_eq!(parse_ipv4(b"195.127.11"), Some([195, 127, 0, 11]));
        assert_eq!(parse_ipv4(b"195.8323083"), Some([195, 127, 0, 11]));
        assert_eq!(parse_ipv4(b"1.2.3.256"), None);
        assert_eq!(parse_ipv4(b"1.2.3.4.5"), None);
        assert_eq!(parse_ipv4(b"08.1.1.1"), None);
        assert_eq!(parse_ipv4(b"4294967296"), None);
        assert_eq!(parse_ipv4(b"example"), None);
    }

    #[test]
    fn idn_hosts_become_punycode() {
        assert_eq!(
            canonicalize("http://bücher.example/").as_deref(),
            Ok("http://xn--bcher-kva.example/")
        );
        assert_eq!(
            canonicalize("http://B%C3%BCcher.example../a").as_deref(),
            Ok("http://xn--bcher-kva.example/a")
        );
    }

    #[test]
    fn escaping_agrees_with_percent_encoding() {
        const SET: &percent_encoding::AsciiSet =
            &percent_encoding::CONTROLS.add(b' ').add(b'#').add(b'%');
        for b in 0..=255u8 {
            let expected = percent_encoding::percent_encode(&[b], SET).to_string();
            assert_eq!(escape(&[b]), expected, "{b:#04x}");
        }
    }

    #[test]
    fn debug_does_not_reveal_the_url() {
        let u = CanonicalUrl::parse("http://quietharbour.example/x").unwrap();
        assert!(!format!("{u:?}").contains("quietharbour"));
    }
}
