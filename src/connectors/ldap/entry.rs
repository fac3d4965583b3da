//! Reading a search result entry without panicking and without losing value order.
//!
//! ldap3's `SearchEntry::construct` panics on a malformed entry and moves values that are not
//! UTF-8 into a separate map, which loses their place among the others: a directory's bad
//! entry must become one object's sync error, not a crashed run or a reordered attribute.

use ldap3::ResultEntry;
use ldap3::asn1::StructureTag;

/// One entry as the server sent it: DN and attributes with their raw values, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// The DN, with bytes that are not UTF-8 replaced (see [`Entry::dn_is_utf8`]).
    pub dn: String,
    pub dn_is_utf8: bool,
    attributes: Vec<(String, Vec<Vec<u8>>)>,
}

/// An attribute with a value that is not UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NotUtf8(pub String);

impl std::fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "attribute {} has a value that is not UTF-8 text", self.0)
    }
}

impl Entry {
    /// `None` when the message is not a well-formed SearchResultEntry (RFC 4511, 4.5.2).
    pub(super) fn parse(raw: ResultEntry) -> Option<Entry> {
        Self::from_tag(raw.0)
    }

    pub(super) fn from_tag(tag: StructureTag) -> Option<Entry> {
        let mut parts = tag.match_id(4)?.expect_constructed()?.into_iter();
        let dn = parts.next()?.expect_primitive()?;
        let (dn, dn_is_utf8) = match String::from_utf8(dn) {
            Ok(dn) => (dn, true),
            Err(error) => (
                String::from_utf8_lossy(error.as_bytes()).into_owned(),
                false,
            ),
        };
        let mut attributes = Vec::new();
        for attribute in parts.next()?.expect_constructed()? {
            let mut pair = attribute.expect_constructed()?.into_iter();
            let name = String::from_utf8(pair.next()?.expect_primitive()?).ok()?;
            let values = pair
                .next()?
                .expect_constructed()?
                .into_iter()
                .map(StructureTag::expect_primitive)
                .collect::<Option<Vec<_>>>()?;
            attributes.push((name, values));
        }
        Some(Entry {
            dn,
            dn_is_utf8,
            attributes,
        })
    }

    /// The raw values of `name` (compared case-insensitively, as LDAP does), in order.
    pub(super) fn raw(&self, name: &str) -> &[Vec<u8>] {
        self.attributes
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map_or(&[], |(_, values)| values.as_slice())
    }

    /// The attributes whose names start with `prefix` (case-insensitively), with their raw
    /// values: for options the server adds to a name (`member;range=0-1499`).
    pub(super) fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a [Vec<u8>])> + 'a {
        self.attributes.iter().filter_map(move |(name, values)| {
            let head = name.get(..prefix.len())?;
            head.eq_ignore_ascii_case(prefix)
                .then_some((name.as_str(), values.as_slice()))
        })
    }

    /// The values of `name` as text, in order; none when the entry does not have it.
    pub(super) fn texts(&self, name: &str) -> Result<Vec<&str>, NotUtf8> {
        self.raw(name)
            .iter()
            .map(|value| std::str::from_utf8(value).map_err(|_| NotUtf8(name.to_string())))
            .collect()
    }

    /// The first value of `name` as text.
    pub(super) fn first_text(&self, name: &str) -> Result<Option<&str>, NotUtf8> {
        match self.raw(name).first() {
            None => Ok(None),
            Some(value) => std::str::from_utf8(value)
                .map(Some)
                .map_err(|_| NotUtf8(name.to_string())),
        }
    }

    /// Checks every value of every attribute the server sent, but those of `binary` (compared
    /// case-insensitively): attributes whose values are bytes by definition (objectGUID).
    pub(super) fn check_utf8(&self, binary: &[&str]) -> Result<(), NotUtf8> {
        for (name, values) in &self.attributes {
            if binary.iter().any(|b| b.eq_ignore_ascii_case(name)) {
                continue;
            }
            if values.iter().any(|v| std::str::from_utf8(v).is_err()) {
                return Err(NotUtf8(name.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(super) mod tests {
    use ldap3::asn1::{PL, StructureTag, TagClass};

    use super::*;

    fn primitive(bytes: &[u8]) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id: 4,
            payload: PL::P(bytes.to_vec()),
        }
    }

    fn sequence(inner: Vec<StructureTag>) -> StructureTag {
        StructureTag {
            class: TagClass::Universal,
            id: 16,
            payload: PL::C(inner),
        }
    }

    /// A SearchResultEntry as a server would send it.
    pub(in crate::connectors::ldap) fn entry(dn: &[u8], attributes: &[(&str, &[&[u8]])]) -> Entry {
        let attributes = attributes
            .iter()
            .map(|(name, values)| {
                let values = values.iter().map(|v| primitive(v)).collect();
                sequence(vec![primitive(name.as_bytes()), sequence(values)])
            })
            .collect();
        let tag = StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::C(vec![primitive(dn), sequence(attributes)]),
        };
        Entry::from_tag(tag).expect("well-formed")
    }

    #[test]
    fn keeps_values_in_order_and_finds_names_in_any_case() {
        let entry = entry(
            b"uid=ann,dc=example,dc=org",
            &[
                ("mail", &[b"b@x", b"a@x", b"c@x"]),
                ("givenName", &[b"Ann"]),
            ],
        );
        assert_eq!(entry.dn, "uid=ann,dc=example,dc=org");
        assert_eq!(entry.texts("MAIL").unwrap(), ["b@x", "a@x", "c@x"]);
        assert_eq!(entry.first_text("givenname").unwrap(), Some("Ann"));
        assert_eq!(entry.first_text("sn").unwrap(), None);
        assert!(entry.texts("sn").unwrap().is_empty());
        assert!(entry.check_utf8(&[]).is_ok());
    }

    #[test]
    fn reports_the_attribute_that_is_not_text() {
        let entry = entry(
            b"uid=bad,dc=example,dc=org",
            &[("cn", &[b"Bad"]), ("title", &[b"ok", b"\xff\xfe"])],
        );
        assert_eq!(entry.check_utf8(&[]), Err(NotUtf8("title".into())));
        assert!(entry.check_utf8(&["TITLE"]).is_ok());
        assert_eq!(entry.texts("title"), Err(NotUtf8("title".into())));
        assert_eq!(entry.first_text("title").unwrap(), Some("ok"));
        let odd_dn = super::tests::entry(b"uid=\xff,dc=org", &[]);
        assert!(!odd_dn.dn_is_utf8);
    }

    #[test]
    fn a_malformed_message_is_none() {
        let not_an_entry = StructureTag {
            class: TagClass::Application,
            id: 5,
            payload: PL::C(vec![]),
        };
        assert_eq!(Entry::from_tag(not_an_entry), None);
        let truncated = StructureTag {
            class: TagClass::Application,
            id: 4,
            payload: PL::C(vec![primitive(b"dc=org")]),
        };
        assert_eq!(Entry::from_tag(truncated), None);
    }
}
