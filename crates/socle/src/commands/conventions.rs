//! The command line's conventions, checked over every command clap knows (a new command that
//! breaks one fails here): a description, an example in its help, help on every option,
//! `-o/--output json|yaml|table` on every command that prints a result, `-d/--output-dir` for
//! folders, and `--database-url` beside every `--data-dir`.

use clap::CommandFactory;

use super::Cli;

/// Commands that print no result to format: the server, a shell script.
const NO_OUTPUT_FORMAT: &[&str] = &["socle serve", "socle completions"];

/// Every leaf command, with its path (`socle catalog list`).
fn leaves(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
    let path = if path.is_empty() {
        cmd.get_name().to_owned()
    } else {
        format!("{path} {}", cmd.get_name())
    };
    let subs: Vec<&clap::Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if subs.is_empty() {
        out.push((path.clone(), cmd.clone()));
    }
    for s in subs {
        leaves(s, &path, out);
    }
}

fn all_leaves() -> Vec<(String, clap::Command)> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    leaves(&cmd, "", &mut out);
    out
}

fn args(cmd: &clap::Command) -> impl Iterator<Item = &clap::Arg> {
    cmd.get_arguments()
        .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
}

#[test]
fn every_command_says_what_it_does() {
    let missing: Vec<String> = all_leaves()
        .into_iter()
        .filter(|(_, c)| {
            c.get_about()
                .is_none_or(|a| a.to_string().trim().is_empty())
        })
        .map(|(p, _)| p)
        .collect();
    assert!(
        missing.is_empty(),
        "commands without a description: {missing:?}"
    );
}

#[test]
fn every_command_has_an_example_in_its_help() {
    let missing: Vec<String> = all_leaves()
        .into_iter()
        .filter(|(_, c)| {
            let text = format!(
                "{} {}",
                c.get_long_about()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                c.get_after_help()
                    .map(|s| s.to_string())
                    .unwrap_or_default()
            );
            !text.contains("Example")
        })
        .map(|(p, _)| p)
        .collect();
    assert!(
        missing.is_empty(),
        "commands without an example in --help: {missing:?}"
    );
}

#[test]
fn every_option_has_help() {
    let mut missing = Vec::new();
    for (path, c) in all_leaves() {
        for a in args(&c) {
            if a.get_help().is_none_or(|h| h.to_string().trim().is_empty()) {
                missing.push(format!("{path} {}", a.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "options without help: {missing:?}");
}

#[test]
fn every_command_that_prints_a_result_takes_output_json_yaml_table() {
    let mut wrong = Vec::new();
    for (path, c) in all_leaves() {
        if NO_OUTPUT_FORMAT.contains(&path.as_str()) {
            continue;
        }
        let Some(o) = args(&c).find(|a| a.get_long() == Some("output")) else {
            wrong.push(format!("{path}: no --output"));
            continue;
        };
        if o.get_short() != Some('o') {
            wrong.push(format!("{path}: --output has no -o"));
        }
        let values: Vec<String> = o
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_owned())
            .collect();
        if !["table", "json", "yaml"]
            .iter()
            .all(|v| values.iter().any(|x| x == v))
        {
            wrong.push(format!("{path}: --output takes {values:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn folders_are_output_dir_with_d() {
    let mut wrong = Vec::new();
    for (path, c) in all_leaves() {
        for a in args(&c) {
            let long = a.get_long().unwrap_or_default();
            if long == "output-dir" && a.get_short() != Some('d') {
                wrong.push(format!("{path}: --output-dir without -d"));
            }
            if long == "out" || long == "out-dir" || long == "dir" {
                wrong.push(format!(
                    "{path}: --{long} (the folder option is --output-dir)"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_command_with_a_data_dir_also_takes_a_database_url() {
    let mut wrong = Vec::new();
    for (path, c) in all_leaves() {
        let has = |l: &str| args(&c).any(|a| a.get_long() == Some(l));
        if has("data-dir") != has("database-url") {
            wrong.push(path);
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[test]
fn there_are_commands_to_check() {
    let n = all_leaves().len();
    assert!(n >= 30, "only {n} commands found");
}
