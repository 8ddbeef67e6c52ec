//! The infrastructure checks of `cargo xtask test`, run after `cargo test --workspace`:
//!
//! 1. `terraform fmt -check -recursive terraform` (every module, aws, azure and gcp: this also
//!    parses them; the azure and gcp providers are not available offline, so they get no more);
//! 2. `terraform validate` of `terraform/aws`;
//! 3. a deployment of `terraform/aws` against the moto server the tests used, applied twice:
//!    the second run must succeed and destroy nothing. Its zips are the DEBUG binaries
//!    `cargo test` built (packaging release cross builds costs minutes), written under
//!    `target/xtask-terraform/`, never into `target/lambda/`;
//! 4. moto's own API must then show the three functions (runtime, architecture, active
//!    tracing, the layer, their environment, one role each), the layer, the function URL, the
//!    queue with its DLQ redrive policy and the event source mapping with
//!    `ReportBatchItemFailures`;
//! 5. checkov over `terraform/` (from `./.venv-checkov`, `xtask/requirements-checkov.txt`).
//!
//! A missing tool (no terraform, checkov not installable) skips what needs it with a WARNING
//! and the summary lists it: nothing is skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::deploy::Deployment;
use crate::lambda_arch::{Arch, EXTENSION, EXTENSION_CARGO_ARGS, FUNCTIONS};
use crate::local_http;
use crate::package;
use crate::reproducible_zip;
use crate::terraform::{self, Terraform};
use crate::venv;
use crate::workspace;

/// The venv checkov runs from (gitignored).
pub const CHECKOV_VENV: &str = ".venv-checkov";
/// checkov's requirements file.
pub const CHECKOV_REQUIREMENTS: &str = "xtask/requirements-checkov.txt";

/// The region of the moto deployment.
const REGION: &str = "us-east-1";

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and passed (with a detail worth printing).
    Passed(String),
    /// It ran and failed: why.
    Failed(String),
    /// It could not run: why.
    Skipped(String),
}

/// The outcome of every check, in order.
#[derive(Debug, Default)]
pub struct Summary {
    /// (check name, outcome).
    pub checks: Vec<(String, Outcome)>,
    /// Seconds the checks took.
    pub seconds: f64,
}

impl Summary {
    fn record(&mut self, name: &str, outcome: Outcome) {
        match &outcome {
            Outcome::Passed(detail) => eprintln!("xtask:   PASSED  {name}: {detail}"),
            Outcome::Failed(why) => eprintln!("xtask:   FAILED  {name}: {why}"),
            Outcome::Skipped(why) => eprintln!("xtask: WARNING: SKIPPED {name}: {why}"),
        }
        self.checks.push((name.to_string(), outcome));
    }

    fn record_result(&mut self, name: &str, result: Result<String>) -> bool {
        match result {
            Ok(detail) => {
                self.record(name, Outcome::Passed(detail));
                true
            }
            Err(err) => {
                self.record(name, Outcome::Failed(format!("{err:#}")));
                false
            }
        }
    }

    /// Whether any check failed.
    pub fn failed(&self) -> bool {
        self.checks
            .iter()
            .any(|(_, o)| matches!(o, Outcome::Failed(_)))
    }

    /// Prints one line per check and a count.
    pub fn print(&self) {
        let count = |f: fn(&Outcome) -> bool| self.checks.iter().filter(|(_, o)| f(o)).count();
        let passed = count(|o| matches!(o, Outcome::Passed(_)));
        let failed = count(|o| matches!(o, Outcome::Failed(_)));
        let skipped = count(|o| matches!(o, Outcome::Skipped(_)));
        eprintln!(
            "xtask: infrastructure checks: {passed} of {} passed, {failed} failed, {skipped} SKIPPED ({:.0} s)",
            self.checks.len(),
            self.seconds
        );
        for (name, outcome) in &self.checks {
            match outcome {
                Outcome::Passed(_) => eprintln!("xtask:   ok       {name}"),
                Outcome::Failed(why) => eprintln!("xtask:   FAILED   {name}: {}", first_line(why)),
                Outcome::Skipped(why) => eprintln!("xtask:   SKIPPED  {name}: {why}"),
            }
        }
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Runs every check from the workspace `root`, deploying to the moto server on `moto_port`.
pub fn run(root: &Path, target_dir: &Path, moto_port: u16) -> Summary {
    let started = Instant::now();
    let mut summary = Summary::default();
    // checkov (and its first pip install) runs beside the Terraform checks: it only reads the
    // .tf files, and the moto deployment spends most of its time waiting.
    let checkov_root = root.to_path_buf();
    let checkov_thread = std::thread::spawn(move || checkov(&checkov_root));
    terraform_checks(root, target_dir, moto_port, &mut summary);
    const CHECKOV: &str = "checkov terraform/ (aws, azure, gcp)";
    let checkov_result = checkov_thread
        .join()
        .unwrap_or_else(|_| Err(anyhow::anyhow!("the checkov thread panicked")));
    match checkov_result {
        Err(err) if err.downcast_ref::<CheckovUnavailable>().is_some() => {
            summary.record(CHECKOV, Outcome::Skipped(err.to_string()));
        }
        result => {
            summary.record_result(CHECKOV, result);
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary
}

fn terraform_checks(root: &Path, target_dir: &Path, moto_port: u16, summary: &mut Summary) {
    const FMT: &str = "terraform fmt -check -recursive terraform";
    const VALIDATE: &str = "terraform validate (terraform/aws)";
    const DEPLOY: &str = "terraform/aws applied to moto (debug binaries)";
    const REAPPLY: &str = "terraform/aws applied again: no destroy";
    const MOTO: &str = "moto shows the functions, layer, queue + DLQ, mapping, URL";
    let Some(program) = terraform::find() else {
        for name in [FMT, VALIDATE, DEPLOY, REAPPLY, MOTO] {
            summary.record(
                name,
                Outcome::Skipped(
                    "`terraform` is not on PATH: install Terraform 1.5+ to run it".into(),
                ),
            );
        }
        return;
    };

    let fmt = Command::new(&program)
        .args([
            "fmt",
            "-check",
            "-recursive",
            "-diff",
            "-no-color",
            "terraform",
        ])
        .current_dir(root)
        .output();
    summary.record_result(
        FMT,
        match fmt {
            Ok(out) if out.status.success() => {
                Ok("aws, azure and gcp parse and are formatted".into())
            }
            Ok(out) => Err(anyhow::anyhow!(
                "run `terraform fmt -recursive terraform`:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(err) => Err(err.into()),
        },
    );

    let work = target_dir.join("xtask-terraform");
    let deployment = Deployment {
        arch: Arch::host().unwrap_or(Arch::X86_64),
        artifacts_dir: work.join("zips"),
        // The data dir is kept between runs (the provider is not copied again); the state is
        // not: every run talks to a fresh moto.
        data_dir: work.join("aws-moto").join(".terraform"),
        state_file: work.join("aws-moto").join("terraform.tfstate"),
        region: Some(REGION.into()),
        endpoint_url: Some(format!("http://127.0.0.1:{moto_port}")),
    };
    let mirror = Path::new(terraform::PLUGIN_MIRROR);
    let cli_config =
        match terraform::cli_config(std::env::var_os(terraform::CLI_CONFIG_VAR), mirror, &work) {
            Ok(config) => config,
            Err(err) => {
                summary.record(VALIDATE, Outcome::Failed(format!("{err:#}")));
                return;
            }
        };
    let tf = deployment
        .terraform(program, root, cli_config.as_deref())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL");

    let _ = std::fs::remove_file(&deployment.state_file);
    if let Err(err) = deployment.init(&tf) {
        let why = format!("terraform init failed: {err:#}");
        if mirror.is_dir() {
            summary.record(VALIDATE, Outcome::Failed(why));
        } else {
            for name in [VALIDATE, DEPLOY, REAPPLY, MOTO] {
                summary.record(
                    name,
                    Outcome::Skipped(format!(
                        "no provider mirror at {} and `terraform init` could not fetch hashicorp/aws",
                        mirror.display()
                    )),
                );
            }
        }
        return;
    }
    if !summary.record_result(
        VALIDATE,
        tf.stdout(&terraform::args(&["validate", "-no-color"]))
            .map(|out| out.trim().to_string()),
    ) {
        return;
    }
    let deployed = debug_zips(root, target_dir, &deployment.artifacts_dir).and_then(|sizes| {
        let started = Instant::now();
        apply(&tf, &deployment)?;
        Ok(format!(
            "{sizes}; applied in {:.0} s",
            started.elapsed().as_secs_f64()
        ))
    });
    if !summary.record_result(DEPLOY, deployed) {
        return;
    }
    summary.record_result(REAPPLY, reapply(&tf, &deployment, &work));
    summary.record_result(MOTO, check_moto(&tf, moto_port));
}

/// Packages the debug binaries `cargo test` built into `out_dir`; builds the ones missing.
fn debug_zips(root: &Path, target_dir: &Path, out_dir: &Path) -> Result<String> {
    let debug = target_dir.join("debug");
    let missing_functions: Vec<&str> = FUNCTIONS
        .iter()
        .copied()
        .filter(|f| !debug.join(f).is_file())
        .collect();
    if !missing_functions.is_empty() {
        eprintln!(
            "xtask:   building the debug binaries cargo test did not: {}",
            missing_functions.join(", ")
        );
        let mut command = workspace::cargo(root);
        command.args(["build", "-p", "examples"]);
        for f in &missing_functions {
            command.args(["--bin", f]);
        }
        if !command.status().context("running cargo build")?.success() {
            bail!("cargo build -p examples failed");
        }
    }
    if !debug.join(EXTENSION).is_file() {
        eprintln!("xtask:   building the debug {EXTENSION} (cargo test did not)");
        let status = workspace::cargo(root)
            .arg("build")
            .args(EXTENSION_CARGO_ARGS)
            .status()
            .context("running cargo build")?;
        if !status.success() {
            bail!("cargo build {} failed", EXTENSION_CARGO_ARGS.join(" "));
        }
    }
    eprintln!(
        "xtask:   NOTE: the moto deployment uses the DEBUG binaries in {} (zipped into {}), \
         not release cross builds: it checks the Terraform wiring, moto runs no code",
        debug.display(),
        out_dir.display()
    );
    let functions: Vec<(&str, PathBuf)> = FUNCTIONS.iter().map(|f| (*f, debug.join(f))).collect();
    let artifacts = package::artifacts(&functions, debug.join(EXTENSION), out_dir);
    let packaged = package::package(
        &artifacts,
        reproducible_zip::EPOCH,
        "cargo test should have built them",
    )?;
    package::print_sizes(root, &packaged);
    let total: u64 = packaged.iter().map(|p| p.zip_bytes).sum();
    Ok(format!(
        "{} zips, {:.1} MiB",
        packaged.len(),
        total as f64 / 1_048_576.0
    ))
}

/// `terraform apply` of `deployment`.
fn apply(tf: &Terraform, deployment: &Deployment) -> Result<()> {
    let mut command = terraform::args(&["apply", "-input=false", "-auto-approve", "-no-color"]);
    command.extend(deployment.var_args());
    tf.run(&command)
}

/// The second run: a saved plan that must delete nothing, then applied.
fn reapply(tf: &Terraform, deployment: &Deployment, work: &Path) -> Result<String> {
    let plan_file = work.join("aws-moto").join("second.tfplan");
    let mut command = terraform::args(&["plan", "-input=false", "-no-color"]);
    command.push(format!("-out={}", plan_file.display()));
    command.extend(deployment.var_args());
    tf.run(&command)?;
    let shown = tf.stdout(&[
        "show".to_string(),
        "-json".to_string(),
        plan_file.display().to_string(),
    ])?;
    let deletions = terraform::planned_deletions(&shown)?;
    if !deletions.is_empty() {
        bail!("the second run would destroy: {}", deletions.join(", "));
    }
    let changes = terraform::planned_changes(&shown)?;
    tf.run(&[
        "apply".to_string(),
        "-input=false".to_string(),
        "-no-color".to_string(),
        plan_file.display().to_string(),
    ])?;
    Ok(if changes.is_empty() {
        "no changes".to_string()
    } else {
        format!(
            "{} in-place update(s): {}",
            changes.len(),
            changes.join(", ")
        )
    })
}

/// Asserts, through moto's AWS APIs, what `terraform output` says was deployed.
fn check_moto(tf: &Terraform, port: u16) -> Result<String> {
    let outputs: Value = serde_json::from_str(&tf.stdout(&terraform::args(&["output", "-json"]))?)
        .context("parsing `terraform output -json`")?;
    let out = |name: &str| -> Result<String> {
        outputs[name]["value"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("terraform output {name} is missing"))
    };
    let names = &outputs["function_names"]["value"];
    let name = |key: &str| -> Result<String> {
        names[key]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("terraform output function_names.{key} is missing"))
    };
    let layer_arn = out("extension_layer_arn")?;
    let queue_url = out("orders_queue_url")?;
    let dlq_url = out("orders_dlq_url")?;
    let arch = out("architecture")?;

    let mut roles = Vec::new();
    for key in ["api", "consumer", "billing"] {
        let function = name(key)?;
        let config = aws_json(
            port,
            "lambda",
            "GET",
            &format!("/2015-03-31/functions/{function}"),
            None,
        )?;
        let config = &config["Configuration"];
        expect_eq(&config["Runtime"], "provided.al2023", &function, "Runtime")?;
        expect_eq(&config["Handler"], "bootstrap", &function, "Handler")?;
        expect_eq(
            &config["Architectures"][0],
            &arch,
            &function,
            "Architectures",
        )?;
        expect_eq(
            &config["TracingConfig"]["Mode"],
            "Active",
            &function,
            "TracingConfig.Mode",
        )?;
        expect_eq(
            &config["Layers"][0]["Arn"],
            &layer_arn,
            &function,
            "Layers[0].Arn",
        )?;
        let env = &config["Environment"]["Variables"];
        expect_eq(
            &env["OTEL_EXPORTER_OTLP_ENDPOINT"],
            "http://localhost:4318",
            &function,
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        )?;
        if key == "api" {
            expect_eq(
                &env["ORDERS_QUEUE_URL"],
                &queue_url,
                &function,
                "ORDERS_QUEUE_URL",
            )?;
            expect_eq(
                &env["BILLING_FUNCTION"],
                &name("billing")?,
                &function,
                "BILLING_FUNCTION",
            )?;
        }
        roles.push(config["Role"].as_str().unwrap_or_default().to_string());
    }
    roles.sort();
    roles.dedup();
    if roles.len() != 3 {
        bail!("expected one role per function, found {roles:?}");
    }

    let layer_name = layer_arn
        .rsplit(':')
        .nth(1)
        .with_context(|| format!("unexpected layer ARN {layer_arn}"))?;
    let versions = aws_json(
        port,
        "lambda",
        "GET",
        &format!("/2018-10-31/layers/{layer_name}/versions"),
        None,
    )?;
    let listed: Vec<&str> = versions["LayerVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["LayerVersionArn"].as_str())
        .collect();
    if !listed.contains(&layer_arn.as_str()) {
        bail!("layer version {layer_arn} not listed by moto: {listed:?}");
    }

    let url = aws_json(
        port,
        "lambda",
        "GET",
        &format!("/2021-10-31/functions/{}/url", name("api")?),
        None,
    )?;
    expect_eq(&url["FunctionUrl"], &out("api_url")?, "api", "FunctionUrl")?;
    expect_eq(&url["AuthType"], "AWS_IAM", "api", "function URL AuthType")?;

    let sqs = |queue: &str| {
        aws_json(
            port,
            "sqs",
            "POST",
            "/",
            Some((
                "AmazonSQS.GetQueueAttributes",
                serde_json::json!({"QueueUrl": queue, "AttributeNames": ["All"]}),
            )),
        )
    };
    let dlq_arn = sqs(&dlq_url)?["Attributes"]["QueueArn"]
        .as_str()
        .map(str::to_string)
        .context("the DLQ has no QueueArn")?;
    let queue = sqs(&queue_url)?;
    let queue_arn = queue["Attributes"]["QueueArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let redrive: Value = serde_json::from_str(
        queue["Attributes"]["RedrivePolicy"]
            .as_str()
            .unwrap_or("null"),
    )
    .context("parsing the queue's RedrivePolicy")?;
    expect_eq(
        &redrive["deadLetterTargetArn"],
        &dlq_arn,
        "orders queue",
        "RedrivePolicy.deadLetterTargetArn",
    )?;

    // moto's ?FunctionName= filter matches ARNs only: list all and keep the consumer's.
    let consumer_arn = outputs["function_arns"]["value"]["consumer"]
        .as_str()
        .context("terraform output function_arns.consumer is missing")?;
    let all = aws_json(
        port,
        "lambda",
        "GET",
        "/2015-03-31/event-source-mappings/",
        None,
    )?;
    let mappings: Vec<Value> = all["EventSourceMappings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["FunctionArn"].as_str() == Some(consumer_arn))
        .cloned()
        .collect();
    if mappings.len() != 1 {
        bail!(
            "expected one event source mapping on the consumer, moto lists {}",
            mappings.len()
        );
    }
    expect_eq(
        &mappings[0]["EventSourceArn"],
        &queue_arn,
        "event source mapping",
        "EventSourceArn",
    )?;
    expect_eq(
        &mappings[0]["UUID"],
        &out("event_source_mapping_uuid")?,
        "event source mapping",
        "UUID",
    )?;
    expect_eq(
        &mappings[0]["FunctionResponseTypes"][0],
        "ReportBatchItemFailures",
        "event source mapping",
        "FunctionResponseTypes",
    )?;
    Ok(format!(
        "3 functions ({arch}, active tracing, layer, 3 roles), layer version, function URL, queue -> DLQ, mapping {}",
        mappings[0]["UUID"].as_str().unwrap_or("?")
    ))
}

fn expect_eq(actual: &Value, expected: &str, what: &str, field: &str) -> Result<()> {
    if actual.as_str() != Some(expected) {
        bail!("{what}: {field} is {actual}, expected {expected:?}");
    }
    Ok(())
}

/// One call to moto's AWS API for `service` (moto routes by the SigV4 credential scope; it does
/// not check the signature). `json` is an `X-Amz-Target` and its JSON body (JSON protocol).
fn aws_json(
    port: u16,
    service: &str,
    method: &str,
    path: &str,
    json: Option<(&str, Value)>,
) -> Result<Value> {
    let auth = format!(
        "AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let mut headers = vec![("Authorization", auth.as_str())];
    let body = match &json {
        Some((target, body)) => {
            headers.push(("X-Amz-Target", target));
            headers.push(("Content-Type", "application/x-amz-json-1.0"));
            body.to_string()
        }
        None => String::new(),
    };
    let (status, text) = local_http::request(port, method, path, &headers, &body)
        .with_context(|| format!("{method} {path} on moto"))?;
    if !(200..300).contains(&status) {
        bail!("{method} {path} ({service}) on moto answered {status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))
}

/// checkov over `terraform/`: Ok (its counts) when it passes; Err on findings, or a
/// [`CheckovUnavailable`] error when it cannot be installed, which [`run`] reports as a skip.
fn checkov(root: &Path) -> Result<String> {
    let venv = match venv::ensure_at(root, CHECKOV_VENV, CHECKOV_REQUIREMENTS) {
        Ok(venv) => venv,
        Err(err) => return Err(CheckovUnavailable(format!("{err:#}")).into()),
    };
    let output = Command::new(venv.bin("checkov"))
        .args([
            "-d",
            "terraform",
            "--quiet",
            "--compact",
            "--skip-download",
            "--framework",
            "terraform",
        ])
        .current_dir(root)
        .output()
        .with_context(|| format!("running {}", venv.bin("checkov").display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "checkov found problems (exit {}):\n{stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let counts = stdout
        .lines()
        .find(|l| l.starts_with("Passed checks:"))
        .unwrap_or("no counts printed")
        .trim()
        .to_string();
    Ok(counts)
}

/// checkov could not be installed (no PyPI): a skip, not a failure.
#[derive(Debug)]
struct CheckovUnavailable(String);

impl std::fmt::Display for CheckovUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "checkov could not be installed into {CHECKOV_VENV}: {}",
            self.0
        )
    }
}

impl std::error::Error for CheckovUnavailable {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Under `cargo xtask test`: the signed-looking calls of [`aws_json`] reach moto's Lambda
    /// (REST) and SQS (JSON protocol) APIs. Plain `cargo test` has no moto to call.
    #[test]
    fn aws_json_reaches_moto_lambda_and_sqs() -> Result<()> {
        let Some(port) = crate::servers::moto_port_under_xtask()? else {
            return Ok(());
        };
        let functions = aws_json(port, "lambda", "GET", "/2015-03-31/functions/", None)?;
        assert!(functions["Functions"].is_array(), "{functions}");
        let queues = aws_json(
            port,
            "sqs",
            "POST",
            "/",
            Some(("AmazonSQS.ListQueues", serde_json::json!({}))),
        )?;
        assert!(queues.is_object(), "{queues}");
        let missing = aws_json(port, "lambda", "GET", "/2015-03-31/functions/no-such", None);
        assert!(missing.is_err());
        Ok(())
    }
}
