//! A hostile "PostgreSQL server" for leak tests: it speaks just enough of the protocol to make a
//! client send its password (it asks for it in clear, which libpq and tokio-postgres obey when
//! TLS is off), then refuses the login with an error whose message echoes every byte it received,
//! password included. A remote system is not trusted: whatever it answers must not carry the
//! credentials Oblique sent it into a response, a log line or the database.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The protocol's request codes that come before a startup message (TLS and GSS encryption).
const SSL_REQUEST: i32 = 80_877_103;
const GSSENC_REQUEST: i32 = 80_877_104;

/// Listens on 127.0.0.1 until dropped.
pub struct EchoingPostgres {
    pub port: u16,
    accepting: JoinHandle<()>,
}

impl EchoingPostgres {
    pub async fn start() -> EchoingPostgres {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepting = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = echo_back_the_password(socket).await;
                });
            }
        });
        EchoingPostgres { port, accepting }
    }

    /// A `postgres` setup pointing at this listener: TLS off, so the password is sent.
    pub fn config(&self, username: &str) -> std::collections::HashMap<String, String> {
        [
            ("host", "127.0.0.1".to_string()),
            ("port", self.port.to_string()),
            ("username", username.to_string()),
            ("sslmode", "disable".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

impl Drop for EchoingPostgres {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Startup (declining TLS), a clear-text password request, then a FATAL 28P01 (invalid
/// password) whose message quotes what the client sent.
async fn echo_back_the_password(mut socket: TcpStream) -> std::io::Result<()> {
    let mut received = Vec::new();
    loop {
        let body = read_body(&mut socket).await?;
        received.extend_from_slice(&body);
        let code = body
            .get(..4)
            .map_or(0, |b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if code == SSL_REQUEST || code == GSSENC_REQUEST {
            socket.write_all(b"N").await?;
            continue;
        }
        break;
    }
    // AuthenticationCleartextPassword: 'R', length 8, code 3.
    socket.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).await?;
    let mut tag = [0u8; 1];
    socket.read_exact(&mut tag).await?;
    received.extend_from_slice(&read_body(&mut socket).await?);
    let echoed = String::from_utf8_lossy(&received).replace('\0', " ");
    let message = format!("password authentication failed; you sent: {echoed}");
    socket.write_all(&error_response("28P01", &message)).await?;
    socket.flush().await
}

/// A length-prefixed message body (the length counts itself).
async fn read_body(socket: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let length = socket.read_i32().await?;
    let length = usize::try_from(length.clamp(4, 1 << 20)).unwrap_or(4) - 4;
    let mut body = vec![0; length];
    socket.read_exact(&mut body).await?;
    Ok(body)
}

fn error_response(code: &str, message: &str) -> Vec<u8> {
    let mut fields = Vec::new();
    for (tag, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        fields.push(tag);
        fields.extend_from_slice(value.as_bytes());
        fields.push(0);
    }
    fields.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&(i32::try_from(fields.len() + 4).unwrap_or(i32::MAX)).to_be_bytes());
    out.extend_from_slice(&fields);
    out
}
