//! A fake GCP metadata server, written from Google's documented protocol:
//!
//! * `GET /computeMetadata/v1/<path>` over plain HTTP/1.1;
//! * the request header `Metadata-Flavor: Google` is required: without it the server answers
//!   `403 Forbidden` (as the real one does);
//! * answers are `text/plain` bodies with the response header `Metadata-Flavor: Google`;
//!   unknown paths are `404 Not Found`, other methods `405`;
//! * `project/project-id`, `project/numeric-project-id`, `instance/id`, `instance/region`
//!   (`projects/<number>/regions/<region>`) and `instance/zone`
//!   (`projects/<number>/zones/<zone>`).
//!
//! [`MetadataServer::stalling`] accepts connections and never answers (a metadata server
//! that hangs).
//!
//! The access token of the instance's service account, [`TOKEN_PATH`], answers
//! `{"access_token": ..., "expires_in": <seconds>, "token_type": "Bearer"}` (as the real one
//! does): [`ACCESS_TOKEN`] valid for [`TOKEN_LIFETIME_S`] unless scripted
//! ([`MetadataServer::script_tokens`], one token per request, the last one repeated);
//! [`MetadataServer::stall_tokens`] makes only the token requests hang.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::lock::lock;
use crate::server::{Action, Background, Handler, Listener, respond};

/// The project id it answers.
pub const PROJECT_ID: &str = "demo-project";
/// The project number it answers.
pub const PROJECT_NUMBER: &str = "123456789012";
/// The region it answers.
pub const REGION: &str = "europe-west1";
/// The instance id it answers.
pub const INSTANCE_ID: &str =
    "0069c7a988ce2a2a1ac67c4fcb5e56a88c1bdd4fe65e4d2cf5a5fcfeb0b9ec9d2ac4f6f3e1a8";

/// The path of the default service account's access token.
pub const TOKEN_PATH: &str = "instance/service-accounts/default/token";
/// The access token it answers unless scripted.
pub const ACCESS_TOKEN: &str = "ya29.faas-otel-fake-metadata-token";
/// How long that token is valid, in seconds (the real server: under an hour).
pub const TOKEN_LIFETIME_S: u64 = 3599;

/// The token answers: a script, then the last answer again.
#[derive(Debug)]
struct Tokens {
    script: std::collections::VecDeque<(String, u64)>,
    last: (String, u64),
    stall: bool,
}

impl Tokens {
    fn next(&mut self) -> (String, u64) {
        if let Some(next) = self.script.pop_front() {
            self.last = next;
        }
        self.last.clone()
    }
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Path and query.
    pub path: String,
    /// The `Metadata-Flavor` header.
    pub flavor: Option<String>,
}

/// The fake metadata server; dropping it stops it.
pub struct MetadataServer {
    server: Background,
    seen: Arc<Mutex<Vec<Seen>>>,
    tokens: Arc<Mutex<Tokens>>,
}

fn answer(key: &str) -> Option<String> {
    Some(match key {
        "project/project-id" => PROJECT_ID.to_owned(),
        "project/numeric-project-id" => PROJECT_NUMBER.to_owned(),
        "instance/id" => INSTANCE_ID.to_owned(),
        "instance/region" => format!("projects/{PROJECT_NUMBER}/regions/{REGION}"),
        "instance/zone" => format!("projects/{PROJECT_NUMBER}/zones/{REGION}-1"),
        _ => return None,
    })
}

impl MetadataServer {
    /// Answers the documented paths, on `listener`.
    pub fn start(listener: impl Into<Listener>) -> io::Result<Self> {
        Self::spawn(listener.into(), false)
    }

    /// Accepts connections and never answers, on `listener`.
    pub fn stalling(listener: impl Into<Listener>) -> io::Result<Self> {
        Self::spawn(listener.into(), true)
    }

    /// [`MetadataServer::start`] on a fresh `127.0.0.1:0`.
    pub fn local() -> io::Result<Self> {
        Self::start(Listener::local()?)
    }

    /// [`MetadataServer::stalling`] on a fresh `127.0.0.1:0`.
    pub fn local_stalling() -> io::Result<Self> {
        Self::stalling(Listener::local()?)
    }

    fn spawn(listener: Listener, stall: bool) -> io::Result<Self> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = seen.clone();
        let tokens = Arc::new(Mutex::new(Tokens {
            script: std::collections::VecDeque::new(),
            last: (ACCESS_TOKEN.to_owned(), TOKEN_LIFETIME_S),
            stall: false,
        }));
        let token_state = tokens.clone();
        let handler: Handler = Arc::new(move |incoming| {
            let flavor = incoming
                .headers
                .get("metadata-flavor")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            lock(&shared).push(Seen {
                path: incoming.path.clone(),
                flavor: flavor.clone(),
            });
            let key = incoming
                .path
                .split('?')
                .next()
                .unwrap_or_default()
                .strip_prefix("/computeMetadata/v1/")
                .map(|k| k.trim_end_matches('/').to_owned());
            let is_token = key.as_deref() == Some(TOKEN_PATH);
            let stall = stall || (is_token && lock(&token_state).stall);
            let (status, body) = if flavor.as_deref() != Some("Google") {
                (
                    403,
                    "Missing required header \"Metadata-Flavor\": \"Google\"\n".to_owned(),
                )
            } else if incoming.method != "GET" {
                (405, String::new())
            } else if is_token {
                let (token, expires_in) = lock(&token_state).next();
                let body = format!(
                    "{{\"access_token\":\"{token}\",\"expires_in\":{expires_in},\"token_type\":\"Bearer\"}}"
                );
                (200, body)
            } else {
                match key.as_deref().and_then(answer) {
                    Some(value) => (200, value),
                    None => (404, "Not Found\n".to_owned()),
                }
            };
            Box::pin(async move {
                if stall {
                    return Action::Stall;
                }
                respond(
                    status,
                    &[
                        ("metadata-flavor", "Google"),
                        ("content-type", "text/plain; charset=utf-8"),
                    ],
                    body,
                )
            })
        });
        Ok(Self {
            server: Background::start("gcp-metadata", listener, handler)?,
            seen,
            tokens,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `host:port`, for `GCE_METADATA_HOST`.
    pub fn host(&self) -> String {
        self.addr().to_string()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.seen).clone()
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> usize {
        lock(&self.seen).len()
    }

    /// The next token requests are answered `(access_token, expires_in seconds)` in turn; the
    /// last one is then answered again.
    pub fn script_tokens<S: Into<String>>(&self, tokens: impl IntoIterator<Item = (S, u64)>) {
        lock(&self.tokens).script = tokens.into_iter().map(|(t, s)| (t.into(), s)).collect();
    }

    /// Whether token requests hang (accepted, never answered); the other paths still answer.
    pub fn stall_tokens(&self, stall: bool) {
        lock(&self.tokens).stall = stall;
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> usize {
        lock(&self.seen)
            .iter()
            .filter(|s| {
                s.path
                    .trim_start_matches("/computeMetadata/v1/")
                    .starts_with(TOKEN_PATH)
            })
            .count()
    }

    /// How many connections it accepted (a stalling server reads no request it could count).
    pub fn connections(&self) -> usize {
        self.server.connections()
    }
}
