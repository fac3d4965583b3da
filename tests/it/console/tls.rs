//! With the TLS files of the gRPC port, the console speaks HTTPS.

use reqwest::StatusCode;

use super::spawn_console;
use super::visitor::Visitor;

#[tokio::test]
async fn with_tls_files_the_console_speaks_https_and_its_cookie_is_secure() {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let console = spawn_console(false).await;
    let ca = crate::harness::pki::TestCa::new("console test CA");
    let (cert, key) = ca.server(&["127.0.0.1"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert).unwrap();
    std::fs::write(&key_path, key).unwrap();
    let config = oblique::console::tls::server_config(&cert_path, &key_path).expect("config");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(oblique::console::tls::serve(
        oblique::console::Console::new(console.app.ctx.clone(), true),
        listener,
        config,
    ));
    // A client that says nothing holds up no one: the next one is served.
    let _silent = tokio::net::TcpStream::connect(base.trim_start_matches("https://"))
        .await
        .unwrap();

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let mut visitor = Visitor::trusting(&base, roots);
    let cookie = visitor
        .sign_in(&console.admin_token)
        .await
        .expect("a session cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let home = visitor.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Add integration"), "{}", home.body);
}
