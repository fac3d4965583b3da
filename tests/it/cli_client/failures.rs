//! Failing client commands exit non-zero with the reason on stderr: the server's status code
//! and message, and the request id under which the server logged the call.

use crate::serve_binary::{DataDir, oblique, text};

use super::Served;

/// The request id a failed command printed.
#[track_caller]
fn request_id(stderr: &str) -> &str {
    stderr
        .lines()
        .find_map(|line| line.strip_prefix("request id: "))
        .unwrap_or_else(|| panic!("no request id in:\n{stderr}"))
}

#[tokio::test]
async fn failures_exit_non_zero_with_the_servers_code_message_and_request_id() {
    let served = Served::start().await;

    let unknown_name = served.run(&["integrations", "get", "no-such-integration"]);
    assert_eq!(unknown_name.status.code(), Some(1));
    let stderr = text(&unknown_name.stderr);
    assert!(
        stderr.contains("no integration is named \"no-such-integration\""),
        "{stderr}"
    );
    assert!(text(&unknown_name.stdout).is_empty());

    let unknown_id = served.run(&["sync", "0190a0c4-0000-7000-8000-000000000000"]);
    assert_eq!(unknown_id.status.code(), Some(1));
    let stderr = text(&unknown_id.stderr);
    assert!(stderr.contains("NOT_FOUND: "), "{stderr}");
    // The id finds the call in the server's log.
    let id = request_id(&stderr);
    assert!(
        served.server_log().contains(id),
        "request {id} is not in the server's log"
    );

    let wrong_token = served
        .command(&["integrations", "list"])
        .env("OBLIQUE_TOKEN", "obl_not-a-token")
        .output()
        .expect("running oblique");
    assert_eq!(wrong_token.status.code(), Some(1));
    let stderr = text(&wrong_token.stderr);
    assert!(
        stderr.contains("listing integrations: UNAUTHENTICATED: "),
        "{stderr}"
    );
    request_id(&stderr);

    // A create of an unknown type names it and what the server knows.
    let unknown_type = served.run(&["integrations", "create", "--type", "erp", "--name", "x"]);
    let stderr = text(&unknown_type.stderr);
    assert!(!unknown_type.status.success());
    assert!(
        stderr.contains("unknown type \"erp\"") && stderr.contains("postgres"),
        "{stderr}"
    );

    // A bad setup value is the server's INVALID_ARGUMENT naming the field.
    let bad_port = served.run(&[
        "integrations",
        "create",
        "--type",
        "postgres",
        "--name",
        "x",
        "--set",
        "host=127.0.0.1",
        "--set",
        "username=u",
        "--set",
        "port=not-a-port",
    ]);
    let stderr = text(&bad_port.stderr);
    assert!(!bad_port.status.success());
    assert!(
        stderr.contains("creating integration x: INVALID_ARGUMENT: "),
        "{stderr}"
    );

    // No server there.
    let port = oblique_testkit::free_port();
    let unreachable = served
        .command(&["types", "--server", &format!("http://127.0.0.1:{port}")])
        .output()
        .expect("running oblique");
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(text(&unreachable.stderr).contains("cannot connect to the server"));
}

#[test]
fn without_a_token_the_command_says_where_to_put_one() {
    let data = DataDir::new();
    let output = oblique(&data.path())
        .env_remove("OBLIQUE_TOKEN")
        .args(["integrations", "list"])
        .output()
        .expect("running oblique");
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("OBLIQUE_TOKEN") && stderr.contains("admin-token"),
        "{stderr}"
    );
}
