//! Access bits: the 4-bit matrix (read / insert / update / delete) a grant gives.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A set of access bits, written in plans as letters: `r` read (select),
/// `i` insert, `u` update, `d` delete; e.g. `"ri"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct Access {
    /// May select rows / get blobs.
    pub read: bool,
    /// May insert rows / put blobs.
    pub insert: bool,
    /// May update rows.
    pub update: bool,
    /// May delete rows.
    pub delete: bool,
}

/// One bit of [`Access`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// select / get
    Read,
    /// insert / put
    Insert,
    /// update
    Update,
    /// delete
    Delete,
}

impl Op {
    /// The letter used in plans.
    pub fn letter(self) -> char {
        match self {
            Op::Read => 'r',
            Op::Insert => 'i',
            Op::Update => 'u',
            Op::Delete => 'd',
        }
    }
}

impl Access {
    /// Parse plan letters; an unknown or repeated letter is an error.
    pub fn parse(letters: &str) -> Result<Self, String> {
        let mut access = Access::default();
        for ch in letters.chars() {
            let bit = match ch {
                'r' => &mut access.read,
                'i' => &mut access.insert,
                'u' => &mut access.update,
                'd' => &mut access.delete,
                other => {
                    return Err(format!(
                        "unknown access letter `{other}` in \"{letters}\" (expected r, i, u, d)"
                    ));
                }
            };
            if *bit {
                return Err(format!("access letter `{ch}` repeated in \"{letters}\""));
            }
            *bit = true;
        }
        Ok(access)
    }

    /// Whether `op` is allowed.
    pub fn allows(self, op: Op) -> bool {
        match op {
            Op::Read => self.read,
            Op::Insert => self.insert,
            Op::Update => self.update,
            Op::Delete => self.delete,
        }
    }

    /// Whether any write bit (insert, update, delete) is set.
    pub fn writes(self) -> bool {
        self.insert || self.update || self.delete
    }

    /// The bits `self` has that `other` lacks.
    pub fn minus(self, other: Access) -> Access {
        Access {
            read: self.read && !other.read,
            insert: self.insert && !other.insert,
            update: self.update && !other.update,
            delete: self.delete && !other.delete,
        }
    }

    /// True when no bit is set.
    pub fn is_empty(self) -> bool {
        self == Access::default()
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for op in [Op::Read, Op::Insert, Op::Update, Op::Delete] {
            if self.allows(op) {
                write!(f, "{}", op.letter())?;
            }
        }
        Ok(())
    }
}

impl Serialize for Access {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Access {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let letters = String::deserialize(d)?;
        Access::parse(&letters).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_letters() {
        let a = Access::parse("rid").unwrap();
        assert!(a.read && a.insert && a.delete && !a.update);
        assert_eq!(a.to_string(), "rid");
        assert!(Access::parse("").unwrap().is_empty());
    }

    #[test]
    fn refuses_unknown_and_repeated_letters() {
        assert!(
            Access::parse("rx")
                .unwrap_err()
                .contains("unknown access letter `x`")
        );
        assert!(Access::parse("rr").unwrap_err().contains("repeated"));
    }

    #[test]
    fn minus_gives_the_extra_bits() {
        let have = Access::parse("rid").unwrap();
        let need = Access::parse("ri").unwrap();
        assert_eq!(have.minus(need).to_string(), "d");
        assert!(need.minus(have).is_empty());
    }
}
