//! [`run`]: the extension's life. Start listening, register, subscribe to the Telemetry API,
//! then for every INVOKE export after the function answered and before asking for the next
//! event, and drain at SHUTDOWN.

use std::sync::{Arc, Mutex};

use faas_core::ConfigError;
use faas_core::env::Env;
use lambda_extension::{Extension, LambdaEvent, NextEvent, service_fn};
use tokio::net::TcpListener;

use crate::config::ExtensionConfig;
use crate::forward::Forwarder;
use crate::platform_events::PlatformTelemetry;
use crate::receive::{otlp_router, telemetry_router};
use crate::state::Shared;
use crate::tail_sampling::TailSampler;

use super::error::Error;
use super::export_pace::ExportPace;
use super::invoke::on_invoke;
use super::lambda_api::{report_init_error, subscribe};
use super::periodic::periodic_exporter;
use super::shutdown::on_shutdown;

/// The events the extension registers for.
const EVENTS: &[&str] = &["INVOKE", "SHUTDOWN"];

/// Runs the extension configured by `env` (the process environment on Lambda) until SHUTDOWN.
///
/// Needs `AWS_LAMBDA_RUNTIME_API` (set by Lambda) and `FAAS_OTEL_EXTENSION_ENDPOINT`; every
/// variable is listed in [`VARIABLES`](crate::VARIABLES). A bad setting is reported to the
/// Extensions API as `Extension.ConfigError` and returned. At start it logs to stderr where
/// its receivers listen (`faas-otel-extension: listening: otlp-http=127.0.0.1:4318 ...`), which
/// tells a test the ports when the addresses end in `:0`.
pub async fn run(env: Env) -> Result<(), Error> {
    // The Lambda API clients read this variable themselves and panic without it.
    if env
        .get("AWS_LAMBDA_RUNTIME_API")
        .is_none_or(|v| v.trim().is_empty())
    {
        return Err(faas_core::Error::from(ConfigError::new(
            "AWS_LAMBDA_RUNTIME_API",
            "",
            "set by Lambda for every extension; faas-otel-extension only runs as a Lambda extension (or under an emulator that sets it)",
        ))
        .into());
    }
    let settings = ExtensionConfig::from_env(&env)
        .map_err(faas_core::Error::from)
        .and_then(|config| {
            Ok((
                config,
                PlatformTelemetry::from_env(&env)?,
                TailSampler::from_env(&env)?,
            ))
        });
    let (config, platform, sampler) = match settings {
        Ok(settings) => settings,
        Err(error) => {
            // Register so the platform hears why, then report the init error.
            let registered = Extension::new().with_events(EVENTS).register().await?;
            report_init_error(&registered.extension_id, &error.to_string()).await;
            return Err(error.into());
        }
    };
    let shared = Arc::new(Shared::new(config, platform, sampler));

    // Listen before registering: the function may flush as soon as it runs.
    let otlp = TcpListener::bind(shared.config.listen).await?;
    let telemetry = TcpListener::bind(shared.config.telemetry_listen.0).await?;
    let (otlp_addr, telemetry_addr) = (otlp.local_addr()?, telemetry.local_addr()?);
    tokio::spawn(serve(otlp, otlp_router(shared.clone())));
    #[cfg(feature = "grpc")]
    let grpc_addr = crate::receive::serve_grpc(shared.clone(), shared.config.grpc_listen).await?;
    tokio::spawn(serve(telemetry, telemetry_router(shared.clone())));
    #[cfg(feature = "grpc")]
    eprintln!(
        "faas-otel-extension: listening: otlp-http={otlp_addr} telemetry={telemetry_addr} otlp-grpc={grpc_addr}"
    );
    #[cfg(not(feature = "grpc"))]
    eprintln!("faas-otel-extension: listening: otlp-http={otlp_addr} telemetry={telemetry_addr}");

    let forwarder = Arc::new(Forwarder::new());
    let pace = Arc::new(Mutex::new(ExportPace::default()));
    tokio::spawn(periodic_exporter(
        shared.clone(),
        forwarder.clone(),
        pace.clone(),
    ));
    let drained = Arc::new(tokio::sync::Notify::new());
    let processor = {
        let shared = shared.clone();
        let drained = drained.clone();
        service_fn(move |event: LambdaEvent| {
            let (shared, forwarder, pace) = (shared.clone(), forwarder.clone(), pace.clone());
            let drained = drained.clone();
            async move {
                match event.next {
                    NextEvent::Invoke(invoke) => {
                        on_invoke(
                            &shared,
                            &forwarder,
                            &pace,
                            &invoke.request_id,
                            invoke.deadline_ms,
                        )
                        .await
                    }
                    NextEvent::Shutdown(shutdown) => {
                        on_shutdown(&shared, &forwarder, shutdown.deadline_ms).await;
                        // Nothing follows SHUTDOWN: end instead of asking for another event.
                        drained.notify_one();
                    }
                }
                Ok::<(), Error>(())
            }
        })
    };
    let registered = Extension::new()
        .with_events(EVENTS)
        .with_events_processor(processor)
        .register()
        .await?;
    let host = &shared.config.telemetry_listen.1;
    if let Err(error) = subscribe(&registered.extension_id, host, telemetry_addr.port()).await {
        // Without platform events the extension still forwards; say why they are missing.
        eprintln!("faas-otel-extension: Telemetry API subscription failed: {error}");
    }
    tokio::select! {
        ended = registered.run() => ended,
        () = drained.notified() => Ok(()),
    }
}

async fn serve(listener: TcpListener, router: axum::Router) {
    if let Err(error) = axum::serve(listener, router).await {
        eprintln!("faas-otel-extension: listener stopped: {error}");
    }
}
