//! A browser without the browser, for the console's HTTP tests: keeps the session cookie,
//! follows no redirect, reads the CSRF token off a page.

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

/// A browser without the browser: keeps the session cookie, follows no redirect.
pub struct Visitor {
    pub client: reqwest::Client,
    base: String,
    pub cookie: Option<String>,
}

pub struct Page {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
}

impl Visitor {
    pub fn new(base: &str) -> Visitor {
        Visitor::trusting(base, rustls::RootCertStore::empty())
    }

    /// Connecting from `address` (a loopback address other than 127.0.0.1: another client).
    pub fn from_address(base: &str, address: std::net::IpAddr) -> Visitor {
        Visitor::built(base, rustls::RootCertStore::empty(), Some(address))
    }

    /// Over https, trusting `roots`.
    pub fn trusting(base: &str, roots: rustls::RootCertStore) -> Visitor {
        Visitor::built(base, roots, None)
    }

    fn built(
        base: &str,
        roots: rustls::RootCertStore,
        local_address: Option<std::net::IpAddr>,
    ) -> Visitor {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .local_address(local_address)
            .build()
            .expect("an HTTP client");
        Visitor {
            client,
            base: base.to_string(),
            cookie: None,
        }
    }

    /// Signs in with `token`; the `Set-Cookie` header it got.
    pub async fn sign_in(&mut self, token: &str) -> Option<String> {
        let response = self.send_post("/sign-in", &[("token", token)], &[]).await;
        let set_cookie = response
            .headers()
            .get(SET_COOKIE)
            .map(|value| value.to_str().expect("ascii").to_string());
        if let Some(set_cookie) = &set_cookie {
            self.cookie = Some(set_cookie.split(';').next().unwrap_or_default().to_string());
        }
        set_cookie
    }

    pub async fn get(&self, path: &str) -> Page {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        page(request.send().await.expect("GET")).await
    }

    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        page(self.send_post(path, fields, &[]).await).await
    }

    pub async fn post_with_headers(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        page(self.send_post(path, fields, headers).await).await
    }

    pub async fn send_post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("form"));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("POST")
    }
}

async fn page(response: reqwest::Response) -> Page {
    let status = response.status();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().expect("ascii").to_string());
    Page {
        status,
        body: response.text().await.expect("body"),
        location,
    }
}

/// The CSRF token in a page's forms.
pub fn csrf_of(body: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = body.find(marker).expect("a form with a CSRF token") + marker.len();
    body[start..]
        .split('"')
        .next()
        .expect("a closing quote")
        .to_string()
}
