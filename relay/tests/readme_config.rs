//! The README's configuration table is `relay --help` in table form; this test fails (and
//! prints the table to paste) whenever a flag, its variable, default or help text changes.

use clap::CommandFactory;
use relay::Config;

fn table() -> String {
    let cmd = Config::command();
    let mut out = String::from("| flag | environment | default | meaning |\n|---|---|---|---|\n");
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let env = arg
            .get_env()
            .map(|e| format!("`{}`", e.to_string_lossy()))
            .unwrap_or_default();
        let default: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let default = if default.is_empty() {
            String::new()
        } else {
            format!("`{}`", default.join(","))
        };
        let value = if arg.get_action().takes_values() {
            format!(
                " {}",
                arg.get_value_names()
                    .and_then(|v| v.first())
                    .map_or("VALUE".into(), |v| v.to_string())
            )
        } else {
            String::new()
        };
        let help = arg
            .get_help()
            .map(|h| h.to_string())
            .unwrap_or_default()
            .replace('|', "\\|");
        out.push_str(&format!(
            "| `--{long}{value}` | {env} | {default} | {help} |\n"
        ));
    }
    out
}

#[test]
fn readme_lists_every_flag_as_relay_help_does() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let want = table();
    assert!(
        readme.contains(&want),
        "README.md's configuration table is out of date; replace it with:\n\n{want}"
    );
}

#[test]
fn every_flag_has_an_environment_variable() {
    for arg in Config::command().get_arguments() {
        if let Some(long) = arg.get_long().filter(|l| !matches!(*l, "help" | "version")) {
            let env = arg
                .get_env()
                .unwrap_or_else(|| panic!("--{long} has no environment variable"));
            assert!(
                env.to_string_lossy().starts_with("RELAY_"),
                "--{long}: {env:?}"
            );
        }
    }
}
