//! Sloth's own corpus (conformance/sloth, from slok/sloth @ 0e395d8): every example and every CLI
//! golden file generated again and compared, document by document and rule group by rule group,
//! after parsing as YAML; the validation corpus' verdicts.

use std::path::{Path, PathBuf};

use serde_json::Value;
use socle_catalog::Limits;
use socle_catalog::yaml::parse_documents;
use socle_slo::{
    GenerateOptions, LoadOptions, Only, PromDuration, RuleWrapping, WindowCatalog, group_rules,
    load, to_yaml,
};

pub fn corpus() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../conformance/sloth");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("SOCLE_REQUIRE_CONFORMANCE").is_none(),
        "conformance corpus missing at {}",
        p.display()
    );
    None
}

/// The version label the golden files' `{{ .version }}` stands for in these tests.
const VERSION: &str = "socle-test";

/// The golden files are Go templates (generate_test.go executes them): `{{ .version }}` and the
/// quoted literals `{{"…"}}` that keep Prometheus' own `{{$labels.x}}` in the text.
fn render_tpl(tpl: &str) -> String {
    tpl.replace("{{ .version }}", VERSION)
        .replace("{{\"{{", "{{")
        .replace("}}\"}}", "}}")
}

/// One generation, as a command line of Sloth's generate_test.go.
struct Case {
    input: &'static str,
    period: &'static str,
    custom_windows: bool,
    extra: &'static [(&'static str, &'static str)],
    only: Only,
}

const fn case(input: &'static str) -> Case {
    Case {
        input,
        period: "30d",
        custom_windows: false,
        extra: &[],
        only: Only::Everything,
    }
}

/// Every `out-*.yaml.tpl` of the corpus with the command that makes it (generate_test.go); the
/// plugin cases are `None`: Sloth runs Go plugins there, Socle refuses the spec.
fn golden_case(out: &str) -> Option<Case> {
    Some(match out {
        "out-base.yaml.tpl" => case("in-base.yaml"),
        "out-base-k8s.yaml.tpl" => case("in-base-k8s.yaml"),
        "out-base-no-alerts.yaml.tpl" => Case {
            only: Only::Recordings,
            ..case("in-base.yaml")
        },
        "out-base-no-recordings.yaml.tpl" => Case {
            only: Only::Alerts,
            ..case("in-base.yaml")
        },
        "out-base-extra-labels.yaml.tpl" => Case {
            extra: &[("exk1", "exv1"), ("exk2", "exv2")],
            ..case("in-base.yaml")
        },
        "out-multifile.yaml.tpl" => case("in-multifile.yaml"),
        "out-multifile-k8s.yaml.tpl" => case("in-multifile-k8s.yaml"),
        "out-openslo.yaml.tpl" => case("in-openslo.yaml"),
        "out-base-28d.yaml.tpl" => Case {
            period: "28d",
            ..case("in-base.yaml")
        },
        "out-base-custom-windows-7d.yaml.tpl" => Case {
            period: "7d",
            custom_windows: true,
            ..case("in-base.yaml")
        },
        "out-sli-plugin.yaml.tpl" | "out-slo-plugin.yaml.tpl" | "out-slo-plugin-k8s.yaml.tpl" => {
            return None;
        }
        other => {
            panic!("{other}: a golden file without a known command line; add it to golden_case")
        }
    })
}

fn options(dir: &Path, c: &Case, version: &str) -> (LoadOptions, GenerateOptions) {
    let windows = if c.custom_windows {
        let text = std::fs::read_to_string(dir.join("windows-7d.yaml")).unwrap();
        WindowCatalog::from_yaml_documents(&[&text]).unwrap()
    } else {
        WindowCatalog::default()
    };
    let period = PromDuration::parse(c.period).unwrap();
    let load = LoadOptions {
        default_period: period,
        windows: windows.clone(),
        ..LoadOptions::default()
    };
    let generate = GenerateOptions {
        default_period: period,
        windows,
        extra_labels: c
            .extra
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        version: version.to_owned(),
        only: c.only,
    };
    (load, generate)
}

/// The rules Socle generates for `input`, as YAML text (every document).
pub fn generate(input: &Path, load_options: &LoadOptions, options: &GenerateOptions) -> String {
    let text = std::fs::read_to_string(input).unwrap();
    let name = input.file_name().unwrap().to_string_lossy();
    let groups =
        load(&text, &name, load_options).unwrap_or_else(|e| panic!("{}: {e:#?}", input.display()));
    let mut out = String::new();
    for g in &groups {
        let rules = group_rules(g, options).unwrap();
        out.push_str(&to_yaml(g, &rules, &name, RuleWrapping::AsSloth).unwrap());
    }
    out
}

fn docs(text: &str, what: &str) -> Vec<Value> {
    parse_documents(text, &Limits::default())
        .unwrap_or_else(|e| panic!("{what}: {e:?}"))
        .iter()
        .map(|n| n.to_json())
        .collect()
}

fn rule_groups(doc: &Value) -> &Vec<Value> {
    doc.get("groups")
        .or_else(|| doc.pointer("/spec/groups"))
        .and_then(Value::as_array)
        .expect("a rule file or a PrometheusRule")
}

/// Compares the generated YAML with Sloth's, per document and per rule group, then as a whole.
pub fn assert_same_rules(expected: &str, actual: &str, what: &str) {
    let (exp, act) = (docs(expected, what), docs(actual, what));
    assert_eq!(act.len(), exp.len(), "{what}: number of YAML documents");
    for (d, (e, a)) in exp.iter().zip(&act).enumerate() {
        let (eg, ag) = (rule_groups(e), rule_groups(a));
        let names = |g: &Vec<Value>| {
            g.iter()
                .map(|x| x["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(ag), names(eg), "{what} document {d}: rule groups");
        for (e_group, a_group) in eg.iter().zip(ag) {
            let name = e_group["name"].as_str().unwrap();
            let (er, ar) = (
                e_group["rules"].as_array().unwrap(),
                a_group["rules"].as_array().unwrap(),
            );
            assert_eq!(
                ar.len(),
                er.len(),
                "{what} document {d} group {name}: number of rules"
            );
            for (i, (e_rule, a_rule)) in er.iter().zip(ar).enumerate() {
                assert_eq!(a_rule, e_rule, "{what} document {d} group {name} rule {i}");
            }
        }
        assert_eq!(a, e, "{what} document {d}");
    }
}

#[test]
fn every_sloth_example_generates_sloths_rules() {
    let Some(dir) = corpus() else { return };
    let examples = dir.join("examples");
    let mut checked = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for input in files {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let expected = std::fs::read_to_string(examples.join("_gen").join(&name)).unwrap();
        // scripts/examplesgen.sh: `sloth generate -i <example> -l cmd=examplesgen.sh`, version dev.
        let c = Case {
            extra: &[("cmd", "examplesgen.sh")],
            ..case("")
        };
        let (l, g) = options(&dir, &c, "dev");
        assert_same_rules(&expected, &generate(&input, &l, &g), &name);
        checked += 1;
    }
    assert_eq!(checked, 6, "Sloth's six examples");
}

#[test]
fn every_sloth_cli_golden_file_is_generated_equal() {
    let Some(dir) = corpus() else { return };
    let testdata = dir.join("testdata");
    let mut outs: Vec<String> = std::fs::read_dir(&testdata)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("out-"))
        .collect();
    outs.sort();
    assert_eq!(outs.len(), 13, "Sloth's 13 CLI golden files");
    let mut compared = 0;
    for out in &outs {
        let Some(c) = golden_case(out) else { continue };
        let expected = render_tpl(&std::fs::read_to_string(testdata.join(out)).unwrap());
        let (l, g) = options(&testdata, &c, VERSION);
        assert_same_rules(&expected, &generate(&testdata.join(c.input), &l, &g), out);
        compared += 1;
    }
    assert_eq!(compared, 10);
}

#[test]
fn sloth_plugin_specs_are_refused_with_the_plugin_named() {
    let Some(dir) = corpus() else { return };
    for (input, plugin) in [
        ("in-sli-plugin.yaml", "integration_test"),
        ("in-slo-plugin.yaml", "integration-tests/plugin1"),
        ("in-slo-plugin-k8s.yaml", "integration-tests/plugin1"),
    ] {
        let text = std::fs::read_to_string(dir.join("testdata").join(input)).unwrap();
        let errors = load(&text, input, &LoadOptions::default()).expect_err(input);
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains(plugin) && e.message.contains("not supported")),
            "{input}: {errors:#?}"
        );
    }
}

#[test]
fn an_unknown_spec_version_is_refused_at_its_line() {
    let Some(dir) = corpus() else { return };
    let text = std::fs::read_to_string(dir.join("testdata/in-invalid-version.yaml")).unwrap();
    let errors = load(&text, "in-invalid-version.yaml", &LoadOptions::default()).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(1));
    assert_eq!(errors[0].path, "version");
    assert!(
        errors[0].message.contains("prometheus/v999"),
        "{}",
        errors[0]
    );
}
