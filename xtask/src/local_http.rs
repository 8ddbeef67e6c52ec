//! One plain-HTTP request to a server on `127.0.0.1` (moto, for the tests and the infrastructure
//! checks), through ureq: no TLS, a 5-second deadline, and every status returned, not raised.
//!
//! A leaf module: it uses no other xtask module.

use std::time::Duration;

use anyhow::{Context, Result};

/// The whole request may take this long: the servers are local.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `method path` to `127.0.0.1:port` with `headers` and `body`; returns the status code
/// and the body as text. Fails only when there is no HTTP answer (refused, timed out, garbled).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .build()
        .into();
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(format!("http://127.0.0.1:{port}{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(body)
        .with_context(|| format!("building {method} {path}"))?;
    let mut response = agent
        .run(request)
        .with_context(|| format!("{method} {path} on 127.0.0.1:{port}"))?;
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading the answer to {method} {path}"))?;
    Ok((status, text))
}

/// [`request`] with a JSON body (`Content-Type: application/json`), or none.
pub fn json(port: u16, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String)> {
    match body {
        Some(body) => request(
            port,
            method,
            path,
            &[("Content-Type", "application/json")],
            body,
        ),
        None => request(port, method, path, &[], ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, TcpListener};
    use std::thread::JoinHandle;

    /// A server on a bound port that reads one whole request, writes `answer` and returns the
    /// request's text.
    fn serve_once(answer: &'static [u8]) -> Result<(u16, JoinHandle<std::io::Result<String>>)> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let port = listener.local_addr()?.port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept()?;
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !is_complete(&request) {
                let n = stream.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            stream.write_all(answer)?;
            Ok(String::from_utf8_lossy(&request).into_owned())
        });
        Ok((port, server))
    }

    /// Whether `request` holds its head and the body its `Content-Length` announces.
    fn is_complete(request: &[u8]) -> bool {
        let text = String::from_utf8_lossy(request);
        let Some((head, body)) = text.split_once("\r\n\r\n") else {
            return false;
        };
        let length = head
            .lines()
            .find_map(|line| {
                let line = line.to_ascii_lowercase();
                line.strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
            })
            .unwrap_or(0);
        body.len() >= length
    }

    fn request_seen(server: JoinHandle<std::io::Result<String>>) -> Result<String> {
        Ok(server
            .join()
            .map_err(|_| anyhow::anyhow!("server thread panicked"))??)
    }

    #[test]
    fn talks_to_a_local_server() -> Result<()> {
        let (port, server) = serve_once(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")?;
        let (status, body) = json(port, "POST", "/x", Some("{}"))?;
        assert_eq!((status, body.as_str()), (201, "ok"));
        let request = request_seen(server)?;
        assert!(request.starts_with("POST /x HTTP/1.1\r\n"), "{request}");
        assert!(
            request
                .to_ascii_lowercase()
                .contains("content-type: application/json\r\n"),
            "{request}"
        );
        assert!(request.ends_with("\r\n\r\n{}"), "{request}");
        Ok(())
    }

    #[test]
    fn an_error_status_is_returned_not_raised() -> Result<()> {
        let (port, server) =
            serve_once(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope")?;
        assert_eq!(json(port, "GET", "/", None)?, (404, "nope".to_string()));
        request_seen(server)?;
        Ok(())
    }

    /// What the old hand-written status-line parser refused, ureq refuses too.
    #[test]
    fn an_answer_that_is_not_http_is_an_error() -> Result<()> {
        let (port, server) = serve_once(b"SSH-2.0-OpenSSH\r\n")?;
        assert!(json(port, "GET", "/", None).is_err());
        request_seen(server)?;
        Ok(())
    }
}
