//! URL handling; the connections themselves are proved against real servers in tests/it.

use super::*;

#[test]
fn ssl_parameters_leave_a_url_and_the_rest_stays() {
    let (rest, ssl) = take_ssl_parameters(
        "postgres://u:p@db.example.org:5432/oblique?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
    );
    assert_eq!(
        rest,
        "postgres://u:p@db.example.org:5432/oblique?application_name=x"
    );
    assert_eq!(ssl.mode.as_deref(), Some("verify-full"));
    assert_eq!(ssl.root_cert, Some(PathBuf::from("/etc/ca.pem")));

    let (rest, ssl) = take_ssl_parameters("postgres://u@h/db?sslmode=require");
    assert_eq!(rest, "postgres://u@h/db");
    assert_eq!(ssl.mode.as_deref(), Some("require"));
}

#[test]
fn ssl_parameters_leave_a_key_value_string() {
    let (rest, ssl) = take_ssl_parameters(
        "host=db user=u password='a \\' b' sslmode=verify-ca sslrootcert='/a b/ca.pem' dbname=o",
    );
    assert_eq!(ssl.mode.as_deref(), Some("verify-ca"));
    assert_eq!(ssl.root_cert, Some(PathBuf::from("/a b/ca.pem")));
    let config = Config::from_str(&rest).expect("the rest parses");
    assert_eq!(config.get_dbname(), Some("o"));
    assert_eq!(config.get_user(), Some("u"));
    assert_eq!(config.get_password(), Some("a ' b".as_bytes()));
}

#[test]
fn an_unknown_sslmode_is_a_clear_error() {
    let error = Target::parse("postgres://u@h/db?sslmode=allow")
        .err()
        .expect("allow is refused")
        .to_string();
    assert!(
        error.contains("sslmode") && error.contains("verify-full"),
        "{error}"
    );
}

#[test]
fn a_missing_root_certificate_file_is_named() {
    let error =
        Target::parse("postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .err()
            .expect("refused")
            .to_string();
    assert!(error.contains("/nonexistent/ca.pem"), "{error}");
}

#[test]
fn a_unix_socket_host_is_a_percent_encoded_path_and_never_tls() {
    let url = format!(
        "postgres://oblique:pw@{}:5433/oblique?sslmode=require",
        percent_encode("/tmp/some dir/run")
    );
    let target = Target::parse(&url).expect("parses");
    assert_eq!(
        target.config.get_hosts(),
        &[Host::Unix(PathBuf::from("/tmp/some dir/run"))]
    );
    assert_eq!(target.config.get_ports(), &[5433]);
    assert_eq!(
        target.config.get_ssl_mode(),
        tokio_postgres::config::SslMode::Disable
    );
}

#[test]
fn errors_never_show_the_password() {
    let error = Target::parse("postgres://u:s3cr3t@h:notaport/db")
        .err()
        .expect("bad port")
        .to_string();
    assert!(!error.contains("s3cr3t"), "{error}");
}

#[test]
fn every_connection_notices_a_silent_peer_unless_the_url_says_otherwise() {
    let target = Target::parse("postgres://u@db.example.org/oblique?sslmode=disable").unwrap();
    assert!(target.config.get_keepalives());
    assert_eq!(target.config.get_keepalives_idle(), KEEPALIVES_IDLE);
    assert_eq!(
        target.config.get_keepalives_interval(),
        Some(KEEPALIVES_INTERVAL)
    );
    assert_eq!(
        target.config.get_keepalives_retries(),
        Some(KEEPALIVES_RETRIES)
    );
    assert_eq!(
        target.config.get_tcp_user_timeout(),
        Some(&TCP_USER_TIMEOUT)
    );

    let own = Target::parse("host=db user=u keepalives_idle=5 sslmode=disable").unwrap();
    assert_eq!(own.config.get_keepalives_idle(), Duration::from_secs(5));
    let off = Target::parse("postgres://u@db/oblique?keepalives=0").unwrap();
    assert!(!off.config.get_keepalives());
}
