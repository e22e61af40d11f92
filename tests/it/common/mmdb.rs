//! Writes a minimal MaxMind DB (the format GeoIP databases use) mapping one IPv4 address to
//! a record, so the GeoIP path is tested against the real reader with a real file.
//! Format: https://maxmind.github.io/MaxMind-DB/ (search tree, data section, metadata).

enum Value {
    Str(&'static str),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'static str, Value)>),
    Array(Vec<Value>),
}

fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    assert!(size < 29, "small values only");
    if kind <= 7 {
        out.push((kind << 5) | size as u8);
    } else {
        out.push(size as u8);
        out.push(kind - 7);
    }
}

fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend_from_slice(s.as_bytes());
        }
        Value::U16(n) => {
            control(out, 5, 2);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::U32(n) => {
            control(out, 6, 4);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::U64(n) => {
            control(out, 9, 8);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::Map(entries) => {
            control(out, 7, entries.len());
            for (k, v) in entries {
                encode(&Value::Str(k), out);
                encode(v, out);
            }
        }
        Value::Array(items) => {
            control(out, 11, items.len());
            for v in items {
                encode(v, out);
            }
        }
    }
}

/// A database where `ip` has `{"subdivisions": [{"iso_code": "ENG"}, {"iso_code": iso}]}`.
pub fn single_address(ip: std::net::Ipv4Addr, iso: &'static str) -> Vec<u8> {
    let bits = u32::from(ip);
    let node_count: u32 = 32;
    let mut tree = Vec::new();
    for i in 0..32 {
        let bit = (bits >> (31 - i)) & 1;
        let next = if i == 31 { node_count + 16 } else { i + 1 };
        let (left, right) = if bit == 0 {
            (next, node_count)
        } else {
            (node_count, next)
        };
        tree.extend_from_slice(&left.to_be_bytes()[1..]);
        tree.extend_from_slice(&right.to_be_bytes()[1..]);
    }
    let mut out = tree;
    out.extend_from_slice(&[0u8; 16]);
    encode(
        &Value::Map(vec![(
            "subdivisions",
            Value::Array(vec![
                Value::Map(vec![("iso_code", Value::Str("ENG"))]),
                Value::Map(vec![("iso_code", Value::Str(iso))]),
            ]),
        )]),
        &mut out,
    );
    out.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    encode(
        &Value::Map(vec![
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(1_700_000_000)),
            ("database_type", Value::Str("Reachline-Test")),
            ("description", Value::Map(vec![("en", Value::Str("test"))])),
            ("ip_version", Value::U16(4)),
            ("languages", Value::Array(vec![Value::Str("en")])),
            ("node_count", Value::U32(node_count)),
            ("record_size", Value::U16(24)),
        ]),
        &mut out,
    );
    out
}
