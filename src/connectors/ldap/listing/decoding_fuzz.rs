//! Whatever a directory sends, reading it never panics: arbitrary BER structures in place of a
//! search result entry, and well-formed entries with arbitrary attribute names and values
//! (binary, empty, huge, missing the ones a listing needs). Each entry becomes an account or a
//! resource, or a sync error about that one object.

use ldap3::asn1::{PL, StructureTag, TagClass};
use proptest::collection::vec;
use proptest::prelude::*;

use super::super::dn;
use super::super::entry::Entry;
use super::tests::settings;
use super::{read_account, read_group};

/// Names a listing looks at, in any case, and anything else.
fn attribute_name() -> impl Strategy<Value = String> {
    let known = prop::sample::select(vec![
        "entryUUID",
        "uid",
        "mail",
        "cn",
        "displayName",
        "description",
        "title",
        "member",
        "uniqueMember",
        "memberUid",
    ]);
    prop_oneof![
        3 => (known, any::<bool>()).prop_map(|(name, upper)| match upper {
            true => name.to_uppercase(),
            false => name.to_string(),
        }),
        1 => any::<String>(),
    ]
}

/// Text, DN-like text with escapes and unique ids, raw bytes, and now and then a huge value.
fn attribute_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => any::<String>().prop_map(String::into_bytes),
        3 => "(uid|cn|ou|dc|1\\.2\\.3)[ =]{1,3}([a-zA-Z ,;+=#'\\\\]|\\\\[0-9a-fA-F]{0,2}){0,12}(#'[01]*'B)?"
            .prop_map(String::into_bytes),
        2 => vec(any::<u8>(), 0..64),
        1 => (any::<u8>(), 0usize..200_000).prop_map(|(byte, length)| vec![byte; length]),
    ]
}

fn attributes() -> impl Strategy<Value = Vec<(String, Vec<Vec<u8>>)>> {
    vec((attribute_name(), vec(attribute_value(), 0..4)), 0..10)
}

fn octets(bytes: &[u8]) -> StructureTag {
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

/// A SearchResultEntry (RFC 4511, 4.5.2) as a server would encode it.
fn search_entry(dn: &[u8], attributes: &[(String, Vec<Vec<u8>>)]) -> StructureTag {
    let attributes = attributes
        .iter()
        .map(|(name, values)| {
            let values = values.iter().map(|value| octets(value)).collect();
            sequence(vec![octets(name.as_bytes()), sequence(values)])
        })
        .collect();
    StructureTag {
        class: TagClass::Application,
        id: 4,
        payload: PL::C(vec![octets(dn), sequence(attributes)]),
    }
}

/// Any BER structure: any class and tag number, primitive or constructed, a few levels deep.
fn any_tag() -> impl Strategy<Value = StructureTag> {
    let class = prop::sample::select(vec![
        TagClass::Universal,
        TagClass::Application,
        TagClass::Context,
        TagClass::Private,
    ]);
    let leaf = (class.clone(), 0u64..20, vec(any::<u8>(), 0..32)).prop_map(|(class, id, bytes)| {
        StructureTag {
            class,
            id,
            payload: PL::P(bytes),
        }
    });
    leaf.prop_recursive(5, 64, 6, move |inner| {
        (class.clone(), 0u64..20, vec(inner, 0..6)).prop_map(|(class, id, children)| StructureTag {
            class,
            id,
            payload: PL::C(children),
        })
    })
}

/// Everything the listings do with an entry: account (with its member names), resource,
/// member DNs.
fn read_every_way(entry: &Entry) {
    let settings = settings();
    match read_account(entry, &settings) {
        Ok(account) => {
            assert!(!account.username.trim().is_empty(), "{account:?}");
            assert!(!account.external_id.is_empty(), "{account:?}");
        }
        Err(problem) => {
            assert!(problem.object.starts_with("account:"), "{problem:?}");
            assert!(!problem.message.is_empty(), "{problem:?}");
        }
    }
    match read_group(entry, &settings) {
        Ok(group) => assert!(!group.external_id.is_empty(), "{group:?}"),
        Err(problem) => assert!(problem.object.starts_with("resource:"), "{problem:?}"),
    }
    for name in ["member", "uniqueMember", "memberUid"] {
        for value in entry.texts(name).unwrap_or_default() {
            dn::normalize(dn::without_unique_id(value));
        }
    }
    dn::normalize(&entry.dn);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_entry_is_an_object_or_its_sync_error(
        dn in prop_oneof![
            "[a-z]{1,4}=[^,]{0,10}(,[a-z]{1,4}=[^,]{0,10}){0,3}".prop_map(String::into_bytes),
            vec(any::<u8>(), 0..64),
        ],
        attributes in attributes(),
    ) {
        let entry = Entry::from_tag(search_entry(&dn, &attributes));
        let entry = entry.expect("a well-formed SearchResultEntry parses");
        read_every_way(&entry);
    }

    #[test]
    fn any_ber_structure_is_an_entry_or_refused(tag in any_tag()) {
        if let Some(entry) = Entry::from_tag(tag) {
            read_every_way(&entry);
        }
    }

    #[test]
    fn an_entry_with_its_parts_cut_or_garbled_is_refused_or_read(
        attributes in attributes(),
        cut in 0usize..4,
        garbage in any_tag(),
    ) {
        let StructureTag { payload: PL::C(mut parts), .. } = search_entry(b"uid=x,dc=org", &attributes)
        else {
            unreachable!("search_entry builds a constructed tag")
        };
        match cut {
            0 => parts.truncate(1),
            1 => parts[1] = garbage,
            2 => parts[0] = garbage,
            _ => parts.push(garbage),
        }
        let tag = StructureTag { class: TagClass::Application, id: 4, payload: PL::C(parts) };
        if let Some(entry) = Entry::from_tag(tag) {
            read_every_way(&entry);
        }
    }
}

/// An id that is empty would make every such entry the same object.
#[test]
fn an_empty_entry_uuid_is_the_objects_sync_error() {
    let attributes = [
        ("entryUUID".to_string(), vec![Vec::new()]),
        ("uid".to_string(), vec![b"ann".to_vec()]),
        ("cn".to_string(), vec![b"Ann".to_vec()]),
    ];
    let entry = Entry::from_tag(search_entry(b"uid=ann,dc=org", &attributes)).expect("entry");
    let problem = read_account(&entry, &settings()).expect_err("an account without an id");
    assert!(problem.message.contains("entryUUID"), "{problem:?}");
    let problem = read_group(&entry, &settings()).expect_err("a group without an id");
    assert!(problem.message.contains("entryUUID"), "{problem:?}");
}
