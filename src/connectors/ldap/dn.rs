//! Comparing DNs as a directory does, well enough to match a group's member values to the DNs
//! of the user entries: `uid=Ann, ou=People,dc=Example,dc=org` and `uid=ann,ou=people,
//! dc=example,dc=org` name the same entry.
//!
//! The key lowercases types and values (the usual naming attributes, uid, cn, ou, dc, match
//! case-insensitively), drops the spaces around separators and `=`, decodes escapes
//! (`\,`, `\2C`) and orders the parts of a multi-valued RDN. It does not know the schema: an
//! attribute named by OID or a value in `#hex` form is compared as written.

/// The comparison key of `dn`.
pub(super) fn normalize(dn: &str) -> String {
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
                .map(|(kind, value)| format!("{kind}={}", escape(value)))
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Makes separators inside values unambiguous in the key.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, ',' | '+' | '=' | '\\' | ';') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
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
}
