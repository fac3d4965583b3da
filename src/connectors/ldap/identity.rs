//! How entries are known across renames and moves: each directory family keeps a stable id of
//! its own. OpenLDAP has `entryUUID` (text), Active Directory `objectGUID` (16 bytes, shown in the
//! canonical GUID form Windows prints), 389-ds and FreeIPA `nsUniqueId` (text).
//!
//! The choice is made once, when the integration is set up (see `detect`), and stored in its
//! config as `id_attribute`: a sync must never guess differently from the one before, or every
//! object would look deleted and new. A config without it is an OpenLDAP integration from before
//! the choice existed, whose ids are entryUUIDs.

use ldap3::ldap_escape;

use super::entry::Entry;

/// The attribute that identifies entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdAttribute {
    EntryUuid,
    ObjectGuid,
    NsUniqueId,
}

impl IdAttribute {
    pub const ALL: [IdAttribute; 3] = [
        IdAttribute::EntryUuid,
        IdAttribute::ObjectGuid,
        IdAttribute::NsUniqueId,
    ];

    pub fn name(self) -> &'static str {
        match self {
            IdAttribute::EntryUuid => "entryUUID",
            IdAttribute::ObjectGuid => "objectGUID",
            IdAttribute::NsUniqueId => "nsUniqueId",
        }
    }

    /// The setup's spelling, in any case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|id| id.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether the values are bytes rather than text.
    pub(super) fn is_binary(self) -> bool {
        self == IdAttribute::ObjectGuid
    }

    /// Only Active Directory has objectGUID: it is what the AD behaviour (ranged retrieval,
    /// userAccountControl, `group` entries, LDAP_MATCHING_RULE_IN_CHAIN) hangs on.
    pub(super) fn is_active_directory(self) -> bool {
        self == IdAttribute::ObjectGuid
    }

    /// The entry's id as Oblique shows it: `Ok(None)` when the entry has none, `Err` with the
    /// reason when its value is unusable.
    pub(super) fn read(self, entry: &Entry) -> Result<Option<String>, String> {
        match self {
            IdAttribute::ObjectGuid => match entry.raw(self.name()).first() {
                None => Ok(None),
                Some(bytes) => guid_text(bytes)
                    .map(Some)
                    .ok_or_else(|| format!("has an objectGUID of {} bytes, not 16", bytes.len())),
            },
            _ => match entry.first_text(self.name()) {
                Ok(Some(id)) if id.trim().is_empty() => {
                    Err(format!("has an empty {}", self.name()))
                }
                Ok(id) => Ok(id.map(str::to_string)),
                Err(error) => Err(error.to_string()),
            },
        }
    }

    /// A filter matching the entry whose id is `id` (as [`IdAttribute::read`] shows it); `None`
    /// when `id` cannot be one of ours.
    pub(super) fn filter(self, id: &str) -> Option<String> {
        match self {
            IdAttribute::ObjectGuid => {
                let bytes = guid_bytes(id)?;
                let escaped: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
                Some(format!("(objectGUID={escaped})"))
            }
            _ => {
                let plausible = !id.is_empty()
                    && id.len() <= 64
                    && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
                plausible.then(|| format!("({}={})", self.name(), ldap_escape(id)))
            }
        }
    }
}

/// 16 bytes in the canonical GUID form: the first three fields are little-endian in the bytes
/// (as Windows stores a GUID), the last two big-endian. Lowercase, as entryUUIDs are.
pub(super) fn guid_text(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// The bytes of a GUID in canonical form (any case), as the directory stores them.
pub(super) fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    let parts: Vec<&str> = text.split('-').collect();
    let lengths: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    if lengths != [8, 4, 4, 4, 12] || !text.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return None;
    }
    let hex: String = parts.concat();
    let mut canonical = [0u8; 16];
    for (i, byte) in canonical.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    let mut stored = canonical;
    stored[0..4].reverse();
    stored[4..6].reverse();
    stored[6..8].reverse();
    Some(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::ldap::entry::tests::entry;

    /// Microsoft's own example: the GUID {6f9619ff-8b86-d011-b42d-00c04fc964ff} is stored as
    /// the bytes ff 19 96 6f 86 8b 11 d0 b4 2d 00 c0 4f c9 64 ff.
    const STORED: [u8; 16] = [
        0xff, 0x19, 0x96, 0x6f, 0x86, 0x8b, 0x11, 0xd0, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64,
        0xff,
    ];
    const CANONICAL: &str = "6f9619ff-8b86-d011-b42d-00c04fc964ff";

    #[test]
    fn a_guid_is_shown_as_windows_prints_it_and_read_back() {
        assert_eq!(guid_text(&STORED).as_deref(), Some(CANONICAL));
        assert_eq!(guid_bytes(CANONICAL), Some(STORED));
        assert_eq!(guid_bytes(&CANONICAL.to_uppercase()), Some(STORED));
        for bad in [
            "",
            "6f9619ff8b86d011b42d00c04fc964ff",
            "6f9619ff-8b86-d011-b42d-00c04fc964fg",
        ] {
            assert_eq!(guid_bytes(bad), None, "{bad}");
        }
        assert_eq!(guid_text(&STORED[..15]), None);
    }

    #[test]
    fn reads_each_kind_of_id_and_filters_by_it() {
        let ad = entry(b"CN=Ann,DC=example,DC=org", &[("objectGUID", &[&STORED])]);
        assert_eq!(
            IdAttribute::ObjectGuid.read(&ad),
            Ok(Some(CANONICAL.to_string()))
        );
        assert_eq!(
            IdAttribute::ObjectGuid.filter(CANONICAL).as_deref(),
            Some("(objectGUID=\\ff\\19\\96\\6f\\86\\8b\\11\\d0\\b4\\2d\\00\\c0\\4f\\c9\\64\\ff)")
        );
        assert_eq!(IdAttribute::ObjectGuid.filter("*"), None);
        let short = entry(b"CN=Odd,DC=org", &[("objectGUID", &[b"\x01\x02"])]);
        assert!(IdAttribute::ObjectGuid.read(&short).is_err());

        let openldap = entry(b"uid=ann,dc=org", &[("entryUUID", &[b"a-b-c"])]);
        assert_eq!(
            IdAttribute::EntryUuid.read(&openldap),
            Ok(Some("a-b-c".to_string()))
        );
        assert_eq!(IdAttribute::NsUniqueId.read(&openldap), Ok(None));
        assert_eq!(
            IdAttribute::NsUniqueId.filter("0a1b-2c").as_deref(),
            Some("(nsUniqueId=0a1b-2c)")
        );
        assert_eq!(IdAttribute::EntryUuid.filter("x)(uid=*"), None);
        assert_eq!(
            IdAttribute::from_name("objectguid"),
            Some(IdAttribute::ObjectGuid)
        );
        assert_eq!(IdAttribute::from_name("uid"), None);
    }
}
