//! Strict JSON: a document in which some object has the same key twice is
//! refused everywhere JSON comes in (request bodies, event batches, license
//! files), rather than letting the last one silently win.

use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Checks that no object in the JSON document `bytes` has a key twice;
/// says which key if one does. A document that is not JSON passes (the
/// parser that reads it says what is wrong).
pub fn check_unique_keys(bytes: &[u8]) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match Checked::deserialize(&mut de) {
        Err(e) if e.is_data() => Err(e.to_string().split(" at line").next().unwrap_or_default().to_string()),
        _ => Ok(()),
    }
}

/// Checks every JSON document of a JSON Lines text, as [`check_unique_keys`].
pub fn check_unique_keys_lines(bytes: &[u8]) -> Result<(), String> {
    bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .try_for_each(|(i, line)| check_unique_keys(line).map_err(|e| format!("line {}: {e}", i + 1)))
}

/// A value whose objects have been checked for repeated keys.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                return Err(de::Error::custom(format!("the key {key:?} appears twice in one object")));
            }
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_twice_in_any_object_is_named_and_everything_else_passes() {
        assert_eq!(check_unique_keys(br#"{"a":1,"b":{"c":[1,{"d":2}]}}"#), Ok(()));
        assert_eq!(
            check_unique_keys(br#"{"a":1,"a":2}"#),
            Err(r#"the key "a" appears twice in one object"#.into())
        );
        // Nested, in arrays, and spelled with an escape: still the same key.
        assert!(check_unique_keys(br#"[{"x":{"k":1,"k":1}}]"#).is_err());
        assert!(check_unique_keys(br#"{"k":1,"\u006b":2}"#).is_err());
        // The same key in two objects is fine; not JSON is for the parser to say.
        assert_eq!(check_unique_keys(br#"[{"k":1},{"k":2}]"#), Ok(()));
        assert_eq!(check_unique_keys(b"{not json"), Ok(()));
        assert_eq!(
            check_unique_keys_lines(b"{\"a\":1}\n{\"b\":1,\"b\":2}\n"),
            Err("line 2: the key \"b\" appears twice in one object".into())
        );
    }
}
