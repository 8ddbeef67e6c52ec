//! The optional OTLP/gRPC receiver (feature `grpc`) on loopback, port 4317 by
//! default (`FAAS_OTEL_EXTENSION_GRPC_LISTEN`). It feeds the same buffer as the HTTP receiver:
//! same memory cap, same `partial_success` answers, same invocation tracking. Messages larger
//! than `FAAS_OTEL_EXTENSION_MAX_BODY_BYTES` are refused by tonic (`RESOURCE_EXHAUSTED`);
//! gzip-compressed requests are accepted.

use std::net::SocketAddr;
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tokio::net::TcpListener;
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::buffer::{Held, Signal};
use crate::state::Shared;

use super::accept::{accept_logs, accept_metrics, accept_traces};

/// The three OTLP gRPC services over the shared state.
#[derive(Debug, Clone)]
pub(crate) struct GrpcReceiver(Arc<Shared>);

/// Implements one OTLP gRPC service's `export` on [`GrpcReceiver`] by handing the request to
/// the same `accept_*` function the HTTP receiver uses, encoded once as held protobuf (tonic
/// has decoded it).
macro_rules! export_by {
    ($service:ident, $request:ty, $response:ty, $signal:expr, $accept:ident) => {
        #[tonic::async_trait]
        impl $service for GrpcReceiver {
            async fn export(
                &self,
                request: Request<$request>,
            ) -> Result<Response<$response>, Status> {
                let held = Held::from_message($signal, &request.into_inner());
                Ok(Response::new($accept(&self.0, held)))
            }
        }
    };
}

export_by!(
    TraceService,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
    Signal::Traces,
    accept_traces
);
export_by!(
    MetricsService,
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
    Signal::Metrics,
    accept_metrics
);
export_by!(
    LogsService,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
    Signal::Logs,
    accept_logs
);

/// Binds `addr` (loopback, checked by the configuration), serves in the background until the
/// process ends, and returns the bound address.
pub(crate) async fn serve(shared: Arc<Shared>, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let limit = shared.config.max_body;
    let receiver = GrpcReceiver(shared);
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move {
        let served = tonic::transport::Server::builder()
            .add_service(
                TraceServiceServer::new(receiver.clone())
                    .max_decoding_message_size(limit)
                    .accept_compressed(CompressionEncoding::Gzip),
            )
            .add_service(
                MetricsServiceServer::new(receiver.clone())
                    .max_decoding_message_size(limit)
                    .accept_compressed(CompressionEncoding::Gzip),
            )
            .add_service(
                LogsServiceServer::new(receiver)
                    .max_decoding_message_size(limit)
                    .accept_compressed(CompressionEncoding::Gzip),
            )
            .serve_with_incoming(incoming)
            .await;
        if let Err(error) = served {
            eprintln!("faas-otel-extension: gRPC receiver stopped: {error}");
        }
    });
    Ok(bound)
}
