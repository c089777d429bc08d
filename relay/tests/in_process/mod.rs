//! What the in-process relay tests share: a relay taking events through its gateway only, on
//! the embedded bus, with its state (and its static files, unless `extra` names others) in
//! `state_dir`.

use clap::Parser;
use relay::run::RelayError;
use relay::{Config, Relay};

pub async fn gateway_relay(
    state_dir: &std::path::Path,
    extra: &[&str],
) -> Result<Relay, RelayError> {
    let dir = state_dir.to_str().expect("UTF-8 temp dir");
    let mut args = vec!["relay", "--no-upstream", "--state-dir", dir];
    if !extra.contains(&"--static-dir") {
        args.extend(["--static-dir", dir]);
    }
    args.extend(extra);
    Relay::start(Config::try_parse_from(args).expect("valid flags")).await
}
