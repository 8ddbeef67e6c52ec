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
use crate::lock::lock;
use crate::platform_events::PlatformTelemetry;
use crate::receive::{otlp_router, telemetry_router};
use crate::state::Shared;
use crate::tail_sampling::TailSampler;

use super::error::Error;
use super::export_pace::ExportPace;
use super::invoke::on_invoke;
use super::lambda_api::{report_init_error, schema_version, subscribe, telemetry_types};
use super::periodic::periodic_exporter;
use super::shutdown::on_shutdown;

/// The events the extension registers for in Lambda's default execution environments.
const EVENTS: &[&str] = &["INVOKE", "SHUTDOWN"];

/// The events it registers for on Lambda Managed Instances, which refuse INVOKE (and after any
/// refused INVOKE registration).
const SHUTDOWN_ONLY: &[&str] = &["SHUTDOWN"];

/// The `AWS_LAMBDA_INITIALIZATION_TYPE` of Lambda Managed Instances.
const MANAGED_INSTANCES: &str = "lambda-managed-instances";

/// Logs that an INVOKE registration was refused and what happens instead.
fn refused_invoke(error: &Error) {
    eprintln!(
        "faas-otel-extension: registering for INVOKE was refused ({error}); registering for SHUTDOWN only and exporting in the background, as on Lambda Managed Instances"
    );
}

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
    // Lambda Managed Instances refuse INVOKE registrations: there, SHUTDOWN only.
    let managed_instances = env
        .get("AWS_LAMBDA_INITIALIZATION_TYPE")
        .is_some_and(|t| t.trim() == MANAGED_INSTANCES);
    let events = if managed_instances {
        SHUTDOWN_ONLY
    } else {
        EVENTS
    };
    let (config, platform, sampler) = match settings {
        Ok(settings) => settings,
        Err(error) => {
            // Register so the platform hears why, then report the init error.
            let registered = match Extension::new().with_events(events).register().await {
                Ok(registered) => registered,
                Err(refused) if !managed_instances => {
                    refused_invoke(&refused);
                    Extension::new()
                        .with_events(SHUTDOWN_ONLY)
                        .register()
                        .await?
                }
                Err(refused) => return Err(refused),
            };
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
    // Built again when a refused INVOKE registration is retried for SHUTDOWN only.
    let processor = || {
        let (shared, forwarder, pace) = (shared.clone(), forwarder.clone(), pace.clone());
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
        .with_events(events)
        .with_events_processor(processor())
        .register()
        .await;
    let (registered, has_invoke_events) = match registered {
        Ok(registered) => (registered, !managed_instances),
        Err(refused) if !managed_instances => {
            refused_invoke(&refused);
            let registered = Extension::new()
                .with_events(SHUTDOWN_ONLY)
                .with_events_processor(processor())
                .register()
                .await?;
            (registered, false)
        }
        Err(refused) => return Err(refused),
    };
    if !has_invoke_events {
        // No INVOKE to export after: the background exporter exports every interval (and
        // under memory pressure); SHUTDOWN drains.
        *lock(&pace) = ExportPace::background();
    }
    let host = &shared.config.telemetry_listen.1;
    let subscribed = subscribe(
        &registered.extension_id,
        (host, telemetry_addr.port()),
        schema_version(!has_invoke_events),
        &telemetry_types(shared.config.logs),
    )
    .await;
    if let Err(error) = subscribed {
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
