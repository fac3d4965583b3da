//! The client commands' help: every command is listed, and no command has a flag for a token or
//! a secret value.

use crate::serve_binary::{DataDir, oblique, text};

#[test]
fn help_lists_the_client_commands_and_offers_no_flag_for_a_secret() {
    let data = DataDir::new();
    let help = |args: &[&str]| {
        let output = oblique(&data.path())
            .args(args)
            .arg("--help")
            .output()
            .expect("run");
        assert!(output.status.success(), "{args:?}: {output:?}");
        text(&output.stdout)
    };
    let top = help(&[]);
    for command in [
        "integrations",
        "types",
        "sync",
        "runs",
        "access",
        "audit",
        "--server",
        "OBLIQUE_SERVER",
        "--output",
    ] {
        assert!(top.contains(command), "--help lacks {command}:\n{top}");
    }
    let commands: [&[&str]; 13] = [
        &["integrations", "list"],
        &["integrations", "get"],
        &["integrations", "create"],
        &["integrations", "update"],
        &["integrations", "delete"],
        &["types"],
        &["sync"],
        &["runs", "list"],
        &["runs", "watch"],
        &["runs", "cancel"],
        &["runs", "changes"],
        &["access", "grant"],
        &["audit"],
    ];
    for command in commands {
        let text = help(command);
        assert!(text.contains("--server"), "{command:?}:\n{text}");
        for flag in ["--token", "--password", "--secret ", "--credentials "] {
            assert!(!text.contains(flag), "{command:?} offers {flag}:\n{text}");
        }
    }
    let create = help(&["integrations", "create"]);
    assert!(create.contains("--credentials-file") && create.contains("never from the command"));
    assert!(help(&["sync"]).contains("Exits 0 when it succeeded, 3 when it failed"));
}
