//! The fixed figures of the emulated Lambda: account, region and the phase time limits.

use std::time::Duration;

/// The AWS account of every emulated ARN.
pub const ACCOUNT_ID: &str = "123456789012";

/// The region of [`crate::Emulator::start`].
pub const DEFAULT_REGION: &str = "us-east-1";

/// How long extensions may take to register, and the runtime to reach `next` (Lambda's init
/// phase limit).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the runtime has to exit after SIGTERM at shutdown before it is killed.
pub const RUNTIME_SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// How long extensions have after the SHUTDOWN event before they are killed.
pub const EXTENSIONS_SHUTDOWN_GRACE: Duration = Duration::from_millis(2000);
