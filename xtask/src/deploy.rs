//! `cargo xtask deploy-aws [--arch x86_64|arm64] [--plan | --destroy] [-- TERRAFORM_ARGS]`:
//! the example functions, the extension layer and the SQS wiring on AWS, through the Terraform
//! module in `terraform/aws`.
//!
//! - Credentials and region are the AWS ones (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
//!   `AWS_PROFILE`, the shared config files, web identity, container credentials;
//!   `AWS_REGION`/`AWS_DEFAULT_REGION` or the profile's region); xtask checks that some source
//!   exists before starting Terraform and says what to set when none does.
//! - `AWS_ENDPOINT_URL` sends everything to an emulator (e.g. moto): the module points every
//!   service at it and skips what only real AWS answers; without credentials, moto's
//!   conventional `testing` keys are used. The emulator's state is kept apart, under
//!   `target/terraform/`, so it never mixes with a real deployment's `terraform/aws/terraform.tfstate`.
//! - Idempotent: `terraform apply` with the same zips changes nothing; new zips update the
//!   functions in place (the layer gets a new version).
//! - `--plan` only shows what would change; `--destroy` removes everything.
//!
//! The zips come from `cargo xtask build --release --arch A && cargo xtask package --arch A`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::lambda_arch::{self, Arch, EXTENSION, FUNCTIONS};
use crate::terraform::{self, Terraform};
use crate::workspace;

/// The module, relative to the workspace root.
pub const MODULE: &str = "terraform/aws";

/// What `deploy-aws` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `terraform apply`.
    Apply,
    /// `terraform plan`.
    Plan,
    /// `terraform destroy`.
    Destroy,
}

/// Options of `cargo xtask deploy-aws`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The instruction set of the zips and the functions.
    pub arch: Arch,
    /// Apply, plan or destroy.
    pub mode: Mode,
    /// Arguments after `--`, passed to terraform (e.g. `-var otlp_endpoint=...`).
    pub terraform_args: Vec<String>,
}

/// Parses the arguments after `deploy-aws`.
pub fn parse(args: &[String]) -> Result<Options> {
    let (ours, terraform_args) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], args[at + 1..].to_vec()),
        None => (args, Vec::new()),
    };
    let (arch, rest) = lambda_arch::take_arch(ours)?;
    let mut mode = Mode::Apply;
    for arg in rest {
        let wanted = match arg.as_str() {
            "--plan" => Mode::Plan,
            "--destroy" => Mode::Destroy,
            other => bail!(
                "unknown argument `{other}` (accepted: --arch x86_64|arm64, --plan, --destroy, -- TERRAFORM_ARGS)"
            ),
        };
        if mode != Mode::Apply && mode != wanted {
            bail!("--plan and --destroy exclude each other");
        }
        mode = wanted;
    }
    Ok(Options {
        arch: arch.unwrap_or_else(Arch::default_for_host),
        mode,
        terraform_args,
    })
}

/// One deployment of the module: which zips, where its state lives, which AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The instruction set (`-var architecture=`).
    pub arch: Arch,
    /// The directory with the zips (`-var artifacts_dir=`).
    pub artifacts_dir: PathBuf,
    /// Terraform's data dir (`TF_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The local state file (`init -backend-config=path=`).
    pub state_file: PathBuf,
    /// `-var region=`, when known.
    pub region: Option<String>,
    /// `-var endpoint_url=`: an emulator.
    pub endpoint_url: Option<String>,
}

impl Deployment {
    /// The `-var` arguments of plan/apply/destroy.
    pub fn var_args(&self) -> Vec<String> {
        let mut out = vec![
            "-var".to_string(),
            format!("architecture={}", self.arch.lambda_name()),
            "-var".to_string(),
            format!("artifacts_dir={}", self.artifacts_dir.display()),
        ];
        if let Some(region) = &self.region {
            out.extend(["-var".to_string(), format!("region={region}")]);
        }
        if let Some(endpoint) = &self.endpoint_url {
            out.extend(["-var".to_string(), format!("endpoint_url={endpoint}")]);
        }
        out
    }

    /// The zips the module reads; the missing ones are an error that says how to make them.
    pub fn check_zips(&self) -> Result<()> {
        let missing: Vec<String> = zip_names()
            .iter()
            .map(|name| self.artifacts_dir.join(name))
            .filter(|path| !path.is_file())
            .map(|path| path.display().to_string())
            .collect();
        if !missing.is_empty() {
            bail!(
                "the zips to deploy are missing: {}.\nMake them with: cargo xtask build --release --arch {arch} && cargo xtask package --arch {arch}",
                missing.join(", "),
                arch = self.arch.lambda_name()
            );
        }
        Ok(())
    }

    /// Terraform for this deployment: its data dir, and `cli_config` when given.
    pub fn terraform(&self, program: PathBuf, root: &Path, cli_config: Option<&Path>) -> Terraform {
        let mut tf = Terraform::new(program, root.join(MODULE)).env("TF_DATA_DIR", &self.data_dir);
        if let Some(config) = cli_config {
            tf = tf.env(terraform::CLI_CONFIG_VAR, config);
        }
        tf
    }

    /// `terraform init` with this deployment's state file.
    pub fn init(&self, tf: &Terraform) -> Result<()> {
        tf.run(&[
            "init".to_string(),
            "-input=false".to_string(),
            "-reconfigure".to_string(),
            format!("-backend-config=path={}", self.state_file.display()),
        ])
    }
}

/// The zips the module needs, file names.
pub fn zip_names() -> Vec<String> {
    FUNCTIONS
        .iter()
        .map(|f| format!("{f}.zip"))
        .chain([format!("{EXTENSION}.zip")])
        .collect()
}

/// Where some AWS credentials come from, as far as can be told without calling AWS; an error
/// that says what to set when there is none. `var` reads the environment, `home` is `$HOME`.
pub fn credential_source(
    var: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<String> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
        (Some(_), Some(_)) => return Ok("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".into()),
        (Some(_), None) => {
            bail!("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both")
        }
        (None, Some(_)) => {
            bail!("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set both")
        }
        (None, None) => {}
    }
    if let Some(profile) = set("AWS_PROFILE") {
        return Ok(format!("AWS_PROFILE={profile}"));
    }
    if set("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        return Ok("AWS_WEB_IDENTITY_TOKEN_FILE".into());
    }
    for name in [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        if set(name).is_some() {
            return Ok(name.into());
        }
    }
    let files = shared_files(var, home);
    if let Some(file) = files.iter().find(|f| f.is_file()) {
        return Ok(format!("{} (default profile)", file.display()));
    }
    bail!(
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE \
         (after `aws configure` / `aws sso login`), or write {}. For an emulator set AWS_ENDPOINT_URL.",
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    )
}

/// The shared credentials and config files (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`,
/// else `~/.aws/credentials`, `~/.aws/config`).
fn shared_files(var: &dyn Fn(&str) -> Option<String>, home: Option<&Path>) -> Vec<PathBuf> {
    let aws_dir = home.map(|h| h.join(".aws"));
    let pick = |name: &str, default: &str| {
        var(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| aws_dir.as_ref().map(|d| d.join(default)))
    };
    [
        pick("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        pick("AWS_CONFIG_FILE", "config"),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
pub fn region_from(var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| var(name).filter(|v| !v.is_empty()))
}

/// A directory name for an emulator endpoint: `http://127.0.0.1:5000` -> `127.0.0.1-5000`.
pub fn endpoint_slug(endpoint: &str) -> String {
    let without_scheme = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    without_scheme
        .trim_end_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Runs `cargo xtask deploy-aws` from the workspace `root`; returns the exit status.
pub fn run(root: &Path, args: &[String]) -> Result<u8> {
    let options = parse(args)?;
    let var = |name: &str| std::env::var(name).ok();
    let home = std::env::var_os("HOME").map(PathBuf::from);

    let Some(program) = terraform::find() else {
        bail!(
            "`terraform` is not on PATH: install Terraform 1.5 or later \
             (https://developer.hashicorp.com/terraform/install), or set TERRAFORM to its path"
        );
    };
    let target_dir = workspace::target_dir(root);
    let artifacts_dir = options.arch.lambda_dir(&target_dir);
    let endpoint_url = var("AWS_ENDPOINT_URL").filter(|v| !v.is_empty());
    let module = root.join(MODULE);
    let (data_dir, state_file) = match &endpoint_url {
        None => (module.join(".terraform"), module.join("terraform.tfstate")),
        Some(endpoint) => {
            let dir = target_dir
                .join("terraform")
                .join(format!("aws-{}", endpoint_slug(endpoint)));
            (dir.join(".terraform"), dir.join("terraform.tfstate"))
        }
    };
    let mut region = region_from(&var);

    let mut extra_env: Vec<(&str, String)> = Vec::new();
    match (credential_source(&var, home.as_deref()), &endpoint_url) {
        (Ok(source), _) => eprintln!("xtask: AWS credentials from {source}"),
        (Err(_), Some(endpoint)) => {
            eprintln!(
                "xtask: no AWS credentials set: using `testing` keys for the emulator at {endpoint}"
            );
            extra_env.push(("AWS_ACCESS_KEY_ID", "testing".into()));
            extra_env.push(("AWS_SECRET_ACCESS_KEY", "testing".into()));
        }
        (Err(err), None) => return Err(err),
    }
    if region.is_none() {
        if endpoint_url.is_some() {
            region = Some("us-east-1".into());
        } else if var("AWS_PROFILE").is_none()
            && !shared_files(&var, home.as_deref())
                .iter()
                .any(|f| f.is_file())
        {
            bail!(
                "no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), e.g. AWS_REGION=eu-west-1"
            );
        }
    }

    let deployment = Deployment {
        arch: options.arch,
        artifacts_dir,
        data_dir,
        state_file,
        region,
        endpoint_url,
    };
    if options.mode != Mode::Destroy {
        deployment.check_zips()?;
    }
    let cli_config = terraform::cli_config(
        std::env::var_os(terraform::CLI_CONFIG_VAR),
        Path::new(terraform::PLUGIN_MIRROR),
        &target_dir.join("terraform"),
    )?;
    let mut tf = deployment.terraform(program, root, cli_config.as_deref());
    for (name, value) in extra_env {
        tf = tf.env(name, OsString::from(value));
    }

    eprintln!(
        "xtask: {} {} ({}) -> {}; state {}",
        match options.mode {
            Mode::Apply => "deploying",
            Mode::Plan => "planning",
            Mode::Destroy => "destroying",
        },
        MODULE,
        options.arch.lambda_name(),
        deployment.endpoint_url.as_deref().unwrap_or("AWS"),
        deployment
            .state_file
            .strip_prefix(root)
            .unwrap_or(&deployment.state_file)
            .display()
    );
    deployment.init(&tf)?;
    let mut command = vec![
        match options.mode {
            Mode::Apply => "apply",
            Mode::Plan => "plan",
            Mode::Destroy => "destroy",
        }
        .to_string(),
    ];
    command.push("-input=false".to_string());
    if options.mode != Mode::Plan {
        command.push("-auto-approve".to_string());
    }
    command.extend(deployment.var_args());
    command.extend(options.terraform_args.iter().cloned());
    tf.run(&command)?;
    eprintln!("xtask: deploy-aws done");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn options() -> Result<()> {
        let parsed = parse(
            &["--arch", "arm64", "--plan", "--", "-var", "otlp_endpoint=x"].map(String::from),
        )?;
        assert_eq!(
            parsed,
            Options {
                arch: Arch::Arm64,
                mode: Mode::Plan,
                terraform_args: ["-var", "otlp_endpoint=x"].map(String::from).to_vec(),
            }
        );
        assert_eq!(parse(&[])?.mode, Mode::Apply);
        assert!(parse(&["--plan", "--destroy"].map(String::from)).is_err());
        assert!(parse(&["--yes"].map(String::from)).is_err());
        Ok(())
    }

    #[test]
    fn credentials_are_found_or_named() -> Result<()> {
        let none = Path::new("/nonexistent-home");
        assert_eq!(
            credential_source(
                &env(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]),
                Some(none)
            )?,
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        );
        assert_eq!(
            credential_source(&env(&[("AWS_PROFILE", "dev")]), Some(none))?,
            "AWS_PROFILE=dev"
        );
        let half = credential_source(&env(&[("AWS_ACCESS_KEY_ID", "a")]), Some(none));
        assert_eq!(
            half.err().map(|e| e.to_string()).as_deref(),
            Some("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both")
        );
        let err = credential_source(&env(&[]), Some(none))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.starts_with("no AWS credentials found: set AWS_ACCESS_KEY_ID"),
            "{err}"
        );
        assert!(err.contains("/nonexistent-home/.aws/credentials"), "{err}");
        // A shared credentials file counts.
        let dir = std::env::temp_dir().join(format!("xtask-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join("creds");
        std::fs::write(&file, "[default]\n")?;
        let found = credential_source(
            &env(&[("AWS_SHARED_CREDENTIALS_FILE", &file.display().to_string())]),
            Some(none),
        )?;
        assert_eq!(found, format!("{} (default profile)", file.display()));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn region_and_endpoint_helpers() {
        assert_eq!(
            region_from(&env(&[("AWS_DEFAULT_REGION", "eu-west-1")])).as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            region_from(&env(&[
                ("AWS_REGION", "us-west-2"),
                ("AWS_DEFAULT_REGION", "eu-west-1")
            ]))
            .as_deref(),
            Some("us-west-2")
        );
        assert_eq!(region_from(&env(&[])), None);
        assert_eq!(endpoint_slug("http://127.0.0.1:5000/"), "127.0.0.1-5000");
        assert_eq!(endpoint_slug("localhost:4566"), "localhost-4566");
    }

    #[test]
    fn var_args_and_missing_zips() {
        let deployment = Deployment {
            arch: Arch::X86_64,
            artifacts_dir: PathBuf::from("/nonexistent/zips"),
            data_dir: PathBuf::from("/d"),
            state_file: PathBuf::from("/d/s"),
            region: Some("us-east-1".into()),
            endpoint_url: Some("http://127.0.0.1:1".into()),
        };
        assert_eq!(
            deployment.var_args(),
            [
                "-var",
                "architecture=x86_64",
                "-var",
                "artifacts_dir=/nonexistent/zips",
                "-var",
                "region=us-east-1",
                "-var",
                "endpoint_url=http://127.0.0.1:1"
            ]
        );
        let err = deployment
            .check_zips()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/zips/aws-http-api.zip"), "{err}");
        assert!(
            err.contains("/nonexistent/zips/faas-otel-extension.zip"),
            "{err}"
        );
        assert!(
            err.ends_with(
                "cargo xtask build --release --arch x86_64 && cargo xtask package --arch x86_64"
            ),
            "{err}"
        );
    }
}
