//! The Nunjucks and JavaScript that public templates rely on: `dump`, undefined members,
//! string methods and `.length`.

use serde_json::{Value, json};
use socle_scaffold::expr::Expr;

fn ctx() -> Value {
    json!({
        "parameters": {
            "name": "shop",
            "slug": "orders-api-v2",
            "tags": ["web", "api"],
            "owner": {"kind": "group", "name": "team-a"},
            "padded": "  \u{feff}Shop \n",
            "emoji": "a😀",
            "measures": {"length": 7},
        },
        "values": {"component_id": "orders", "tags": ["web", "api"], "description": "x\nkind: Group"},
    })
}

fn eval(s: &str) -> Value {
    Expr::new()
        .eval_str(s, &ctx())
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn dump_writes_a_string_with_its_quotes() {
    assert_eq!(eval("${{ parameters.name | dump }}"), json!("\"shop\""));
}

#[test]
fn dump_writes_lists_and_objects_as_compact_json() {
    assert_eq!(
        eval("${{ parameters.tags | dump }} ${{ parameters.owner | dump }}"),
        json!("[\"web\",\"api\"] {\"kind\":\"group\",\"name\":\"team-a\"}")
    );
}

#[test]
fn dump_with_an_indent_pretty_prints() {
    assert_eq!(
        eval("${{ {'a': [1, 2.5, true, none], 'b': {}} | dump(2) }}"),
        json!("{\n  \"a\": [\n    1,\n    2.5,\n    true,\n    null\n  ],\n  \"b\": {}\n}")
    );
}

#[test]
fn dump_of_an_undefined_value_renders_nothing() {
    assert_eq!(eval("[${{ parameters.missing | dump }}]"), json!("[]"));
}

#[test]
fn dump_in_a_yaml_file_writes_a_json_value_yaml_reads_back() {
    let text = Expr::new()
        .render_file(
            "catalog-info.yaml",
            "metadata:\n  name: ${{ values.component_id | dump }}\n  description: ${{ values.description | dump }}\n  tags: ${{ values.tags | dump }}\n",
            &ctx(),
        )
        .unwrap();
    let doc: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(
        doc,
        json!({"metadata": {"name": "orders", "description": "x\nkind: Group", "tags": ["web", "api"]}})
    );
}

#[test]
fn an_undefined_member_of_an_undefined_value_renders_as_empty_text() {
    let text = Expr::new()
        .render_file(
            ".github/workflows/ci.yml",
            "on: push\nenv:\n  REF: ${{ github.head_ref }}\n",
            &ctx(),
        )
        .unwrap();
    assert_eq!(text, "on: push\nenv:\n  REF: \n");
}

#[test]
fn an_undefined_member_of_a_defined_object_is_null_as_a_whole_value() {
    assert_eq!(eval("${{ parameters.owner.missing.deeper }}"), json!(null));
}

#[test]
fn a_method_of_an_undefined_value_is_still_an_error() {
    let err = Expr::new()
        .eval_str("${{ parameters.missing.toLowerCase() }}", &ctx())
        .unwrap_err();
    assert!(err.message.contains("toLowerCase"), "{err}");
}

#[test]
fn split_cuts_a_string_at_each_separator() {
    assert_eq!(
        eval("${{ parameters.slug.split('-') }}"),
        json!(["orders", "api", "v2"])
    );
}

#[test]
fn split_keeps_at_most_its_limit_and_without_separator_the_whole_string() {
    assert_eq!(
        eval("${{ [parameters.slug.split('-', 2), parameters.slug.split(), 'ab'.split('')] }}"),
        json!([["orders", "api"], ["orders-api-v2"], ["a", "b"]])
    );
}

#[test]
fn replace_with_a_string_pattern_replaces_the_first_occurrence() {
    assert_eq!(
        eval("${{ parameters.slug.replace('-', '_') }}"),
        json!("orders_api-v2")
    );
}

#[test]
fn replace_reads_javascript_dollar_patterns() {
    assert_eq!(
        eval("${{ 'a-b'.replace('-', '[$&|$`|$\\'|$$|$1]') }}"),
        json!("a[-|a|b|$|$1]b")
    );
}

#[test]
fn includes_tells_whether_a_string_or_list_holds_a_value() {
    assert_eq!(
        eval(
            "${{ [parameters.slug.includes('api'), parameters.slug.includes('web'), parameters.tags.includes('web'), parameters.slug.includes('orders', 1)] }}"
        ),
        json!([true, false, true, false])
    );
}

#[test]
fn starts_with_and_ends_with_compare_the_ends_of_a_string() {
    assert_eq!(
        eval(
            "${{ [parameters.slug.startsWith('orders'), parameters.slug.startsWith('api', 7), parameters.slug.endsWith('v2'), parameters.slug.endsWith('api', 10)] }}"
        ),
        json!([true, true, true, true])
    );
}

#[test]
fn to_lower_case_and_to_upper_case_change_the_case() {
    assert_eq!(
        eval("${{ 'Shop-É'.toLowerCase() ~ ' ' ~ 'Shop-é'.toUpperCase() }}"),
        json!("shop-é SHOP-É")
    );
}

#[test]
fn trim_removes_javascript_white_space_at_both_ends() {
    assert_eq!(eval("${{ parameters.padded.trim() }}"), json!("Shop"));
}

#[test]
fn length_counts_utf16_units_of_a_string_and_items_of_a_list() {
    assert_eq!(
        eval("${{ [parameters.name.length, parameters.emoji.length, parameters.tags.length] }}"),
        json!([4, 3, 2])
    );
}

#[test]
fn length_of_an_object_is_its_own_length_member() {
    assert_eq!(
        eval("${{ [parameters.measures.length, parameters.owner.length] }}"),
        json!([7, null])
    );
}

#[test]
fn length_works_in_a_skeleton_s_tags() {
    let text = Expr::new()
        .render_text(
            "{% if values.tags.length > 1 %}${{ values.tags.length }} tags{% endif %}",
            &ctx(),
        )
        .unwrap();
    assert_eq!(text, "2 tags");
}

#[test]
fn methods_chain_like_javascript() {
    assert_eq!(
        eval("${{ parameters.slug.split('-').join('_').toUpperCase() }}"),
        json!("ORDERS_API_V2")
    );
}

#[test]
fn split_is_bounded() {
    let err = Expr::new()
        .eval_str("${{ (',' * 20000).split(',') }}", &ctx())
        .unwrap_err();
    assert!(
        err.message.contains("pieces") || err.message.contains("fuel"),
        "{err}"
    );
}

#[test]
fn dump_refuses_values_nested_too_deep() {
    let err = Expr::new()
        .render_text(
            "{% set ns = namespace(a=1) %}{% for i in range(200) %}{% set ns.a = [ns.a] %}{% endfor %}${{ ns.a | dump }}",
            &ctx(),
        )
        .unwrap_err();
    assert!(err.message.contains("nested more than 128"), "{err}");
}
