//! A stable 64-bit digest of the event log (FNV-1a), printed by every run so
//! determinism can be compared across machines and `--jobs`.

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut d = TraceDigest::new();
    d.update(bytes);
    d.value()
}

/// Incremental FNV-1a digest.
#[derive(Debug, Clone, Copy)]
pub struct TraceDigest(u64);

impl Default for TraceDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl TraceDigest {
    /// The empty digest.
    pub fn new() -> Self {
        TraceDigest(FNV_OFFSET)
    }

    /// Feeds `bytes` into the digest.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(FNV_PRIME);
        }
    }

    /// Feeds one 64-bit word (a faster path for numbers; also stable).
    pub fn update_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }

    /// The current value.
    pub fn value(&self) -> u64 {
        self.0
    }

    /// The current value as 16 lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_reference_fnv1a() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }
}
