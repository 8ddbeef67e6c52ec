//! The HTTP client of the emulator's tests: one ureq request to an emulated API, every status
//! an answer (a tiny runtime or extension written against the documented APIs).

use std::time::Duration;

/// An answer read by [`send`].
pub struct Response {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name`, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request to `http://{api}{path}`; every status is an answer.
pub fn send(
    api: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<Response, ureq::Error> {
    let mut request = ureq::http::Request::builder()
        .method(method)
        .uri(format!("http://{api}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(timeout))
        .build()
        .into();
    let mut response = if body.is_empty() {
        agent.run(request.body(()).unwrap())?
    } else {
        agent.run(request.body(body).unwrap())?
    };
    Ok(Response {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.body_mut().read_to_vec()?,
    })
}
