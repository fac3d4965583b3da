//! SECURITY.md and RELIABILITY.md name the test behind each promise: every `file.rs::test_name`
//! they cite must be a test that exists, so the pages cannot drift from the code unnoticed.

use std::path::{Path, PathBuf};

/// Where a cited file lives: `src/…` from the crate root, anything else under tests/it.
fn cited_file(root: &Path, file: &str) -> PathBuf {
    if file.starts_with("src/") {
        root.join(file)
    } else {
        root.join("tests/it").join(file)
    }
}

#[test]
fn every_test_security_md_cites_exists() {
    assert!(every_cited_test_exists("SECURITY.md") > 20);
}

#[test]
fn every_test_reliability_md_cites_exists() {
    assert!(every_cited_test_exists("RELIABILITY.md") > 10);
}

/// Checks each citation of the page; returns how many there were.
fn every_cited_test_exists(page_name: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join(page_name)).expect(page_name);
    let mut checked = 0;
    for cited in page.split('`') {
        let Some((file, path)) = cited.split_once(".rs::") else {
            continue;
        };
        if file.contains(' ') {
            continue;
        }
        let source = std::fs::read_to_string(cited_file(root, &format!("{file}.rs")))
            .unwrap_or_else(|error| panic!("{page_name} cites {file}.rs: {error}"));
        // `tests::name` and plain `name` both end in the function's name; a bare `tests` cites
        // the file's whole test module.
        let name = path.rsplit("::").next().unwrap_or(path);
        let wanted = match name {
            "tests" => "mod tests".to_string(),
            name => format!("fn {name}("),
        };
        assert!(
            source.contains(&wanted),
            "{page_name} cites {cited}, but {file}.rs has no {wanted}"
        );
        checked += 1;
    }
    checked
}
