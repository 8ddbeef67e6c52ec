//! A fake GCP metadata server, written from Google's documented protocol:
//!
//! * `GET /computeMetadata/v1/<path>` over plain HTTP/1.1;
//! * the request header `Metadata-Flavor: Google` is required: without it the server answers
//!   `403 Forbidden` (as the real one does);
//! * answers are `text/plain` bodies with the response header `Metadata-Flavor: Google`;
//!   unknown paths are `404 Not Found`;
//! * `project/project-id`, `project/numeric-project-id`, `instance/id`, `instance/region`
//!   (`projects/<number>/regions/<region>`) and `instance/zone`
//!   (`projects/<number>/zones/<zone>`).
//!
//! [`Metadata::stalling`] accepts connections and never answers (a metadata server that hangs).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const PROJECT_ID: &str = "demo-project";
pub const PROJECT_NUMBER: &str = "123456789012";
pub const REGION: &str = "europe-west1";
pub const INSTANCE_ID: &str =
    "0069c7a988ce2a2a1ac67c4fcb5e56a88c1bdd4fe65e4d2cf5a5fcfeb0b9ec9d2ac4f6f3e1a8";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub flavor: Option<String>,
}

pub struct Metadata {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Seen>>>,
    pub connections: Arc<AtomicUsize>,
}

impl Metadata {
    /// A metadata server answering the documented paths.
    pub fn start() -> Self {
        Self::spawn(false)
    }

    /// A metadata server that accepts connections and never answers.
    pub fn stalling() -> Self {
        Self::spawn(true)
    }

    /// `host:port`, for `GCE_METADATA_HOST`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn request_count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    fn spawn(stall: bool) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (seen, count) = (requests.clone(), connections.clone());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let mut held = Vec::new();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    count.fetch_add(1, Ordering::SeqCst);
                    if stall {
                        held.push(stream);
                        continue;
                    }
                    tokio::spawn(serve(stream, seen.clone()));
                }
            });
        });
        Self {
            addr,
            requests,
            connections,
        }
    }
}

fn answers() -> HashMap<&'static str, String> {
    HashMap::from([
        ("project/project-id", PROJECT_ID.to_owned()),
        ("project/numeric-project-id", PROJECT_NUMBER.to_owned()),
        ("instance/id", INSTANCE_ID.to_owned()),
        (
            "instance/region",
            format!("projects/{PROJECT_NUMBER}/regions/{REGION}"),
        ),
        (
            "instance/zone",
            format!("projects/{PROJECT_NUMBER}/zones/{REGION}-1"),
        ),
    ])
}

/// Reads a request head: (method, path, lowercase headers).
async fn read_head(stream: &mut TcpStream) -> Option<(String, String, HashMap<String, String>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect();
    Some((method, path, headers))
}

async fn serve(mut stream: TcpStream, seen: Arc<Mutex<Vec<Seen>>>) {
    while let Some((method, path, headers)) = read_head(&mut stream).await {
        let flavor = headers.get("metadata-flavor").cloned();
        seen.lock().unwrap().push(Seen {
            path: path.clone(),
            flavor: flavor.clone(),
        });
        let key = path
            .split('?')
            .next()
            .unwrap_or_default()
            .strip_prefix("/computeMetadata/v1/")
            .map(|k| k.trim_end_matches('/').to_owned());
        let (status, body) = if flavor.as_deref() != Some("Google") {
            (
                "403 Forbidden",
                "Missing required header \"Metadata-Flavor\": \"Google\"\n".to_owned(),
            )
        } else if method != "GET" {
            ("405 Method Not Allowed", String::new())
        } else {
            match key.and_then(|k| answers().get(k.as_str()).cloned()) {
                Some(value) => ("200 OK", value),
                None => ("404 Not Found", "Not Found\n".to_owned()),
            }
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nMetadata-Flavor: Google\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}
