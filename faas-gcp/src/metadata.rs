//! The GCP metadata server: project, region and instance id for the resource.
//!
//! Protocol (documented by Google): plain HTTP `GET
//! http://metadata.google.internal/computeMetadata/v1/<path>` with the request header
//! `Metadata-Flavor: Google` (requests without it are refused with 403); the answer is
//! `text/plain` and carries `Metadata-Flavor: Google` too. `GCE_METADATA_HOST` (`host[:port]`)
//! replaces the host, as in Google's own client libraries.
//!
//! The server is asked only on Cloud Run / Cloud Run functions (see
//! [`crate::environment::GcpEnvironment`]); off GCP it is never contacted. Start-up waits for
//! it at most [`ENRICH_BOUND`]; the three values are fetched concurrently, each missing or
//! slow one is simply left out.

use std::time::Duration;

use faas_core::env::Env;
use opentelemetry::KeyValue;
use opentelemetry_semantic_conventions::attribute as attr;

/// The metadata server's host name on Google Cloud.
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";
/// The variable that replaces [`DEFAULT_METADATA_HOST`] (`host[:port]`).
pub const METADATA_HOST_VAR: &str = "GCE_METADATA_HOST";
/// The longest start-up waits for the metadata server (the real one answers in a few ms).
pub const ENRICH_BOUND: Duration = Duration::from_millis(300);

/// `GCE_METADATA_HOST`, else [`DEFAULT_METADATA_HOST`].
pub fn metadata_host(env: &Env) -> String {
    env.get(METADATA_HOST_VAR)
        .map(|h| h.trim().trim_end_matches('/').to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned())
}

/// The region of `instance/region`'s answer, `projects/<number>/regions/<region>`.
pub fn region_of(value: &str) -> Option<&str> {
    let region = value.trim().rsplit_once("/regions/")?.1;
    (!region.is_empty() && !region.contains('/')).then_some(region)
}

/// `http://<host>/computeMetadata/v1` for `host` (`host[:port]`, or a URL with its scheme).
pub fn base_url(host: &str) -> String {
    if host.starts_with("http://") || host.starts_with("https://") {
        format!("{}/computeMetadata/v1", host.trim_end_matches('/'))
    } else {
        format!("http://{host}/computeMetadata/v1")
    }
}

/// A client of the metadata server.
#[derive(Debug, Clone)]
pub struct MetadataClient {
    base: String,
    client: reqwest::Client,
}

impl MetadataClient {
    /// A client of the server at `host` (`host[:port]`, or a URL with `http://`); `None` when
    /// the HTTP client cannot be built.
    pub fn new(host: &str) -> Option<Self> {
        let base = base_url(host);
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(ENRICH_BOUND)
            .build()
            .ok()?;
        Some(Self { base, client })
    }

    /// `GET <path>` (relative to `computeMetadata/v1/`): the trimmed body of a 200 answer that
    /// carries `Metadata-Flavor: Google`, else `None`.
    pub async fn get(&self, path: &str) -> Option<String> {
        let response = self
            .client
            .get(format!("{}/{}", self.base, path.trim_start_matches('/')))
            .header("Metadata-Flavor", "Google")
            .send()
            .await
            .ok()?;
        let flavor_ok = response
            .headers()
            .get("metadata-flavor")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"Google"));
        if !response.status().is_success() || !flavor_ok {
            return None;
        }
        let text = response.text().await.ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }

    /// `cloud.account.id` (`project/project-id`), `cloud.region` (`instance/region`) and
    /// `faas.instance` (`instance/id`), each when the server gave it.
    pub async fn resource_attributes(&self) -> Vec<KeyValue> {
        let (project, region, instance) = tokio::join!(
            self.get("project/project-id"),
            self.get("instance/region"),
            self.get("instance/id"),
        );
        let mut attributes = Vec::with_capacity(3);
        if let Some(project) = project {
            attributes.push(KeyValue::new(attr::CLOUD_ACCOUNT_ID, project));
        }
        if let Some(region) = region.as_deref().and_then(region_of) {
            attributes.push(KeyValue::new(attr::CLOUD_REGION, region.to_owned()));
        }
        if let Some(instance) = instance {
            attributes.push(KeyValue::new(attr::FAAS_INSTANCE, instance));
        }
        attributes
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn region_and_host_parsing() {
        assert_eq!(
            region_of("projects/123456789/regions/europe-west1"),
            Some("europe-west1")
        );
        assert_eq!(region_of("europe-west1"), None);
        assert_eq!(region_of("projects/1/regions/"), None);
        assert_eq!(
            metadata_host(&Env::from_pairs::<&str, &str>([])),
            DEFAULT_METADATA_HOST
        );
        assert_eq!(
            metadata_host(&Env::from_pairs([("GCE_METADATA_HOST", "127.0.0.1:9/")])),
            "127.0.0.1:9"
        );
        let client = MetadataClient::new("127.0.0.1:9").unwrap();
        assert_eq!(client.base, "http://127.0.0.1:9/computeMetadata/v1");
    }
}
