//! A protocol-level fake of the Azure Functions host, written from the documented
//! custom-handler protocol (no Functions host installs offline):
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

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const HOST_VERSION: &str = "4.1037.1.1";

pub struct FakeHost {
    base: String,
    client: reqwest::Client,
    counter: AtomicU64,
}

/// What the handler answered to one invocation.
pub struct Answer {
    pub invocation_id: String,
    pub status: u16,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

impl FakeHost {
    pub fn new(port: u16) -> Self {
        Self {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            counter: AtomicU64::new(0),
        }
    }

    /// Pings `GET /` until the handler answers anything (within 10 s).
    pub async fn wait_ready(&self) {
        let started = Instant::now();
        while self
            .client
            .get(format!("{}/", self.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the handler never listened"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
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
    ) -> Answer {
        let id = self.next_id();
        let mut request = self.request(method, path, &id);
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        answer(id, request.send().await.unwrap()).await
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
    ) -> Answer {
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
        answer(id, request.send().await.unwrap()).await
    }
}

async fn answer(invocation_id: String, response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    Answer {
        invocation_id,
        status,
        body,
    }
}
