//! The fake GCP metadata server answers as the documented one does.
#![allow(clippy::unwrap_used)]

use faas_testkit::gcp::{self as metadata, MetadataServer};
use faas_testkit::http_client;

#[tokio::test]
async fn the_fake_metadata_server_requires_the_flavor_header() {
    let fake = MetadataServer::local().unwrap();
    let url = format!(
        "http://{}/computeMetadata/v1/project/project-id",
        fake.host()
    );
    let client = http_client(None).unwrap();
    let refused = client.get(&url).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let answered = client
        .get(&url)
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    assert_eq!(answered.headers()["metadata-flavor"], "Google");
    assert!(
        answered.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(answered.text().await.unwrap(), metadata::PROJECT_ID);
}

#[tokio::test]
async fn the_stalling_server_counts_connections_and_never_answers() {
    let fake = MetadataServer::local_stalling().unwrap();
    let client = http_client(Some(std::time::Duration::from_millis(200))).unwrap();
    let url = format!("http://{}/computeMetadata/v1/instance/id", fake.host());
    let error = client
        .get(&url)
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(fake.connections(), 1);
    assert_eq!(fake.request_count(), 1);
    let unknown = MetadataServer::local().unwrap();
    let response = http_client(None)
        .unwrap()
        .get(format!(
            "http://{}/computeMetadata/v1/nothing",
            unknown.host()
        ))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_token_endpoint_answers_json_scripted_in_turn_and_can_hang_alone() {
    let fake = MetadataServer::local().unwrap();
    let client = http_client(Some(std::time::Duration::from_millis(300))).unwrap();
    let url = format!(
        "http://{}/computeMetadata/v1/{}",
        fake.host(),
        metadata::TOKEN_PATH
    );
    let token = |client: reqwest::Client, url: String| async move {
        let answer = client
            .get(&url)
            .header("Metadata-Flavor", "Google")
            .send()
            .await?;
        assert_eq!(answer.status(), 200);
        let json: serde_json::Value = serde_json::from_str(&answer.text().await?).unwrap();
        Ok::<_, reqwest::Error>((json["access_token"].clone(), json["expires_in"].clone()))
    };
    let default = token(client.clone(), url.clone()).await.unwrap();
    assert_eq!(
        default,
        (
            metadata::ACCESS_TOKEN.into(),
            metadata::TOKEN_LIFETIME_S.into()
        )
    );
    fake.script_tokens([("first", 1), ("second", 60)]);
    for expected in [("first", 1), ("second", 60), ("second", 60)] {
        let got = token(client.clone(), url.clone()).await.unwrap();
        assert_eq!(got, (expected.0.into(), expected.1.into()));
    }
    fake.stall_tokens(true);
    assert!(
        token(client.clone(), url.clone())
            .await
            .unwrap_err()
            .is_timeout()
    );
    // The other paths still answer.
    let project = client
        .get(format!(
            "http://{}/computeMetadata/v1/project/project-id",
            fake.host()
        ))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap();
    assert_eq!(project.status(), 200);
    assert_eq!(fake.token_requests(), 5);
}
