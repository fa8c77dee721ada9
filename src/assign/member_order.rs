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
