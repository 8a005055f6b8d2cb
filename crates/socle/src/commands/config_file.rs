//! `socle.yaml`: every flag of `socle serve` and the global ones from one file (`--config FILE`
//! or `SOCLE_CONFIG`), each also from its environment variable `SOCLE_<FLAG>`. Precedence: a
//! flag on the command line, then the environment, then the file, then the built-in default —
//! clap's own order, with the file's values installed as the defaults.
//!
//! `SOCLE_CONFIG` names the file for every command; `--config FILE` is `socle serve`'s flag
//! (`socle org sync --config` names the org sync's own file).
//!
//! The file is a flat mapping of flag names (without `--`) to values, read as a YAML tree with
//! positions (`socle_catalog::yaml`, serde-saphyr with budgets), so that an unknown key or a
//! value a flag refuses is reported as `FILE:LINE: message`. A key applies to every command that
//! has the flag (`data-dir` and `database-url` to the CLI's store commands too).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command};
use socle_catalog::yaml::{Node, NodeValue};

/// The largest configuration file read.
const MAX_BYTES: usize = 256 * 1024;

/// Arguments that are not settings.
const NOT_SETTINGS: [&str; 3] = ["help", "version", "config"];

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    At {
        path: String,
        line: u32,
        message: String,
    },
}

/// One setting of the file: the flag's id and its value as the command line would give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub id: String,
    pub value: String,
    pub line: u32,
}

/// clap (without its `string` feature) keeps names and defaults as `&'static str`: the few
/// strings made once at start-up live as long as the process.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The environment variable of a flag: `SOCLE_` and its name in upper snake case.
pub fn env_name(id: &str) -> String {
    format!("SOCLE_{}", id.replace('-', "_").to_ascii_uppercase())
}

/// The settings a file may hold: the global flags and `socle serve`'s, by long name.
fn settings_args(cmd: &Command) -> Vec<Arg> {
    let serve = cmd.find_subcommand("serve").expect("`socle serve` exists");
    cmd.get_arguments()
        .chain(serve.get_arguments())
        .filter(|a| a.get_long().is_some() && !NOT_SETTINGS.contains(&a.get_id().as_str()))
        .cloned()
        .collect()
}

/// Gives every setting an environment variable (those that have none yet get `SOCLE_<FLAG>`),
/// in `socle serve` and every other command that shares the flag.
pub fn with_env_overrides(cmd: Command) -> Command {
    let ids: Vec<String> = settings_args(&cmd)
        .iter()
        .filter(|a| a.get_env().is_none())
        .map(|a| a.get_id().to_string())
        .collect();
    let mut cmd = cmd;
    for id in ids {
        cmd = set_everywhere(cmd, &id, &|a: Arg| {
            if a.get_env().is_none() {
                let env = leak(env_name(a.get_id().as_str()));
                a.env(env)
            } else {
                a
            }
        });
    }
    cmd
}

/// Applies `f` to the argument `id` of `cmd` and of every subcommand that has it.
fn set_everywhere(cmd: Command, id: &str, f: &dyn Fn(Arg) -> Arg) -> Command {
    let mut cmd = cmd;
    if cmd.get_arguments().any(|a| a.get_id() == id) {
        cmd = cmd.mut_arg(id, f);
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        cmd = cmd.mut_subcommand(name, |s| set_everywhere(s, id, f));
    }
    cmd
}

/// The file named by `socle serve --config FILE` (or `--config=FILE`), else by `SOCLE_CONFIG`.
/// Only `serve`'s `--config` is this file (`socle org sync --config` names its own).
pub fn config_path(args: &[OsString], env: Option<OsString>) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    let mut command = None;
    while let Some(a) = it.next() {
        if a == "--log" {
            it.next();
        } else if !a.to_string_lossy().starts_with('-') {
            command = Some(a);
            break;
        }
    }
    if command.is_some_and(|c| c == "serve") {
        while let Some(a) = it.next() {
            if a == "--" {
                break;
            }
            if a == "--config" {
                return it.next().map(PathBuf::from);
            }
            if let Some(v) = a.to_str().and_then(|s| s.strip_prefix("--config=")) {
                return Some(PathBuf::from(v));
            }
        }
    }
    env.filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Reads and checks a configuration file against `cmd`'s settings.
pub fn load(path: &Path, cmd: &Command) -> Result<Vec<Setting>, ConfigError> {
    let shown = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    if meta.len() > MAX_BYTES as u64 {
        return Err(ConfigError::At {
            path: shown,
            line: 1,
            message: format!("the configuration file is larger than {MAX_BYTES} bytes"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&text, &shown, cmd)
}

/// Checks a configuration file's text (named `path` in messages) against `cmd`'s settings.
pub fn parse(text: &str, path: &str, cmd: &Command) -> Result<Vec<Setting>, ConfigError> {
    let at = |line: u32, message: String| ConfigError::At {
        path: path.to_owned(),
        line,
        message,
    };
    let limits = socle_catalog::Limits {
        max_file_bytes: MAX_BYTES,
        ..socle_catalog::Limits::default()
    };
    let docs = socle_catalog::yaml::parse_documents(text, &limits)
        .map_err(|e| at(e.line.unwrap_or(1), e.message))?;
    let root = match docs.as_slice() {
        [] => return Ok(Vec::new()),
        [one] => one,
        [_, second, ..] => {
            return Err(at(second.line, "one YAML document expected".into()));
        }
    };
    let NodeValue::Map(entries) = &root.value else {
        return Err(at(
            root.line,
            "expected a mapping of flag names to values, e.g. `listen: 0.0.0.0:7007`".into(),
        ));
    };
    let args = settings_args(cmd);
    let mut out = Vec::with_capacity(entries.len());
    for (key, node) in entries {
        let Some(arg) = args.iter().find(|a| a.get_long() == Some(key.as_str())) else {
            let known: Vec<&str> = args.iter().filter_map(Arg::get_long).collect();
            let hint = known
                .iter()
                .filter(|k| strsim::jaro_winkler(k, key) > 0.8)
                .max_by(|x, y| {
                    strsim::jaro_winkler(x, key).total_cmp(&strsim::jaro_winkler(y, key))
                })
                .map(|k| format!(" (did you mean `{k}`?)"))
                .unwrap_or_default();
            return Err(at(
                node.line,
                format!(
                    "unknown key `{key}`{hint}; keys are the flags of `socle serve --help` without `--`"
                ),
            ));
        };
        let value = scalar(node).ok_or_else(|| {
            at(
                node.line,
                format!("`{key}` takes one value (a string, number or boolean)"),
            )
        })?;
        check_value(arg, &value).map_err(|m| at(node.line, format!("`{key}`: {m}")))?;
        out.push(Setting {
            id: arg.get_id().to_string(),
            value,
            line: node.line,
        });
    }
    Ok(out)
}

fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Bool(b) => Some(b.to_string()),
        NodeValue::Number(n) => Some(n.to_string()),
        NodeValue::String(s) => Some(s.clone()),
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => None,
    }
}

/// The flag's own parser decides whether the value is good (numbers, booleans, choices).
fn check_value(arg: &Arg, value: &str) -> Result<(), String> {
    let switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
    if switch {
        return match value {
            "true" | "false" => Ok(()),
            _ => Err(format!("expected true or false, not `{value}`")),
        };
    }
    // The flag's own parser, alone on a command line of its own (no environment, no other
    // flag): clap says yes or no, in its words.
    let probe = Command::new("socle").arg(
        Arg::new("value")
            .long("value")
            .value_parser(arg.get_value_parser().clone()),
    );
    match probe.try_get_matches_from(["socle", "--value", value]) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            let first = first.trim_start_matches("error: ");
            Err(match first.split_once(" for '--value") {
                Some((head, rest)) => match rest.split_once("': ") {
                    Some((_, why)) => format!("{head}: {why}"),
                    None => head.to_owned(),
                },
                None => first.to_owned(),
            })
        }
    }
}

/// Installs the file's values as the defaults of their flags (in every command that has them):
/// a flag or its environment variable still wins.
pub fn apply(cmd: Command, settings: &[Setting]) -> Command {
    let mut cmd = cmd;
    for s in settings {
        let value = leak(s.value.clone());
        cmd = set_everywhere(cmd, &s.id, &move |a: Arg| a.default_value(value));
    }
    cmd
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::commands::{Cli, Cmd};

    fn cmd() -> Command {
        with_env_overrides(Cli::command())
    }

    fn err(text: &str) -> String {
        parse(text, "socle.yaml", &cmd())
            .expect_err("refused")
            .to_string()
    }

    fn serve_with(text: &str, argv: &[&str]) -> (String, String) {
        let settings = parse(text, "socle.yaml", &cmd()).expect("a good file");
        let m = apply(cmd(), &settings).get_matches_from(argv);
        let cli = Cli::from_arg_matches(&m).expect("parsed");
        let Cmd::Serve(args) = cli.cmd else {
            panic!("serve")
        };
        (cli.log, args.listen_for_tests().to_owned())
    }

    #[test]
    fn a_flag_beats_the_file_which_beats_the_default() {
        let file = "listen: 0.0.0.0:7100\nlog: debug\nrefresh-interval: 60\ndemo: true\n";
        assert_eq!(
            serve_with(file, &["socle", "serve"]),
            ("debug".into(), "0.0.0.0:7100".into())
        );
        assert_eq!(
            serve_with(file, &["socle", "serve", "--listen", "127.0.0.1:9"]),
            ("debug".into(), "127.0.0.1:9".into())
        );
        assert_eq!(
            serve_with(file, &["socle", "--log", "warn", "serve"]),
            ("warn".into(), "0.0.0.0:7100".into())
        );
        assert_eq!(
            serve_with("", &["socle", "serve"]),
            ("info".into(), "127.0.0.1:7007".into())
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_at_their_line() {
        assert_eq!(
            err("log: info\nlisten: 0.0.0.0:7007\nlistn: x\n"),
            "socle.yaml:3: unknown key `listn` (did you mean `listen`?); keys are the flags of `socle serve --help` without `--`"
        );
        let e = err("listen: 0.0.0.0:7007\n\nrefresh-interval: often\n");
        assert!(e.starts_with("socle.yaml:3: `refresh-interval`: "), "{e}");
        assert!(e.contains("often"), "{e}");
        assert_eq!(
            err("demo: maybe\n"),
            "socle.yaml:1: `demo`: expected true or false, not `maybe`"
        );
        assert_eq!(
            err("listen:\n  - a\n  - b\n"),
            "socle.yaml:2: `listen` takes one value (a string, number or boolean)"
        );
        assert_eq!(
            err("- listen\n"),
            "socle.yaml:1: expected a mapping of flag names to values, e.g. `listen: 0.0.0.0:7007`"
        );
        assert_eq!(
            err("log: info\n---\nlog: debug\n"),
            "socle.yaml:3: one YAML document expected"
        );
        assert!(err("listen: [\n").starts_with("socle.yaml:"));
        // Not a setting: the help flag, and the configuration file itself.
        assert!(err("config: other.yaml\n").contains("unknown key `config`"));
        assert!(err("help: true\n").contains("unknown key `help`"));
    }

    #[test]
    fn every_setting_has_an_environment_variable() {
        let cmd = cmd();
        for a in settings_args(&cmd) {
            let env = a.get_env().expect("an environment variable");
            assert!(
                env.to_string_lossy().starts_with("SOCLE_"),
                "{}: {env:?}",
                a.get_id()
            );
        }
        assert_eq!(env_name("refresh-interval"), "SOCLE_REFRESH_INTERVAL");
    }

    #[test]
    fn the_file_is_found_by_flag_or_environment() {
        let argv = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            config_path(&argv(&["socle", "serve", "--config", "a.yaml"]), None),
            Some(PathBuf::from("a.yaml"))
        );
        assert_eq!(
            config_path(
                &argv(&["socle", "--log", "debug", "serve", "--config=b.yaml"]),
                Some("c".into())
            ),
            Some(PathBuf::from("b.yaml"))
        );
        assert_eq!(
            config_path(&argv(&["socle", "serve"]), Some("c.yaml".into())),
            Some(PathBuf::from("c.yaml"))
        );
        // `socle org sync --config` is the org sync's own file.
        assert_eq!(
            config_path(
                &argv(&["socle", "org", "sync", "--config", "org.yaml"]),
                None
            ),
            None
        );
        assert_eq!(config_path(&argv(&["socle", "serve"]), None), None);
    }
}

#[cfg(test)]
mod readme {
    use clap::CommandFactory;

    /// The production example in README.md is a file the server accepts.
    #[test]
    fn the_readme_example_is_accepted() {
        let readme = include_str!("../../../../README.md");
        let marker = "<!-- socle.yaml example";
        let at = readme.find(marker).expect("the README has the example");
        let block = &readme[at..];
        let start = block.find("```yaml\n").expect("a yaml block") + "```yaml\n".len();
        let end = block[start..].find("```").expect("the block ends") + start;
        let cmd = super::with_env_overrides(crate::commands::Cli::command());
        let settings = super::parse(&block[start..end], "README.md", &cmd).expect("accepted");
        assert!(settings.len() >= 20, "{settings:?}");
        assert!(settings.iter().any(|s| s.id == "org_sync"), "{settings:?}");
    }
}
