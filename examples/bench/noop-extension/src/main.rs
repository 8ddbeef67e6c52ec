//! Benchmark baseline (`cargo xtask bench`, section 7): an external Lambda extension that
//! registers for INVOKE and SHUTDOWN and asks for the next event as soon as it gets one. What
//! `bare + no-op extension` adds to the bare function's billed cycle is the cost of being a
//! registered extension at all (an event delivered and a `/next` per invocation), which every
//! extension pays, ours included, before doing any work. It exits at SHUTDOWN.

use std::sync::Arc;

use lambda_extension::{Error, Extension, LambdaEvent, NextEvent, service_fn};
use tokio::sync::Notify;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let shut_down = Arc::new(Notify::new());
    let notify = shut_down.clone();
    let processor = service_fn(move |event: LambdaEvent| {
        let notify = notify.clone();
        async move {
            if let NextEvent::Shutdown(_) = event.next {
                notify.notify_one();
            }
            Ok::<(), Error>(())
        }
    });
    let registered = Extension::new()
        .with_events(&["INVOKE", "SHUTDOWN"])
        .with_events_processor(processor)
        .register()
        .await?;
    tokio::select! {
        ended = registered.run() => ended,
        () = shut_down.notified() => Ok(()),
    }
}
