//! Member ordering as Apache Kafka's `MemberInfo.compareTo` defines it.

use super::MemberSpec;
use std::cmp::Ordering;

/// Compares two strings as Java's `String.compareTo` does (UTF-16 code
/// units), which differs from byte order only for characters above U+FFFF.
pub fn java_string_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// Kafka's member order: static members (with an instance id) first, by
/// instance id; then dynamic members by member id.
pub fn kafka_member_order(a: &MemberSpec, b: &MemberSpec) -> Ordering {
    match (&a.instance_id, &b.instance_id) {
        (Some(x), Some(y)) => java_string_cmp(x, y),
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
