//! One HTTP request as the API handlers see it: read whole from tiny_http before the handler
//! runs, so that a handler is a plain function of it (and can be tested without a socket).

use std::io::Read;

use crate::reply::Reply;

/// Largest request body accepted (Lambda's synchronous payload limit is 6 MB).
pub(crate) const MAX_BODY: usize = 8 * 1024 * 1024;

/// One HTTP request, body included.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    /// `GET`, `POST`, `PUT`, ...
    pub method: String,
    /// The path, without the query string.
    pub path: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked by tiny_http).
    pub body: Vec<u8>,
}

impl Request {
    /// Reads `request`'s head and body; `Err` with the answer to give when the body is larger
    /// than [`MAX_BODY`] (413) or cannot be read (400).
    pub fn read(request: &mut tiny_http::Request) -> Result<Self, Reply> {
        let target = request.url().to_string();
        let path = match target.split_once('?') {
            Some((path, _query)) => path.to_string(),
            None => target,
        };
        let headers = request
            .headers()
            .iter()
            .map(|h| {
                (
                    h.field.as_str().as_str().to_ascii_lowercase(),
                    h.value.as_str().to_string(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let limit = u64::try_from(MAX_BODY + 1).unwrap_or(u64::MAX);
        request
            .as_reader()
            .take(limit)
            .read_to_end(&mut body)
            .map_err(|err| {
                Reply::error(400, "InvalidRequest", &format!("reading the body: {err}"))
            })?;
        if body.len() > MAX_BODY {
            return Err(Reply::error(
                413,
                "RequestTooLarge",
                &format!("body larger than {MAX_BODY} bytes"),
            ));
        }
        Ok(Self {
            method: request.method().as_str().to_string(),
            path,
            headers,
            body,
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
