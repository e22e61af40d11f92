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
    /// `http` or `https`: the only schemes a check accepts.
    #[zeroize(skip)]
    scheme: &'static str,
    /// The full expression in one buffer: the host, the path from `host_end` to
    /// `path_end`, then, if the URL had a query, `?` and the query.
    expression: String,
    host_end: usize,
    path_end: usize,
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
        write!(f, "{}://{}", self.scheme, self.expression)
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
        // Up to the fragment, without tab, CR and LF; the room is taken once, as the copy
        // is wiped on drop and a grown buffer would leave its old copy behind unwiped.
        let mut s: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(trimmed.len()));
        for part in trimmed.split(|&b| matches!(b, b'\t' | b'\r' | b'\n')) {
            match part.iter().position(|&b| b == b'#') {
                Some(hash) => {
                    s.extend_from_slice(&part[..hash]);
                    break;
                }
                None => s.extend_from_slice(part),
            }
        }
        // Every round that changes something shortens the text, so this ends.
        while s.contains(&b'%') {
            let mut next: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(s.len()));
            next.extend(percent_decode(&s));
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
        let path = canonical_path(path);
        // Sized up front: a grown buffer would leave an unwiped copy behind.
        let room =
            escaped_len(&host) + escaped_len(&path) + query.map_or(0, |q| 1 + escaped_len(q));
        let mut expression: Vec<u8> = Vec::with_capacity(room);
        escape_into(&mut expression, &host);
        let host_end = expression.len();
        escape_into(&mut expression, &path);
        let path_end = expression.len();
        if let Some(q) = query {
            expression.push(b'?');
            escape_into(&mut expression, q);
        }
        // Escaping leaves printable ASCII only, so this always succeeds.
        let expression = String::from_utf8(expression).map_err(|e| {
            e.into_bytes().zeroize();
            Error::MalformedUrl("not ASCII after escaping")
        })?;
        Ok(Self {
            scheme,
            expression,
            host_end,
            path_end,
            host_is_ip,
        })
    }

    /// The scheme, lower-case (`http` when the input had none).
    pub fn scheme(&self) -> &str {
        self.scheme
    }

    /// The canonical host.
    pub fn host(&self) -> &str {
        // The offsets are set by `parse_bytes` within the buffer, which is ASCII: the empty
        // default is never taken (and would only make a check find less, not fail or write).
        self.expression.get(..self.host_end).unwrap_or_default()
    }

    /// The canonical path, starting with `/`.
    pub fn path(&self) -> &str {
        // As in `host`: offsets of our own, within an ASCII buffer.
        self.expression
            .get(self.host_end..self.path_end)
            .unwrap_or_default()
    }

    /// The query without its `?`, if the URL had one (possibly empty).
    pub fn query(&self) -> Option<&str> {
        self.expression.get(self.path_end + 1..)
    }

    /// Whether the host is an IP address (then no host suffixes are formed).
    pub fn host_is_ip(&self) -> bool {
        self.host_is_ip
    }

    /// The most specific expression: `host/path?query`. A listed URL is stored as the
    /// digest of this.
    pub fn full_expression(&self) -> String {
        self.expression.clone()
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
        let host = self.host();
        let mut hosts = [host; MAX_HOSTS];
        if self.host_is_ip {
            return (hosts, 1);
        }
        // Suffixes of at most five components, longest first, not the last component
        // alone. `starts[c]`: where the suffix of `c + 1` components starts (after the
        // `c + 1`-th dot from the end).
        let mut starts = [0usize; MAX_HOSTS];
        let mut dots = 0;
        for (i, b) in host.bytes().enumerate().rev() {
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
                // `start` follows a dot found in `host` (ASCII): always in range.
                *slot = host.get(start..).unwrap_or_default();
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
        let path = self.path();
        let mut paths = [(path, None); MAX_PATHS];
        let mut n = 0;
        if let Some(q) = self.query() {
            paths[0] = (path, Some(q));
            n = 1;
        }
        if let Some(slot) = paths.get_mut(n) {
            *slot = (path, None);
            n += 1;
        }
        let mut prefixes = 0;
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' {
                if prefixes == MAX_PATH_PREFIXES {
                    break;
                }
                prefixes += 1;
                // `i` is a slash found in `path` (ASCII): always in range.
                let prefix = path.get(..=i).unwrap_or_default();
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

    /// A fast, non-cryptographic hash of the full expression (`host/path?query`): what
    /// [`Self::for_each_expression_digest_passing`] gives for that expression. The same in
    /// every process of the same build (fixed seeds), never stored.
    pub fn full_expression_fast_hash(&self) -> u64 {
        let (paths, _) = self.path_slices();
        let (path, query) = paths[0];
        fast_combine(fast_host_hash(self.host()), fast_path_hash(path, query))
    }

    /// [`Self::expression_digests`] one at a time, in the same order, for just the
    /// expressions whose fast hash `passes`: each expression's fast hash is combined from
    /// one hash of its host string and one of its path string, so no expression is
    /// assembled and SHA-256 runs only for those that pass (what a check does when its
    /// lists allow a fast filter).
    pub fn for_each_expression_digest_passing(
        &self,
        passes: impl Fn(u64) -> bool,
        mut f: impl FnMut([u8; 32]),
    ) {
        let (paths, paths_n) = self.path_slices();
        let (hosts, hosts_n) = self.host_slices();
        let mut path_hashes = [0u64; MAX_PATHS];
        for (slot, (p, q)) in path_hashes.iter_mut().zip(paths.iter().take(paths_n)) {
            *slot = fast_path_hash(p, *q);
        }
        for h in hosts.iter().take(hosts_n) {
            let host_hash = fast_host_hash(h);
            for ((p, q), &path_hash) in paths.iter().take(paths_n).zip(&path_hashes) {
                if passes(fast_combine(host_hash, path_hash)) {
                    let mut hasher = Sha256::new();
                    hasher.update(h.as_bytes());
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

    /// [`Self::expression_digests`] one at a time, without allocating (what a check does
    /// when some listed entry is a digest only).
    pub fn for_each_expression_digest(&self, f: impl FnMut([u8; 32])) {
        self.for_each_expression_digest_passing(|_| true, f);
    }
}

/// Seed of the fast expression hashes (see [`CanonicalUrl::full_expression_fast_hash`]).
const FAST_SEED: u64 = 0x7265_6163_686c_696e;

fn fast_host_hash(host: &str) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(FAST_SEED).hash_one(host.as_bytes())
}

fn fast_path_hash(path: &str, query: Option<&str>) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = foldhash::fast::FixedState::with_seed(!FAST_SEED).build_hasher();
    hasher.write(path.as_bytes());
    if let Some(q) = query {
        hasher.write(b"?");
        hasher.write(q.as_bytes());
    }
    hasher.finish()
}

/// One well-mixed hash of a host's and a path's (splitmix64's finaliser over both).
fn fast_combine(host: u64, path: u64) -> u64 {
    let mut z = host ^ path.rotate_left(32);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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

/// The length of `bytes` once escaped.
fn escaped_len(bytes: &[u8]) -> usize {
    bytes.len() + 2 * bytes.iter().filter(|&&b| escaped(b)).count()
}

/// Appends `bytes` escaped to `out`: runs that need no escape are copied whole.
fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| escaped(b)) {
        out.extend_from_slice(&rest[..at]);
        let b = rest[at];
        out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]]);
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
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
fn split_scheme(s: &[u8]) -> Result<(&'static str, &[u8]), Error> {
    if let Some(colon) = s.iter().position(|&b| b == b':') {
        let scheme = &s[..colon];
        let valid = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if valid {
            let web = if scheme.eq_ignore_ascii_case(b"http") {
                Some("http")
            } else if scheme.eq_ignore_ascii_case(b"https") {
                Some("https")
            } else {
                None
            };
            let after = &s[colon + 1..];
            if let Some(rest) = after.strip_prefix(b"//") {
                return if let Some(lower) = web {
                    Ok((lower, rest))
                } else {
                    Err(Error::MalformedUrl(
                        "only http and https URLs can be checked",
                    ))
                };
            }
            if let Some(lower) = web {
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
    Ok(("http", s))
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

/// Text either borrowed from the input or made from it (then wiped when dropped).
enum Part<'a> {
    Input(&'a [u8]),
    Made(Zeroizing<Vec<u8>>),
}

impl std::ops::Deref for Part<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Part::Input(bytes) => bytes,
            Part::Made(bytes) => bytes,
        }
    }
}

impl From<String> for Part<'_> {
    fn from(text: String) -> Self {
        Part::Made(Zeroizing::new(text.into_bytes()))
    }
}

/// The canonical host, not yet escaped, and whether it is an IP address.
fn canonical_host(authority: &[u8]) -> Result<(Part<'_>, bool), Error> {
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
            return Ok((canonical_ipv6(&hostport[..=close])?.into(), true));
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
    let written = host;
    let mut host = Part::Input(written);
    if !written.is_ascii() {
        if let Ok(text) = std::str::from_utf8(written) {
            if let Ok(ascii) = idna::domain_to_ascii(text) {
                let plain = ascii
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
                if plain {
                    host = ascii.into();
                }
            }
        }
    }
    // Dots collapsed and trimmed, lower-cased; most hosts already are (then no copy).
    let tidy = host.first() != Some(&b'.')
        && host.last() != Some(&b'.')
        && !host.windows(2).any(|w| w == b"..")
        && !host.iter().any(u8::is_ascii_uppercase);
    let collapsed = if tidy {
        host
    } else {
        let mut copy: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(host.len()));
        for label in host.split(|&b| b == b'.').filter(|l| !l.is_empty()) {
            if !copy.is_empty() {
                copy.push(b'.');
            }
            copy.extend(label.iter().map(u8::to_ascii_lowercase));
        }
        Part::Made(copy)
    };
    if collapsed.is_empty() {
        return Err(Error::MalformedUrl("no host"));
    }
    if let Some(ip) = parse_ipv4(&collapsed) {
        let [a, b, c, d] = ip;
        return Ok((format!("{a}.{b}.{c}.{d}").into(), true));
    }
    // What now reads as a bracketed literal (`.[a]`) is one on the next pass too, so it is
    // held to the same rule now.
    let literal = collapsed.first() == Some(&b'[')
        && collapsed.iter().position(|&b| b == b']') == Some(collapsed.len() - 1);
    if literal {
        return Ok((canonical_ipv6(&collapsed)?.into(), true));
    }
    if collapsed.first() == Some(&b'[') && !collapsed.contains(&b']') {
        return Err(Error::MalformedUrl(
            "an IPv6 address without its closing bracket",
        ));
    }
    Ok((collapsed, false))
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

/// Resolves `.` and `..` and collapses slashes (not yet escaped). Keeps a trailing slash.
fn canonical_path(path: &[u8]) -> Part<'_> {
    if is_canonical_path(path) {
        return Part::Input(path);
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
    Part::Made(out)
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
            let mut escaped = Vec::new();
            escape_into(&mut escaped, &[b]);
            assert_eq!(escaped, expected.as_bytes(), "{b:#04x}");
            assert_eq!(escaped_len(&[b]), expected.len(), "{b:#04x}");
        }
    }

    #[test]
    fn debug_does_not_reveal_the_url() {
        let u = CanonicalUrl::parse("http://quietharbour.example/x").unwrap();
        assert!(!format!("{u:?}").contains("quietharbour"));
    }
}
