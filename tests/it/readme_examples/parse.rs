//! The examples of README.md, as a reader sees them: each command of a ```sh block that has a
//! grpcurl command in it, each `$ `-prompted command of any other block (a command goes on after
//! a trailing backslash, inside single quotes and through a here-document), and each ```python
//! block whole.

use std::sync::LazyLock;

use regex::Regex;

/// One command of README's examples, as written, with the line it starts on.
#[derive(Debug)]
pub(crate) struct Example {
    pub(crate) line: usize,
    pub(crate) text: String,
}

/// The commands of README's example blocks, in order (see the module's comment).
pub(crate) fn examples(readme: &str) -> Vec<Example> {
    let mut found = Vec::new();
    let mut fence: Option<&str> = None;
    let mut block: Vec<Example> = Vec::new();
    let mut current: Option<Example> = None;
    for (index, line) in readme.lines().enumerate() {
        if let Some(mut command) = current.take() {
            command.text.push('\n');
            command.text.push_str(line);
            if continues(&command.text) {
                current = Some(command);
            } else {
                block.push(command);
            }
            continue;
        }
        if let Some(info) = line.strip_prefix("```") {
            if fence.take().is_none() {
                fence = Some(info.trim());
            } else if block.iter().any(|command| is_grpcurl(&command.text)) {
                found.append(&mut block);
            } else {
                block.clear();
            }
            continue;
        }
        let Some(info) = fence else { continue };
        let text = if info == "sh" {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            line
        } else if let Some(prompted) = line.strip_prefix("$ ") {
            prompted
        } else {
            continue;
        };
        let command = Example {
            line: index + 1,
            text: text.to_string(),
        };
        if continues(&command.text) {
            current = Some(command);
        } else {
            block.push(command);
        }
    }
    assert!(
        fence.is_none() && current.is_none(),
        "README ends inside a code block"
    );
    found
}

pub(crate) fn is_grpcurl(command: &str) -> bool {
    command.starts_with("grpcurl ")
}

/// Whether a command goes on to the next line.
fn continues(text: &str) -> bool {
    if text.ends_with('\\') || text.matches('\'').count() % 2 == 1 {
        return true;
    }
    static HEREDOC: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"<<-?\s*['"]?(\w+)['"]?"#).unwrap());
    match HEREDOC.captures(text.lines().next().unwrap_or_default()) {
        Some(found) => !text.lines().skip(1).any(|line| line.trim() == &found[1]),
        None => false,
    }
}

/// Each ```python block of README, with the line it starts on.
pub(crate) fn python_blocks(readme: &str) -> Vec<Example> {
    let mut blocks = Vec::new();
    let mut current: Option<Example> = None;
    for (index, line) in readme.lines().enumerate() {
        match current.take() {
            None if line == "```python" => {
                current = Some(Example {
                    line: index + 2,
                    text: String::new(),
                })
            }
            None => {}
            Some(block) if line == "```" => blocks.push(block),
            Some(mut block) => {
                block.text.push_str(line);
                block.text.push('\n');
                current = Some(block);
            }
        }
    }
    blocks
}

#[test]
fn readme_examples_are_found() {
    let readme = std::fs::read_to_string(crate::client_tools::repo_root().join("README.md"))
        .expect("README.md");
    let found = examples(&readme);
    let calls = found.iter().filter(|c| is_grpcurl(&c.text)).count();
    assert_eq!(calls, readme.matches("grpcurl -").count(), "{found:#?}");
    assert!(
        found
            .iter()
            .any(|c| c.text.contains("<<EOF") && c.text.ends_with("EOF"))
    );
    let assignment = Regex::new(r"^[A-Z_]+=").unwrap();
    for command in found.iter().filter(|c| !is_grpcurl(&c.text)) {
        assert!(
            assignment.is_match(&command.text),
            "README line {}: neither grpcurl nor an assignment: {}",
            command.line,
            command.text
        );
    }
    assert!(!python_blocks(&readme).is_empty());
}
