//! Comparing DNs as a directory does, well enough to match a group's member values to the DNs
//! of the user entries: `uid=Ann, ou=People,dc=Example,dc=org` and `uid=ann,ou=people,
//! dc=example,dc=org` name the same entry.
//!
//! The key lowercases types and values (the usual naming attributes, uid, cn, ou, dc, match
//! case-insensitively), drops the spaces around separators and `=`, decodes escapes
//! (`\,`, `\2C`) and orders the parts of a multi-valued RDN. It does not know the schema: an
//! attribute named by OID or a value in `#hex` form is compared as written.
//!
//! A sync normalises every user's DN and every member value (120,000 for 20,000 users in
//! 100,000 memberships), so the key is written into one string as the DN is read, with two
//! scratch buffers reused from part to part: no allocation per type, value or RDN.

use std::ops::Range;

/// The comparison key of `dn`.
pub(super) fn normalize(dn: &str) -> String {
    let mut key = Key {
        out: String::with_capacity(dn.len()),
        text: String::new(),
        avas: Vec::new(),
    };
    // Decoded bytes of the type or value being read, and which were escaped: those stay
    // literal even though they look like separators or spaces.
    let mut current = Vec::<u8>::with_capacity(dn.len());
    let mut escaped = Vec::<bool>::with_capacity(dn.len());
    let mut kind: Option<Range<usize>> = None;
    let mut bytes = dn.trim().bytes().peekable();
    while let Some(byte) = bytes.next() {
        match byte {
            b'\\' => {
                let Some(next) = bytes.next() else { break };
                let hex = |b: u8| (b as char).to_digit(16);
                let decoded = match (hex(next), bytes.peek().copied().and_then(hex)) {
                    (Some(high), Some(low)) => {
                        bytes.next();
                        (high * 16 + low) as u8
                    }
                    _ => next,
                };
                current.push(decoded);
                escaped.push(true);
            }
            b'=' if kind.is_none() => {
                kind = Some(key.finish_part(&mut current, &mut escaped));
            }
            b',' | b';' | b'+' => {
                let value = key.finish_part(&mut current, &mut escaped);
                let kind = kind.take().unwrap_or(value.start..value.start);
                key.avas.push((kind, value));
                if byte != b'+' {
                    key.end_rdn();
                }
            }
            _ => {
                current.push(byte);
                escaped.push(false);
            }
        }
    }
    let value = key.finish_part(&mut current, &mut escaped);
    if kind.is_some() || !value.is_empty() {
        let kind = kind.unwrap_or(value.start..value.start);
        key.avas.push((kind, value));
    }
    key.end_rdn();
    key.out
}

/// The key being written, and the RDN being read: its types and values, lowercased, in
/// `text`, each attribute-value pair as two ranges of it.
struct Key {
    out: String,
    text: String,
    avas: Vec<(Range<usize>, Range<usize>)>,
}

impl Key {
    /// Moves the type or value read so far into `text`, without the spaces around it (a
    /// trailing space stays when escaped), lowercased; its place there.
    fn finish_part(&mut self, current: &mut Vec<u8>, escaped: &mut Vec<bool>) -> Range<usize> {
        while current.last() == Some(&b' ') && escaped.last() == Some(&false) {
            current.pop();
            escaped.pop();
        }
        let start = self.text.len();
        let part = String::from_utf8_lossy(current);
        let part = part.trim_start();
        if part.is_ascii() {
            self.text.push_str(part);
            self.text[start..].make_ascii_lowercase();
        } else {
            // Not char by char: a final sigma lowercases by its place in the word.
            self.text.push_str(&part.to_lowercase());
        }
        current.clear();
        escaped.clear();
        start..self.text.len()
    }

    /// Writes the RDN read (its pairs in order, so that any order of them gives one key) and
    /// starts the next; an RDN without a pair (`a=b,,c=d`) is left out.
    fn end_rdn(&mut self) {
        if self.avas.is_empty() {
            return;
        }
        if self.avas.len() > 1 {
            let text = &self.text;
            self.avas.sort_by(|a, b| {
                (&text[a.0.clone()], &text[a.1.clone()])
                    .cmp(&(&text[b.0.clone()], &text[b.1.clone()]))
            });
        }
        if !self.out.is_empty() {
            self.out.push(',');
        }
        for (at, (kind, value)) in self.avas.iter().enumerate() {
            if at > 0 {
                self.out.push('+');
            }
            self.out.push_str(&self.text[kind.clone()]);
            self.out.push('=');
            push_escaped(&mut self.out, &self.text[value.clone()]);
        }
        self.avas.clear();
        self.text.clear();
    }
}

/// Makes separators inside values unambiguous in the key.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        if matches!(c, ',' | '+' | '=' | '\\' | ';') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The DN in a uniqueMember value, without its optional `#'0101'B` unique identifier.
pub(super) fn without_unique_id(value: &str) -> &str {
    match value.rfind("#'") {
        Some(at) if value.ends_with("'B") => &value[..at],
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_dn_share_a_key() {
        let key = normalize("uid=ann,ou=people,dc=example,dc=org");
        for spelling in [
            "uid=Ann, ou=People,dc=Example,dc=ORG",
            " UID = ann ,OU=people , dc=example,dc=org ",
            "uid=\\61nn,ou=people,dc=example,dc=org",
            "uid=ann;ou=people;dc=example;dc=org",
        ] {
            assert_eq!(normalize(spelling), key, "{spelling}");
        }
        assert_ne!(normalize("uid=anne,ou=people,dc=example,dc=org"), key);
    }

    #[test]
    fn escaped_separators_stay_inside_values() {
        let escaped = normalize("cn=Doe\\, John,ou=people,dc=org");
        let hex = normalize("cn=Doe\\2C John,ou=people,dc=org");
        assert_eq!(escaped, hex);
        assert_ne!(escaped, normalize("cn=Doe,cn=John,ou=people,dc=org"));
        assert_eq!(
            normalize("cn=a\\ ,dc=org"),
            "cn=a ,dc=org",
            "an escaped trailing space is kept"
        );
    }

    #[test]
    fn multi_valued_rdns_compare_in_any_order() {
        assert_eq!(
            normalize("cn=Ann+uid=ann,dc=org"),
            normalize("uid=ann + cn=ann,dc=org")
        );
    }

    #[test]
    fn strips_a_unique_identifier() {
        assert_eq!(
            without_unique_id("uid=ann,dc=org#'0101'B"),
            "uid=ann,dc=org"
        );
        assert_eq!(without_unique_id("uid=ann,dc=org"), "uid=ann,dc=org");
    }

    /// The key as the first version wrote it, allocating per part: what [`normalize`] must
    /// agree with.
    fn reference(dn: &str) -> String {
        let mut rdns: Vec<Vec<(String, String)>> = vec![Vec::new()];
        let mut current = Vec::<u8>::new();
        let mut kind = String::new();
        let mut bytes = dn.trim().bytes().peekable();
        // Decoded bytes that must stay literal even though they look like separators.
        let mut escaped = Vec::<bool>::new();
        let finish = |current: &mut Vec<u8>, escaped: &mut Vec<bool>| {
            // Trailing spaces are not part of a value unless escaped.
            while current.last() == Some(&b' ') && escaped.last() == Some(&false) {
                current.pop();
                escaped.pop();
            }
            let text = String::from_utf8_lossy(current).trim_start().to_lowercase();
            current.clear();
            escaped.clear();
            text
        };
        let mut in_value = false;
        while let Some(byte) = bytes.next() {
            match byte {
                b'\\' => {
                    let Some(next) = bytes.next() else { break };
                    let hex = |b: u8| (b as char).to_digit(16);
                    let decoded = match (hex(next), bytes.peek().copied().and_then(hex)) {
                        (Some(high), Some(low)) => {
                            bytes.next();
                            (high * 16 + low) as u8
                        }
                        _ => next,
                    };
                    current.push(decoded);
                    escaped.push(true);
                }
                b'=' if !in_value => {
                    kind = finish(&mut current, &mut escaped);
                    in_value = true;
                }
                b',' | b';' | b'+' => {
                    let value = finish(&mut current, &mut escaped);
                    let rdn = rdns.last_mut().expect("one rdn at least");
                    rdn.push((std::mem::take(&mut kind), value));
                    in_value = false;
                    if byte != b'+' {
                        rdns.push(Vec::new());
                    }
                }
                _ => {
                    current.push(byte);
                    escaped.push(false);
                }
            }
        }
        let value = finish(&mut current, &mut escaped);
        if in_value || !value.is_empty() {
            rdns.last_mut()
                .expect("one rdn at least")
                .push((kind, value));
        }
        rdns.iter_mut()
            .filter(|rdn| !rdn.is_empty())
            .map(|rdn| {
                rdn.sort();
                rdn.iter()
                    .map(|(kind, value)| format!("{kind}={}", reference_escape(value)))
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Makes separators inside values unambiguous in the key.
    fn reference_escape(value: &str) -> String {
        let mut escaped = String::with_capacity(value.len());
        for c in value.chars() {
            if matches!(c, ',' | '+' | '=' | '\\' | ';') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        escaped
    }

    #[test]
    fn agrees_with_the_allocating_version_on_tricky_dns() {
        for dn in [
            "",
            ",",
            "a",
            "abc,dc=org",
            "uid=ann,,dc=org",
            "uid=ann,dc=org,",
            "=x",
            "cn=a=b,dc=org",
            "cn=\\20x\\20,dc=org",
            "cn=ΣΑΣ,dc=org",
            "cn=Ann+uid=ann+cn=ann,dc=org",
            "cn=\\ff\\fe,dc=org",
            "cn=\\",
            " \tcn = x\t ,dc=org",
        ] {
            assert_eq!(normalize(dn), reference(dn), "{dn:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_the_allocating_version(dn in "[aAbZ0-9fC Σé\\t,;+=\\\\#]{0,40}") {
            proptest::prop_assert_eq!(normalize(&dn), reference(&dn));
        }
    }
}
