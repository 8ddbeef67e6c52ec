//! Running Terraform: finding it, its offline provider mirror, and one working directory with
//! its own data dir and state.
//!
//! Where `/opt/tf-plugins` holds a provider mirror (as on this project's machines) and no usable
//! `TF_CLI_CONFIG_FILE` is set, xtask writes a CLI config that installs providers from that
//! mirror, so `init` works with no registry access.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// The offline provider mirror on machines that have one.
pub const PLUGIN_MIRROR: &str = "/opt/tf-plugins";

/// The variable that points Terraform at a CLI config file.
pub const CLI_CONFIG_VAR: &str = "TF_CLI_CONFIG_FILE";

/// The Terraform executable on `PATH` (or `TERRAFORM`, when set).
pub fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TERRAFORM") {
        return Some(PathBuf::from(path));
    }
    find_on_path("terraform")
}

/// The first executable file called `name` in `PATH`.
fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The text of a CLI config that installs every provider from the filesystem mirror `mirror`.
pub fn mirror_cli_config(mirror: &Path) -> String {
    format!(
        "# Written by cargo xtask: providers come from the offline mirror only.\n\
         provider_installation {{\n  filesystem_mirror {{\n    path = \"{}\"\n  }}\n}}\n",
        mirror.display()
    )
}

/// The `TF_CLI_CONFIG_FILE` to use, given the current value of that variable: the user's when it
/// names an existing file; else, when the mirror exists, a config written into `state_root`;
/// else none (Terraform's defaults: the public registry).
pub fn cli_config(
    current: Option<OsString>,
    mirror: &Path,
    state_root: &Path,
) -> Result<Option<PathBuf>> {
    if let Some(current) = current.filter(|v| !v.is_empty()) {
        let path = PathBuf::from(current);
        if path.is_file() {
            return Ok(Some(path));
        }
        if !mirror.is_dir() {
            return Ok(Some(path));
        }
        eprintln!(
            "xtask:   {CLI_CONFIG_VAR}={} does not exist: using the provider mirror {} instead",
            path.display(),
            mirror.display()
        );
    }
    if !mirror.is_dir() {
        return Ok(None);
    }
    fs::create_dir_all(state_root).with_context(|| format!("creating {}", state_root.display()))?;
    let path = state_root.join("terraformrc");
    fs::write(&path, mirror_cli_config(mirror))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(Some(path))
}

/// Terraform bound to one module directory, data dir and environment.
#[derive(Debug, Clone)]
pub struct Terraform {
    program: PathBuf,
    module: PathBuf,
    env: Vec<(String, OsString)>,
    removed_env: Vec<String>,
}

impl Terraform {
    /// Terraform `program` running the module in `module`.
    pub fn new(program: PathBuf, module: PathBuf) -> Self {
        Self {
            program,
            module,
            env: vec![
                ("TF_IN_AUTOMATION".into(), "1".into()),
                ("TF_INPUT".into(), "0".into()),
            ],
            removed_env: Vec::new(),
        }
    }

    /// Sets an environment variable for every run.
    pub fn env(mut self, name: &str, value: impl Into<OsString>) -> Self {
        self.env.push((name.to_string(), value.into()));
        self
    }

    /// Removes an inherited environment variable for every run.
    pub fn env_remove(mut self, name: &str) -> Self {
        self.removed_env.push(name.to_string());
        self
    }

    fn command(&self, args: &[String]) -> Command {
        let mut command = Command::new(&self.program);
        command.arg(format!("-chdir={}", self.module.display()));
        command.args(args);
        for name in &self.removed_env {
            command.env_remove(name);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        command.stdin(Stdio::null());
        command
    }

    /// Runs `terraform ARGS` with its output on the terminal; fails when it fails.
    pub fn run(&self, args: &[String]) -> Result<()> {
        eprintln!("xtask:   $ terraform {}", args.join(" "));
        let status = self
            .command(args)
            .status()
            .with_context(|| format!("running {}", self.program.display()))?;
        if !status.success() {
            bail!("`terraform {}` failed ({status})", args.join(" "));
        }
        Ok(())
    }

    /// Runs `terraform ARGS` and returns its output (stdout captured, stderr too).
    pub fn output(&self, args: &[String]) -> Result<Output> {
        self.command(args)
            .output()
            .with_context(|| format!("running {}", self.program.display()))
    }

    /// Runs `terraform ARGS` and returns stdout; fails, with stderr, when it fails.
    pub fn stdout(&self, args: &[String]) -> Result<String> {
        let output = self.output(args)?;
        if !output.status.success() {
            bail!(
                "`terraform {}` failed ({}):\n{}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// Strings from `&str`s, for argument lists.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The resources a `terraform show -json PLAN` would delete (or replace), as `address (actions)`.
pub fn planned_deletions(plan_json: &str) -> Result<Vec<String>> {
    resource_changes(plan_json, |actions| actions.contains(&"delete"))
}

/// The resources a plan changes in any way, as `address (actions)`.
pub fn planned_changes(plan_json: &str) -> Result<Vec<String>> {
    resource_changes(plan_json, |actions| {
        actions != ["no-op"] && actions != ["read"]
    })
}

/// The resource changes of a `terraform show -json PLAN` whose actions `keep` accepts, as
/// `address (actions)`.
fn resource_changes(plan_json: &str, keep: impl Fn(&[&str]) -> bool) -> Result<Vec<String>> {
    let plan: serde_json::Value =
        serde_json::from_str(plan_json).context("parsing `terraform show -json` output")?;
    let mut out = Vec::new();
    for change in plan["resource_changes"].as_array().into_iter().flatten() {
        let actions: Vec<&str> = change["change"]["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        if keep(&actions) {
            out.push(format!(
                "{} ({})",
                change["address"].as_str().unwrap_or("?"),
                actions.join("+")
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_config_prefers_an_existing_user_file_then_the_mirror() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-tfrc-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let mirror = dir.join("mirror");
        fs::create_dir_all(&mirror)?;
        let user = dir.join("user.tfrc");
        fs::write(&user, "")?;

        assert_eq!(
            cli_config(Some(user.clone().into()), &mirror, &dir)?,
            Some(user)
        );
        // Unset, or set to a file that does not exist: the generated mirror config.
        for current in [None, Some(OsString::from("/nonexistent/.terraformrc"))] {
            let path = cli_config(current, &mirror, &dir)?.context("a config")?;
            assert_eq!(path, dir.join("terraformrc"));
            let text = fs::read_to_string(&path)?;
            assert!(
                text.contains(&format!(
                    "filesystem_mirror {{\n    path = \"{}\"",
                    mirror.display()
                )),
                "{text}"
            );
        }
        // No mirror: Terraform's own defaults.
        assert_eq!(cli_config(None, &dir.join("none"), &dir)?, None);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    /// Every `.tf` file under `terraform/`, with its text.
    fn modules() -> Result<Vec<(PathBuf, String)>> {
        let root = crate::workspace::root()?.join("terraform");
        let mut files = Vec::new();
        for module in ["aws", "azure", "gcp"] {
            for entry in fs::read_dir(root.join(module))? {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "tf") {
                    let text = fs::read_to_string(&path)?;
                    files.push((path, text));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    #[test]
    fn every_checkov_skip_says_why() -> Result<()> {
        let mut skips = 0;
        for (path, text) in modules()? {
            for line in text.lines().filter(|l| l.contains("checkov:skip")) {
                skips += 1;
                let rest = line.trim().strip_prefix("#checkov:skip=").unwrap_or("");
                let (id, reason) = rest.split_once(':').unwrap_or((rest, ""));
                assert!(
                    id.starts_with("CKV") && reason.trim().len() >= 30,
                    "{}: a skip needs `#checkov:skip=CKV_...:<why>`: {line}",
                    path.display()
                );
            }
        }
        assert!(skips > 0, "no skip found: the scan of the files is broken");
        Ok(())
    }

    #[test]
    fn otlp_headers_are_sensitive_in_every_module() -> Result<()> {
        let files = modules()?;
        for module in ["aws", "azure", "gcp"] {
            let (path, text) = files
                .iter()
                .find(|(p, _)| p.ends_with(format!("{module}/variables.tf")))
                .context("variables.tf")?;
            let block = text
                .split("variable \"")
                .find(|b| b.starts_with("otlp_headers\""))
                .with_context(|| format!("{}: no otlp_headers variable", path.display()))?;
            assert!(block.contains("sensitive   = true"), "{}", path.display());
        }
        Ok(())
    }

    #[test]
    fn the_aws_module_wires_partial_batch_failures_dlq_and_tracing() -> Result<()> {
        let text: String = modules()?
            .into_iter()
            .filter(|(p, _)| p.parent().is_some_and(|d| d.ends_with("aws")))
            .map(|(_, t)| t)
            .collect();
        for needle in [
            "function_response_types = [\"ReportBatchItemFailures\"]",
            "deadLetterTargetArn = aws_sqs_queue.orders_dlq.arn",
            "mode = \"Active\"",
            "runtime       = \"provided.al2023\"",
            "layers           = [aws_lambda_layer_version.extension.arn]",
            "default     = \"arm64\"",
        ] {
            assert!(text.contains(needle), "terraform/aws lacks {needle}");
        }
        Ok(())
    }

    #[test]
    fn finds_sh_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("no-such-tool-xtask").is_none());
    }

    #[test]
    fn plan_json_deletions_and_changes() -> Result<()> {
        let plan = r#"{"resource_changes":[
            {"address":"aws_sqs_queue.orders","change":{"actions":["no-op"]}},
            {"address":"aws_lambda_function.this[\"api\"]","change":{"actions":["update"]}},
            {"address":"aws_lambda_layer_version.extension","change":{"actions":["delete","create"]}},
            {"address":"data.aws_region.current","change":{"actions":["read"]}}
        ]}"#;
        assert_eq!(
            planned_deletions(plan)?,
            ["aws_lambda_layer_version.extension (delete+create)"]
        );
        assert_eq!(
            planned_changes(plan)?,
            [
                "aws_lambda_function.this[\"api\"] (update)",
                "aws_lambda_layer_version.extension (delete+create)"
            ]
        );
        assert!(planned_deletions(r#"{"format_version":"1.2"}"#)?.is_empty());
        assert!(planned_deletions("not json").is_err());
        Ok(())
    }
}
