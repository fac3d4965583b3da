//! SECURITY.md names the test behind each promise: every `file.rs::test_name` it cites must be a
//! test that exists, so the page cannot drift from the code unnoticed.

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
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = std::fs::read_to_string(root.join("SECURITY.md")).expect("SECURITY.md");
    let mut checked = 0;
    for cited in page.split('`') {
        let Some((file, path)) = cited.split_once(".rs::") else {
            continue;
        };
        if file.contains(' ') {
            continue;
        }
        let source = std::fs::read_to_string(cited_file(root, &format!("{file}.rs")))
            .unwrap_or_else(|error| panic!("SECURITY.md cites {file}.rs: {error}"));
        // `tests::name` and plain `name` both end in the function's name; a bare `tests` cites
        // the file's whole test module.
        let name = path.rsplit("::").next().unwrap_or(path);
        let wanted = match name {
            "tests" => "mod tests".to_string(),
            name => format!("fn {name}("),
        };
        assert!(
            source.contains(&wanted),
            "SECURITY.md cites {cited}, but {file}.rs has no {wanted}"
        );
        checked += 1;
    }
    assert!(checked > 20, "only {checked} citations found");
}
