//! Answers that are not SCIM: a run whose service answers a body that is not JSON, a 500 with a
//! SCIM error, or a body cut short ends FAILED with a message saying so, and applies nothing; a
//! service that does not answer within `timeout` fails it as unreachable; a service asking to
//! wait (429, Retry-After) is waited for and the run succeeds.
//!
//! The service is the real one behind a small proxy of this test's that, when told, answers the
//! next requests itself with a canned answer instead of forwarding them: scim2-server cannot be
//! made to answer garbage, and this is the one fault case that needs it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use oblique::pb::{self, SyncRunState};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::people;
use crate::harness::TestApp;
use crate::harness::calls::{accounts, sync, synced};
use crate::harness::scim::ScimService;

/// What the proxy answers instead of the service.
#[derive(Clone, Default)]
struct Script {
    /// Answered to the next requests, one each, before `always`.
    once: VecDeque<Vec<u8>>,
    /// Answered to every request while set.
    always: Option<Vec<u8>>,
}

/// A proxy in front of the service, forwarding every connection unless scripted otherwise.
struct FaultyProxy {
    addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultyProxy {
    async fn start(upstream: SocketAddr) -> FaultyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = script.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let canned = {
                    let mut script = shared.lock().unwrap();
                    script.once.pop_front().or_else(|| script.always.clone())
                };
                tokio::spawn(serve(client, upstream, canned));
            }
        });
        FaultyProxy { addr, script, task }
    }

    fn answer_always(&self, answer: &[u8]) {
        self.script.lock().unwrap().always = Some(answer.to_vec());
    }

    fn answer_once(&self, answer: &[u8]) {
        self.script.lock().unwrap().once.push_back(answer.to_vec());
    }

    fn forward(&self) {
        *self.script.lock().unwrap() = Script::default();
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: forwarded as it is, or its request read and `canned` written back as the
/// whole answer, after which the connection is closed.
async fn serve(mut client: TcpStream, upstream: SocketAddr, canned: Option<Vec<u8>>) {
    let Some(answer) = canned else {
        if let Ok(mut service) = TcpStream::connect(upstream).await {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut service).await;
        }
        return;
    };
    // The request head, then its body: closing with a request unread would reset the
    // connection before the client reads the answer.
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        match client.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        match client.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    if answer.is_empty() {
        // Silence: the connection stays open, unanswered, until the client gives up.
        let _ = client.read(&mut buffer).await;
        return;
    }
    let _ = client.write_all(&answer).await;
    let _ = client.shutdown().await;
}

fn answer(status: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Fails the next runs with `canned` answers, one after the other, and checks each run's error.
#[tokio::test]
async fn answers_that_are_not_scim_fail_the_run_clearly_and_throttling_is_waited_for() {
    let app = TestApp::spawn().await;
    let service = ScimService::start().await;
    people(&service.admin).await;
    let upstream: SocketAddr = service
        .base_url()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = FaultyProxy::start(upstream).await;
    let mut request = service.create_request("behind a proxy");
    let base_url = format!("http://{}/", proxy.addr);
    request.config.insert("base_url".into(), base_url);
    request.config.insert("timeout".into(), "2".into());
    let (integration, _) = synced(&app, request).await;
    assert_eq!(accounts(&app, &integration, false).await.len(), 3);

    let html = answer(
        "200 OK",
        "text/html",
        "<html><body>Down for maintenance</body></html>",
    );
    let scim_error = answer(
        "500 Internal Server Error",
        "application/scim+json",
        r#"{"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "500",
            "detail": "the user store is on fire"}"#,
    );
    let mut cut = answer(
        "200 OK",
        "application/scim+json",
        &format!(
            "{{\"totalResults\": 3, \"Resources\": [{}]}}",
            " ".repeat(200)
        ),
    );
    cut.truncate(cut.len() - 150);
    for (canned, expected) in [
        (&html, "is not JSON"),
        (&html, "Down for maintenance"),
        (&scim_error, "HTTP 500: the user store is on fire"),
        (&cut, "cut short"),
        (&Vec::new(), "did not answer within 2 s"),
    ] {
        proxy.answer_always(canned);
        let run = sync(&app, &integration).await;
        proxy.forward();
        assert_eq!(run.state(), SyncRunState::Failed, "{expected}: {run:?}");
        assert!(run.error.contains(expected), "{expected}: {}", run.error);
        assert!(
            run.error.contains("/Users"),
            "names the request: {}",
            run.error
        );
        assert_eq!(
            accounts(&app, &integration, false).await.len(),
            3,
            "nothing applied"
        );
    }

    // Twice "wait a second", then the service again: the run waits and succeeds.
    let busy = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n";
    proxy.answer_once(busy);
    proxy.answer_once(busy);
    let run = sync(&app, &integration).await;
    assert_eq!(run.state(), SyncRunState::Succeeded, "{run:?}");
    assert_eq!(
        run.stats.unwrap().accounts.unwrap(),
        pb::ChangeCounts {
            unchanged: 3,
            ..Default::default()
        }
    );
}
