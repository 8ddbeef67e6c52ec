//! An SQS batch consumer on AWS Lambda that reports partial batch failures, traced by
//! faas-aws: one CONSUMER batch span linked to every message's producer, one CONSUMER child per
//! message, failed messages marked.
//!
//! A message whose body contains `fail` is reported in `batchItemFailures`.

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn};

async fn handle(event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for message in event.payload.records {
        let failed = message.body.as_deref().is_some_and(|b| b.contains("fail"));
        let message_id = message.message_id.as_deref().unwrap_or_default();
        if failed {
            tracing::warn!(
                message_id,
                cause = "the body asks to fail",
                "order not processed, reported in batchItemFailures"
            );
        } else {
            tracing::info!(message_id, "order processed");
        }
        if failed && let Some(id) = message.message_id {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), faas_aws::Error> {
    faas_aws::run(service_fn(handle)).await
}
