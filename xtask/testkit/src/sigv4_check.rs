//! [`Sigv4Check`]: an independent check of a SigV4-signed request, by botocore (the AWS SDK
//! for Python's own signer, from the test venv), the way AWS checks it: the signature is
//! recomputed from the request exactly as received (method, path, the signed headers, the
//! body bytes, still compressed) with the credentials and scope the fake AWS knows, and
//! compared; the session token must be the one it issued; the date must be recent.
//!
//! `cargo xtask test` passes the venv's interpreter in [`TEST_PYTHON_VAR`]
//! ([`test_python`]).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The variable `cargo xtask test` sets to the test venv's Python (it has botocore).
pub const TEST_PYTHON_VAR: &str = "FAAS_OTEL_TEST_PYTHON";

/// The test venv's Python, or `None` after a visible "SKIPPED" line on stderr.
///
/// # Panics
///
/// When the variable is unset and `CI=true`: CI must never pass without running the test.
pub fn test_python(test: &str) -> Option<PathBuf> {
    match std::env::var(TEST_PYTHON_VAR) {
        Ok(python) if !python.trim().is_empty() => Some(PathBuf::from(python.trim())),
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
            assert!(
                !ci,
                "{test}: {TEST_PYTHON_VAR} is not set and CI=true: run the tests with `cargo xtask test`"
            );
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: {TEST_PYTHON_VAR} is not set; run `cargo xtask test` (it prepares the venv with botocore)"
            );
            None
        }
    }
}

/// The botocore script: reads the request on stdin (method, URL, `name: value` header lines,
/// an empty line, the body in hex) and the expected credentials and scope as arguments;
/// prints `OK` or `REJECTED <why>`.
const SCRIPT: &str = r#"
import sys, binascii, datetime
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
key_id, secret, token, region, service = sys.argv[1:6]
lines = sys.stdin.read().split("\n")
method, url = lines[0], lines[1]
headers, i = {}, 2
while lines[i]:
    name, value = lines[i].split(":", 1)
    headers[name.strip().lower()] = value.strip()
    i += 1
body = binascii.unhexlify(lines[i + 1].strip())
def reject(why):
    print("REJECTED " + why)
    sys.exit(0)
auth = headers.get("authorization", "")
if not auth.startswith("AWS4-HMAC-SHA256 "):
    reject("no SigV4 Authorization header")
fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
cred = fields.get("Credential", "").split("/")
if len(cred) != 5 or cred[0] != key_id:
    reject("unknown access key id")
date = headers.get("x-amz-date", "")
try:
    when = datetime.datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
except ValueError:
    reject("bad x-amz-date")
if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 300:
    reject("request time too skewed")
if (token or None) != headers.get("x-amz-security-token"):
    reject("ExpiredToken: the security token is not a valid one")
signed = fields.get("SignedHeaders", "").split(";")
if "host" not in signed or "x-amz-date" not in signed:
    reject("host and x-amz-date must be signed")
missing = [h for h in signed if h not in headers]
if missing:
    reject("signed headers missing from the request: " + ",".join(missing))
request = AWSRequest(method=method, url=url, data=body, headers={h: headers[h] for h in signed})
request.context["timestamp"] = date
signer = SigV4Auth(Credentials(key_id, secret, token or None), service, region)
canonical = signer.canonical_request(request)
expected = signer.signature(signer.string_to_sign(request, canonical), request)
if expected != fields.get("Signature"):
    reject("SignatureDoesNotMatch (scope in request: " + "/".join(cred[1:4]) + ")")
print("OK")
"#;

/// The credentials and scope a fake AWS endpoint accepts. `Debug` hides the secret.
#[derive(Clone)]
pub struct Sigv4Check {
    python: PathBuf,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    region: String,
    service: String,
}

impl std::fmt::Debug for Sigv4Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sigv4Check")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

impl Sigv4Check {
    /// Accepts requests signed with these credentials for `region` and `service`, checked by
    /// botocore run with `python`.
    pub fn new(
        python: impl Into<PathBuf>,
        access_key_id: &str,
        secret_access_key: &str,
        session_token: Option<&str>,
        region: &str,
        service: &str,
    ) -> Self {
        Self {
            python: python.into(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: session_token.map(str::to_owned),
            region: region.to_owned(),
            service: service.to_owned(),
        }
    }

    /// `Ok` when AWS would accept the request (`host` is the `Host` it was sent to, `path`
    /// its path and query), else why not. `Err` also when botocore could not be run.
    pub fn verify(
        &self,
        method: &str,
        path: &str,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .ok_or("the request has no Host header")?;
        let mut input = format!("{method}\nhttp://{host}{path}\n");
        for (name, value) in headers {
            let value = value
                .to_str()
                .map_err(|_| format!("header {name} is not text"))?;
            input.push_str(&format!("{name}: {value}\n"));
        }
        input.push('\n');
        for byte in body {
            input.push_str(&format!("{byte:02x}"));
        }
        input.push('\n');
        let mut child = Command::new(&self.python)
            .arg("-c")
            .arg(SCRIPT)
            .args([
                &self.access_key_id,
                &self.secret_access_key,
                self.session_token.as_deref().unwrap_or(""),
                &self.region,
                &self.service,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.python.display()))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(input.as_bytes())
                .map_err(|e| format!("writing to botocore: {e}"))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| format!("botocore: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.trim() {
            "OK" => Ok(()),
            verdict if verdict.starts_with("REJECTED ") => Err(verdict.to_owned()),
            _ => Err(format!(
                "botocore check failed to run: {}",
                String::from_utf8_lossy(&output.stderr)
            )),
        }
    }

    /// [`Sigv4Check::verify`] of a request a fake recorded.
    pub fn verify_recorded(&self, request: &crate::Recorded) -> Result<(), String> {
        self.verify(
            &request.method,
            &request.path,
            &request.headers,
            &request.body,
        )
    }
}
