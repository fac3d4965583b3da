//! TLS and mutual TLS: the server speaks only TLS when given a certificate, and with a client CA
//! it admits only clients holding a certificate that CA signed. Certificates are made per test
//! run with rcgen, so nothing depends on files that expire.

use std::path::PathBuf;
use std::time::Duration;

use oblique::auth::Role;
use oblique::pb;
use oblique::server::TlsFiles;
use rcgen::ExtendedKeyUsagePurpose;
use tonic::Status;
use tonic::transport::{self, Channel, ClientTlsConfig, Identity};

use crate::harness::pki::TestCa;
use crate::harness::{Clients, TestApp};

/// A failing call must fail within this; a hang is a failure too.
const CALL_DEADLINE: Duration = Duration::from_secs(60);

/// Everything a test needs, as PEM files in a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn generate() -> Pki {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        let ca = TestCa::new("oblique test CA");
        let (server_cert, server_key) = ca.leaf(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (client_cert, client_key) =
            ca.leaf(&["trusted-client"], ExtendedKeyUsagePurpose::ClientAuth);
        let other_ca = TestCa::new("unrelated CA");
        let (other_cert, other_key) =
            other_ca.leaf(&["untrusted-client"], ExtendedKeyUsagePurpose::ClientAuth);
        write("ca.pem", &ca.pem());
        write("server.pem", &server_cert);
        write("server.key", &server_key);
        write("client.pem", &client_cert);
        write("client.key", &client_key);
        write("other-client.pem", &other_cert);
        write("other-client.key", &other_key);
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_files(&self, require_client_cert: bool) -> TlsFiles {
        TlsFiles {
            cert: self.path("server.pem"),
            key: self.path("server.key"),
            client_ca: require_client_cert.then(|| self.path("ca.pem")),
        }
    }

    /// `name`.pem and `name`.key as a client identity.
    fn identity(&self, name: &str) -> Identity {
        let read = |path: PathBuf| std::fs::read(path).unwrap();
        Identity::from_pem(
            read(self.path(&format!("{name}.pem"))),
            read(self.path(&format!("{name}.key"))),
        )
    }

    /// Client TLS that trusts our CA and checks the server's name is "localhost".
    fn client_config(&self) -> ClientTlsConfig {
        let ca = std::fs::read(self.path("ca.pem")).unwrap();
        ClientTlsConfig::new()
            .ca_certificate(transport::Certificate::from_pem(ca))
            .domain_name("localhost")
    }
}

/// A lazily connected channel to `app`: TLS with `tls`, plaintext without. The address is the
/// IPv4 loopback the server listens on (localhost may resolve to ::1 first); the name checked
/// against the certificate comes from `domain_name`.
fn channel(app: &TestApp, tls: Option<ClientTlsConfig>) -> Channel {
    let port = app.addr.port();
    match tls {
        Some(config) => Channel::from_shared(format!("https://127.0.0.1:{port}"))
            .unwrap()
            .tls_config(config)
            .expect("client tls config")
            .connect_lazy(),
        None => Channel::from_shared(format!("http://127.0.0.1:{port}"))
            .unwrap()
            .connect_lazy(),
    }
}

/// ListIntegrationTypes over `channel` with `token`; a call that hangs panics.
async fn list_types(
    channel: Channel,
    token: &str,
) -> Result<pb::ListIntegrationTypesResponse, Status> {
    let mut client = Clients::new(channel, Some(token.to_string())).integrations;
    let call = client.list_integration_types(pb::ListIntegrationTypesRequest {});
    match tokio::time::timeout(CALL_DEADLINE, call).await {
        Ok(result) => result.map(tonic::Response::into_inner),
        Err(_) => panic!("ListIntegrationTypes did not answer within {CALL_DEADLINE:?}"),
    }
}

/// The call must fail, and for the reason given: the refusal reaches the client as a TLS error
/// or alert in the status's source chain (`None`: any failure, e.g. a dropped connection).
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Status>, what: &str, reason: Option<&str>) {
    match result {
        Ok(value) => panic!("{what}: expected the call to fail, got Ok({value:?})"),
        Err(status) => {
            let detail = format!("{status:?}");
            if let Some(reason) = reason {
                assert!(
                    detail.contains(reason),
                    "{what}: failed, but not with {reason}: {detail}"
                );
            }
        }
    }
}

#[tokio::test]
async fn tls_server_answers_clients_trusting_its_ca_and_refuses_plaintext_and_untrusting_ones() {
    let pki = Pki::generate();
    let app = TestApp::spawn_with_tls(Some(pki.server_files(false))).await;
    let token = app.issue_token("tls-viewer", Role::Viewer).await;

    let types = list_types(channel(&app, Some(pki.client_config())), &token)
        .await
        .expect("a client trusting the CA gets an answer over TLS");
    assert!(
        types.types.iter().any(|t| t.name == "postgres"),
        "unexpected types: {types:?}"
    );

    // The server must not fall back to plaintext on its TLS port.
    assert_refused(
        list_types(channel(&app, None), &token).await,
        "plaintext client on the TLS port",
        None,
    );
    // Without our CA among its roots the client cannot verify the server's certificate.
    let untrusting = ClientTlsConfig::new().domain_name("localhost");
    assert_refused(
        list_types(channel(&app, Some(untrusting)), &token).await,
        "TLS client that does not trust the CA",
        Some("UnknownIssuer"),
    );
}

#[tokio::test]
async fn mutual_tls_admits_only_clients_with_a_certificate_from_the_client_ca() {
    let pki = Pki::generate();
    let app = TestApp::spawn_with_tls(Some(pki.server_files(true))).await;
    let token = app.issue_token("mtls-viewer", Role::Viewer).await;

    let signed = pki.client_config().identity(pki.identity("client"));
    list_types(channel(&app, Some(signed)), &token)
        .await
        .expect("a client presenting a certificate the client CA signed is admitted");

    // With TLS 1.3 the client finishes its handshake before the server checks its certificate,
    // so the refusal shows on the first call rather than on connect: hence calls, not connects.
    assert_refused(
        list_types(channel(&app, Some(pki.client_config())), &token).await,
        "client without a certificate",
        Some("CertificateRequired"),
    );
    let foreign = pki.client_config().identity(pki.identity("other-client"));
    assert_refused(
        list_types(channel(&app, Some(foreign)), &token).await,
        "client with a certificate from an unrelated CA",
        Some("UnknownCA"),
    );
}
