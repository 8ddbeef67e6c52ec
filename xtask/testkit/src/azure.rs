//! A protocol-level fake of the Azure Functions host, written from the documented
//! custom-handler protocol (no Functions host installs offline). It drives a handler the way
//! the host does:
//!
//! * readiness: `GET /` on the handler's port until any HTTP answer (the host's
//!   `IsWorkerReady` ping; it carries no invocation id);
//! * forwarded HTTP (`enableForwardingHttpRequest: true`, HTTP in/out functions): the original
//!   request on its original path (`/api/<function>`), with `X-Azure-Functions-InvocationId`,
//!   `X-Azure-Functions-HostVersion`, `User-Agent: Azure-Functions-Host/<version>` and, as the
//!   host's HttpClient adds it, the caller's `traceparent`;
//! * invoke protocol (every other function): `POST /<FunctionName>` with
//!   `{"Data": {<binding>: ...}, "Metadata": {..., "sys": {"MethodName", "UtcNow", "RandGuid"}}}`
//!   (scalars the host serializes as JSON text, as it does), the same headers, and a 2xx answer
//!   with `{"Outputs", "Logs", "ReturnValue"}` expected; any other status fails the invocation.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::wait::Timeout;

/// The host version the fake announces.
pub const HOST_VERSION: &str = "4.1037.1.1";

/// The fake host, driving the handler at one address.
pub struct FakeHost {
    base: String,
    client: reqwest::Client,
    counter: AtomicU64,
}

/// What the handler answered to one invocation.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The invocation id the host sent.
    pub invocation_id: String,
    /// The status answered.
    pub status: u16,
    /// The body answered.
    pub body: String,
}

impl Answer {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl FakeHost {
    /// A host for the handler listening on `addr`.
    pub fn new(addr: SocketAddr) -> Result<Self, reqwest::Error> {
        Ok(Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()?,
            counter: AtomicU64::new(0),
        })
    }

    /// Pings `GET /` until the handler answers anything, at most `bound`.
    pub async fn wait_ready(&self, bound: Duration) -> Result<(), Timeout> {
        let started = Instant::now();
        while self
            .client
            .get(format!("{}/", self.base))
            .send()
            .await
            .is_err()
        {
            if started.elapsed() > bound {
                return Err(Timeout {
                    what: format!("the handler at {} to answer", self.base),
                    after: bound,
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst) + 1;
        format!("{:08x}-7f3e-4c2a-9d1b-{n:012x}", std::process::id())
    }

    fn request(&self, method: reqwest::Method, path: &str, id: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("X-Azure-Functions-InvocationId", id)
            .header("X-Azure-Functions-HostVersion", HOST_VERSION)
            .header("User-Agent", format!("Azure-Functions-Host/{HOST_VERSION}"))
    }

    /// Forwards an HTTP request to its original path.
    pub async fn forward(
        &self,
        method: reqwest::Method,
        path: &str,
        traceparent: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let id = self.next_id();
        let mut request = self.request(method, path, &id);
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        answer(id, request.send().await?).await
    }

    /// Sends an invoke-protocol request for a queue trigger (binding `binding`), as the host
    /// builds it from a Storage queue message.
    pub async fn invoke_queue(
        &self,
        function: &str,
        binding: &str,
        message: &str,
        message_id: &str,
        traceparent: Option<&str>,
    ) -> Result<Answer, reqwest::Error> {
        let id = self.next_id();
        let body = json!({
            "Data": { binding: message },
            "Metadata": {
                "DequeueCount": 1,
                "ExpirationTime": "2026-12-03T10:00:00+00:00",
                "Id": format!("\"{message_id}\""),
                "InsertionTime": "2026-11-26T10:00:00+00:00",
                "NextVisibleTime": "2026-11-26T10:10:00+00:00",
                "PopReceipt": "\"AgAAAAMAAAAAAAAAAgtnj8x+1QE=\"",
                "sys": {
                    "MethodName": function,
                    "UtcNow": "2026-11-26T10:00:01.2205399Z",
                    "RandGuid": "24ed7b8d-9a16-4ecc-8d52-0a5c5cd3ef66"
                }
            }
        });
        let mut request = self
            .request(reqwest::Method::POST, &format!("/{function}"), &id)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        answer(id, request.send().await?).await
    }
}

async fn answer(
    invocation_id: String,
    response: reqwest::Response,
) -> Result<Answer, reqwest::Error> {
    let status = response.status().as_u16();
    let body = response.text().await?;
    Ok(Answer {
        invocation_id,
        status,
        body,
    })
}
