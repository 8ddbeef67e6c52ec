//! A Telemetry API destination as an extension runs one, for the emulator's tests.

use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use serde_json::Value;

/// Listens on a fresh loopback port (returned) for the batches the Telemetry API POSTs, each
/// handed over as its JSON value and answered `status` with `body`.
pub fn telemetry_sink(status: u16, body: &'static str) -> (u16, mpsc::Receiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tiny_http::Server::from_listener(listener, None).unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for mut request in server.incoming_requests() {
            let mut batch = Vec::new();
            request.as_reader().read_to_end(&mut batch).unwrap();
            let _ = tx.send(serde_json::from_slice(&batch).unwrap());
            let _ =
                request.respond(tiny_http::Response::from_string(body).with_status_code(status));
        }
    });
    (port, rx)
}
