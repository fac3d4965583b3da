//! Ranged retrieval of a group's `member` values (Active Directory; MS-ADTS 3.1.1.3.1.3.3): AD
//! sends at most MaxValRange (1,500) values of an attribute per entry, under the name
//! `member;range=0-1499`; the client asks for `member;range=1500-*` and so on until a range ends
//! in `*`. Without this a large group would look like its first 1,500 members.
//!
//! The listing asks for the first range by name (`member;range=0-1499`) rather than for plain
//! `member`: AD answers both alike, and a server that would send everything at once (Samba) then
//! takes the same path, so the path is the one that is tested.

use ldap3::{Ldap, Scope};

use super::connect::answer;
use super::entry::Entry;
use super::errors::{operation_error, rc, search_error};
use super::settings::{Base, LdapSettings};
use crate::connectors::ConnectorError;

/// Values asked for per range: AD's default MaxValRange.
pub(super) const STEP: u64 = 1500;

/// What the group search asks for instead of `attribute`.
pub(super) fn first_range(attribute: &str) -> String {
    format!("{attribute};range=0-{}", STEP - 1)
}

/// One range as the server named it: `attribute;range=<start>-<end>`, end `None` for `*`.
#[derive(Debug, PartialEq, Eq)]
struct Range {
    start: u64,
    end: Option<u64>,
}

fn parse_range(name: &str, attribute: &str) -> Option<Range> {
    let lower = name.to_ascii_lowercase();
    let bounds = lower
        .strip_prefix(&attribute.to_ascii_lowercase())?
        .strip_prefix(";range=")?;
    let (start, end) = bounds.split_once('-')?;
    let start = start.parse().ok()?;
    let end = match end {
        "*" => None,
        number => Some(number.parse().ok()?),
    };
    Some(Range { start, end })
}

/// Every value of `attribute` of `entry`: the values it came with, whole or as a first range,
/// then the following ranges read from the server.
pub(super) async fn all_values(
    ldap: &mut Ldap,
    settings: &LdapSettings,
    entry: &Entry,
    attribute: &str,
) -> Result<Vec<Vec<u8>>, ConnectorError> {
    let mut values: Vec<Vec<u8>> = entry.raw(attribute).to_vec();
    let mut next = None;
    for (name, got) in entry.with_prefix(attribute) {
        if let Some(range) = parse_range(name, attribute) {
            values.extend_from_slice(got);
            next = follow(&range, got.len(), &entry.dn)?;
        }
    }
    while let Some(start) = next {
        let wanted = format!("{attribute};range={start}-*");
        let search = ldap.with_timeout(settings.timeout).search(
            &entry.dn,
            Scope::Base,
            "(objectClass=*)",
            vec![wanted.as_str()],
        );
        let ldap3::SearchResult(entries, result) = answer(settings, search)
            .await?
            .map_err(|error| operation_error(error, settings, |r| search_error(r, Base::Groups)))?;
        if result.rc != rc::SUCCESS {
            return Err(search_error(&result, Base::Groups));
        }
        let Some(page) = entries.into_iter().next().and_then(Entry::parse) else {
            return Err(vanished(&entry.dn));
        };
        next = None;
        let mut answered = false;
        for (name, got) in page.with_prefix(attribute) {
            let Some(range) = parse_range(name, attribute) else {
                continue;
            };
            if range.start != start {
                return Err(ConnectorError::Remote(format!(
                    "the LDAP server answered {name} when asked for {wanted} of {}",
                    entry.dn
                )));
            }
            answered = true;
            values.extend_from_slice(got);
            next = follow(&range, got.len(), &entry.dn)?;
        }
        if !answered {
            // The group lost members since the first range: what is left is not what it had,
            // so the listing fails rather than guess.
            return Err(vanished(&entry.dn));
        }
    }
    Ok(values)
}

/// Where the range after `range` starts, `None` after the last one. A range that does not move
/// forward would make the listing endless: an error.
fn follow(range: &Range, received: usize, dn: &str) -> Result<Option<u64>, ConnectorError> {
    match range.end {
        None => Ok(None),
        Some(end) if end >= range.start && received > 0 => Ok(Some(end + 1)),
        Some(_) => Err(ConnectorError::Remote(format!(
            "the LDAP server sent an empty or backward range of the members of {dn}"
        ))),
    }
}

fn vanished(dn: &str) -> ConnectorError {
    ConnectorError::Remote(format!(
        "the members of {dn} changed while they were read in ranges: the next sync reads them again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_range_a_server_names() {
        assert_eq!(
            parse_range("member;range=0-1499", "member"),
            Some(Range {
                start: 0,
                end: Some(1499)
            })
        );
        assert_eq!(
            parse_range("Member;Range=1500-*", "member"),
            Some(Range {
                start: 1500,
                end: None
            })
        );
        for other in [
            "member",
            "member;range=a-b",
            "memberOf;range=0-1",
            "member;range=5",
        ] {
            assert_eq!(parse_range(other, "member"), None, "{other}");
        }
        assert_eq!(first_range("member"), "member;range=0-1499");
    }

    #[test]
    fn a_range_that_does_not_move_forward_is_an_error() {
        let last = Range {
            start: 1500,
            end: None,
        };
        assert_eq!(follow(&last, 10, "cn=g").unwrap(), None);
        let first = Range {
            start: 0,
            end: Some(1499),
        };
        assert_eq!(follow(&first, 1500, "cn=g").unwrap(), Some(1500));
        assert!(follow(&first, 0, "cn=g").is_err());
        let backward = Range {
            start: 10,
            end: Some(5),
        };
        assert!(follow(&backward, 3, "cn=g").is_err());
    }
}
