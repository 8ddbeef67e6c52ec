//! What the interceptor records for one SDK call: span name, kind and attributes.

use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;
use opentelemetry_semantic_conventions::attribute as semconv;

/// `rpc.system` (the AWS SDK conventions still use it; semconv renamed it `rpc.system.name`).
pub(crate) const RPC_SYSTEM: &str = "rpc.system";
/// `rpc.service`.
pub(crate) const RPC_SERVICE: &str = "rpc.service";
/// `rpc.system` of AWS SDK calls.
pub(crate) const AWS_API: &str = "aws-api";

/// The span to start for one SDK call.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) kind: SpanKind,
    pub(crate) attributes: Vec<KeyValue>,
}

impl Plan {
    /// A plain CLIENT span `{service}.{operation}`.
    pub(crate) fn client(service: &str, operation: &str) -> Self {
        Self {
            name: format!("{service}.{operation}"),
            kind: SpanKind::Client,
            attributes: Vec::new(),
        }
    }

    /// A PRODUCER span `{operation_name} {destination}` (or `{operation_name}` when the
    /// destination is unknown) with the messaging attributes.
    #[cfg_attr(
        not(any(feature = "sqs", feature = "sns", feature = "eventbridge")),
        allow(dead_code)
    )]
    pub(crate) fn producer(
        system: &'static str,
        operation_name: &'static str,
        destination: Option<&str>,
        batch: Option<usize>,
    ) -> Self {
        let mut attributes = vec![
            KeyValue::new(semconv::MESSAGING_SYSTEM, system),
            KeyValue::new(semconv::MESSAGING_OPERATION_NAME, operation_name),
            KeyValue::new(semconv::MESSAGING_OPERATION_TYPE, "send"),
        ];
        if let Some(destination) = destination {
            attributes.push(KeyValue::new(
                semconv::MESSAGING_DESTINATION_NAME,
                destination.to_owned(),
            ));
        }
        if let Some(count) = batch {
            attributes.push(KeyValue::new(
                semconv::MESSAGING_BATCH_MESSAGE_COUNT,
                i64::try_from(count).unwrap_or(i64::MAX),
            ));
        }
        Self {
            name: match destination {
                Some(destination) => format!("{operation_name} {destination}"),
                None => operation_name.to_owned(),
            },
            kind: SpanKind::Producer,
            attributes,
        }
    }

    /// Adds an attribute.
    #[cfg_attr(not(feature = "lambda"), allow(dead_code))]
    pub(crate) fn with(mut self, attribute: KeyValue) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// Adds the string attribute `key` when `value` is known.
    #[cfg_attr(
        not(any(feature = "sqs", feature = "sns", feature = "lambda")),
        allow(dead_code)
    )]
    pub(crate) fn with_known(mut self, key: &'static str, value: Option<&str>) -> Self {
        if let Some(value) = value {
            self.attributes.push(KeyValue::new(key, value.to_owned()));
        }
        self
    }
}
