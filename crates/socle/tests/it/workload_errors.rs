//! `socle workload generate`, `validate` and `socle deploy FILE` fail with exit code 1 and one
//! diagnostic per problem, each at its place: `file:line:column field: message [rule]` for a
//! field of a Score file, `file: message` for the file as a whole.

use std::path::Path;
use std::process::Output;

use crate::cli::{socle, walk};

const HEAD: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: shop\ncontainers:\n  web:\n    image: nginx:1.27\n";

/// `socle workload generate FILE --env ENV` into a directory of the test's.
fn generate(file: &Path, env: &str, dir: &Path) -> Output {
    socle(
        &[
            "workload",
            "generate",
            file.to_str().unwrap(),
            "--env",
            env,
            "--seed",
            "1",
            "--output-dir",
            dir.join("out").to_str().unwrap(),
        ],
        dir,
    )
}

/// The command failed with exit code 1; its standard error, every line of which starts with
/// `prefix` (where the problem is).
fn failed(out: &Output, prefix: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.trim().is_empty());
    for line in stderr.lines() {
        assert!(
            line.starts_with(prefix),
            "{line:?} does not start with {prefix:?}"
        );
    }
    stderr
}

fn score(dir: &Path, text: &str) -> std::path::PathBuf {
    let f = dir.join("score.yaml");
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn a_resource_no_definition_provides_is_shown_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let f = score(
        tmp.path(),
        &format!("{HEAD}resources:\n  db:\n    type: postgres\n  cache:\n    type: memcached\n"),
    );
    let stderr = failed(
        &generate(&f, "local", tmp.path()),
        &format!("{}:", f.display()),
    );
    assert_eq!(
        stderr,
        format!(
            "{}:11:5 resources.cache: resource type \"memcached\" is unknown to this platform; known types: amqp, dns, environment, kafka-topic, mongodb, mysql, postgres, redis, route, s3, service-port, volume [resources.match]\n",
            f.display()
        )
    );
}

#[test]
fn a_missing_output_is_named_at_the_variable_that_asks_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let f = score(
        tmp.path(),
        &format!(
            "{HEAD}    variables:\n      DB: ${{resources.db.hostname}}\nresources:\n  db:\n    type: postgres\n"
        ),
    );
    let stderr = failed(
        &generate(&f, "local", tmp.path()),
        &format!("{}:8:11 ", f.display()),
    );
    assert!(
        stderr.contains("containers.web.variables.DB: ${resources.db.hostname}: resource \"db\" (postgres, definition postgres-compose) has no output \"hostname\"; its outputs are: database, host, name, password, port, username [placeholder.unresolved]"),
        "{stderr}"
    );
}

#[test]
fn a_template_error_is_shown_at_the_resource_and_names_the_value() {
    let tmp = tempfile::tempdir().unwrap();
    let f = score(
        tmp.path(),
        &format!(
            "{HEAD}service:\n  ports:\n    web:\n      port: 80\nresources:\n  route:\n    type: route\n    params:\n      host: shop.example.com\n      path: /\n      port: grpc\n"
        ),
    );
    let stderr = failed(
        &generate(&f, "dev", tmp.path()),
        &format!("{}:13:5 ", f.display()),
    );
    assert!(
        stderr.contains("resources.route: resource definition route-kubernetes"),
        "{stderr}"
    );
    assert!(
        stderr.contains("params.port 'grpc' is neither a port number nor one of the service ports of workload shop (web)"),
        "{stderr}"
    );
    // The same route to the port's name renders the Service's port.
    let f = score(
        tmp.path(),
        &std::fs::read_to_string(&f).unwrap().replace("grpc", "web"),
    );
    let out = generate(&f, "dev", tmp.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let routes = tmp.path().join("out/resources");
    let route = walk(&routes)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("httproute"))
        .expect("an HTTPRoute");
    let text = std::fs::read_to_string(route).unwrap();
    assert!(
        text.contains("    - name: shop\n      port: 80\n"),
        "{text}"
    );
}

#[test]
fn an_invalid_or_unreadable_file_fails_with_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let f = score(tmp.path(), &format!("{HEAD}    variables: [oops\n"));
    let stderr = failed(
        &generate(&f, "local", tmp.path()),
        &format!("{}:", f.display()),
    );
    assert!(stderr.contains("invalid YAML"), "{stderr}");
    let stderr = failed(
        &socle(&["workload", "validate", f.to_str().unwrap()], tmp.path()),
        &format!("{}:", f.display()),
    );
    assert!(stderr.contains("invalid YAML"), "{stderr}");

    let missing = tmp.path().join("missing.yaml");
    for out in [
        generate(&missing, "local", tmp.path()),
        socle(
            &["workload", "validate", missing.to_str().unwrap()],
            tmp.path(),
        ),
    ] {
        // The one wording for a missing input (see conventions.rs).
        failed(
            &out,
            &format!(
                "error: cannot read {}: No such file or directory",
                missing.display()
            ),
        );
    }
}

#[test]
fn a_missing_source_file_fails_with_the_score_file_that_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    let f = score(
        tmp.path(),
        &format!("{HEAD}    files:\n      /etc/app.conf:\n        source: ./app.conf\n"),
    );
    for env in ["local", "dev"] {
        let stderr = failed(
            &generate(&f, env, tmp.path()),
            &format!("{}: ", f.display()),
        );
        assert!(stderr.contains("app.conf"), "{env}: {stderr}");
    }
}

#[test]
fn a_deploy_that_cannot_resolve_shows_each_problem_at_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let f = score(
        tmp.path(),
        &format!(
            "{HEAD}    variables:\n      DB: ${{resources.db.hostname}}\nresources:\n  db:\n    type: postgres\n  cache:\n    type: memcached\n"
        ),
    );
    let out = socle(
        &[
            "deploy",
            f.to_str().unwrap(),
            "--env",
            "dev",
            "--image",
            "shop:1",
        ],
        &tmp.path().join("data"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let shown = f.display().to_string();
    assert!(
        stderr.starts_with("error: the workload's resources could not be resolved\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "\n{shown}:13:5 resources.cache: resource type \"memcached\" is unknown"
        )),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("data/gitops/dev.git").exists(),
        "nothing committed"
    );
    // Variables are resolved once every resource is provided: with the type known, the missing
    // output is shown at the variable that asks for it.
    let f = score(
        tmp.path(),
        &std::fs::read_to_string(&f)
            .unwrap()
            .replace("memcached", "redis"),
    );
    let out = socle(
        &[
            "deploy",
            f.to_str().unwrap(),
            "--env",
            "dev",
            "--image",
            "shop:1",
        ],
        &tmp.path().join("data"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("\n{shown}:8:11 containers.web.variables.DB: ${{resources.db.hostname}}: resource \"db\"")),
        "{stderr}"
    );
}
