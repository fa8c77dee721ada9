//! Member ordering as Apache Kafka's `MemberInfo.compareTo` defines it.

use super::MemberSpec;
use std::cmp::Ordering;

/// Compares two strings as Java's `String.compareTo` does (UTF-16 code
/// units), which differs from byte order only for characters above U+FFFF.
pub fn java_string_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    let (x, y) = (a.as_bytes(), b.as_bytes());
    match x.iter().zip(y).position(|(p, q)| p != q) {
        // One is a prefix of the other: shorter first, in both orders.
        None => x.len().cmp(&y.len()),
        // UTF-8 byte order equals UTF-16 unit order unless one side starts
        // a character above U+FFFF (lead byte 0xF0..) and the other one in
        // U+E000..U+FFFF (lead bytes 0xEE, 0xEF).
        Some(i) if x[i].max(y[i]) < 0xEE => x[i].cmp(&y[i]),
        Some(_) => a.encode_utf16().cmp(b.encode_utf16()),
    }
}

/// Indices of `ids` in Java string order (ties, which member ids never
/// have, by index). ASCII ids, the usual case, are checked once and then
/// compared by their first 16 bytes as one integer, falling back to the
/// whole strings only when those are equal: a 10,000-member group's sort
/// was mostly calls to `memcmp` and the per-comparison ASCII check.
pub fn java_string_order(ids: &[&str]) -> Vec<usize> {
    java_string_order_of(ids.len(), |i| ids[i])
}

/// As [`java_string_order`] for the ids `id(0..n)`, without a list of them.
pub fn java_string_order_of<'a>(n: usize, id: impl Fn(usize) -> &'a str) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    // One pass: are the ids ASCII, and are they sorted already (parsed from
    // a JSON object, or numbered in join order, they often are)?
    let (mut ascii, mut sorted) = (true, true);
    let mut previous: &[u8] = &[];
    for i in 0..n {
        let bytes = id(i).as_bytes();
        ascii &= bytes.is_ascii();
        sorted &= previous <= bytes;
        previous = bytes;
    }
    if !ascii {
        order.sort_unstable_by(|&a, &b| java_string_cmp(id(a), id(b)).then(a.cmp(&b)));
        return order;
    }
    if sorted {
        return order;
    }
    // Zero-padded big-endian prefixes order as the bytes do, except that a
    // shorter string and one continuing with NUL bytes tie: equal prefixes
    // compare the strings.
    let prefix = |id: &str| {
        let mut bytes = [0u8; 16];
        let n = id.len().min(16);
        bytes[..n].copy_from_slice(&id.as_bytes()[..n]);
        u128::from_be_bytes(bytes)
    };
    let mut keyed: Vec<(u128, usize)> = (0..n).map(|i| (prefix(id(i)), i)).collect();
    keyed.sort_unstable_by(|&(pa, a), &(pb, b)| {
        pa.cmp(&pb)
            .then_with(|| id(a).as_bytes().cmp(id(b).as_bytes()))
            .then(a.cmp(&b))
    });
    for (slot, (_, i)) in order.iter_mut().zip(keyed) {
        *slot = i;
    }
    order
}

/// Kafka's member order: static members (with an instance id) first, by
/// instance id; then dynamic members by member id. (Two members with the
/// same instance id, which a real group cannot have, fall back to member
/// id so the order never depends on the input's.)
pub fn kafka_member_order(a: &MemberSpec, b: &MemberSpec) -> Ordering {
    match (&a.instance_id, &b.instance_id) {
        (Some(x), Some(y)) => java_string_cmp(x, y).then_with(|| java_string_cmp(&a.id, &b.id)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => java_string_cmp(&a.id, &b.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_order_sorts_as_java_compares() {
        let ids = [
            "consumer-10",
            "consumer-9",
            "a",
            "a\0",
            "",
            "a-very-long-member-id-0002",
            "a-very-long-member-id-0001",
            "a-very-long-member-id-000",
        ];
        let mut expected: Vec<usize> = (0..ids.len()).collect();
        expected.sort_by(|&a, &b| java_string_cmp(ids[a], ids[b]));
        assert_eq!(java_string_order(&ids), expected);
        assert_eq!(java_string_order(&["a", "b", "b", "c"]), [0, 1, 2, 3]);
        // Non-ASCII: U+FFFD sorts after U+1F600 in UTF-16, not in UTF-8.
        let ids = ["\u{FFFD}", "\u{1F600}", "z"];
        assert_eq!(java_string_order(&ids), [2, 1, 0]);
    }

    fn member(id: &str, instance: Option<&str>) -> MemberSpec {
        MemberSpec {
            id: id.into(),
            instance_id: instance.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn static_members_first_then_strings_compare_lexically() {
        let mut ms = [
            member("c2", None),
            member("c10", None),
            member("z", Some("i2")),
            member("a", Some("i1")),
        ];
        ms.sort_by(kafka_member_order);
        let ids: Vec<_> = ms.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "z", "c10", "c2"]);
    }

    #[test]
    fn java_order_puts_supplementary_chars_before_high_bmp() {
        // U+1F600 is a surrogate pair (0xD83D...) which sorts before U+FF21.
        assert_eq!(java_string_cmp("\u{1F600}", "\u{FF21}"), Ordering::Less);
        assert_eq!("\u{1F600}".cmp("\u{FF21}"), Ordering::Greater);
    }
}
