//! The API Gateway events the HTTP example is invoked with.

/// `GET path` through API Gateway (HTTP API, payload 2.0), as the event's JSON text.
pub fn http_api_get(path: &str) -> String {
    serde_json::json!({
        "version": "2.0",
        "routeKey": format!("GET {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc123.execute-api.eu-west-1.amazonaws.com"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "http": {
                "method": "GET",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": format!("GET {path}"),
            "stage": "$default",
            "timeEpoch": 1795716000000u64
        },
        "isBase64Encoded": false
    })
    .to_string()
}
