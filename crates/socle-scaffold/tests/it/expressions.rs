//! `${{ }}` expressions: types kept for whole values, Backstage's filters, bounded evaluation.

use serde_json::json;
use socle_scaffold::expr::Expr;

#[test]
fn whole_value_expressions_keep_their_type() {
    let e = Expr::new();
    let ctx = json!({"parameters": {"n": 3, "on": true, "tags": ["a", "b"], "name": "shop"}});
    assert_eq!(
        e.eval_str("${{ parameters.on }}", &ctx).unwrap(),
        json!(true)
    );
    assert_eq!(e.eval_str("${{ parameters.n }}", &ctx).unwrap(), json!(3));
    assert_eq!(
        e.eval_str(" ${{ parameters.tags }} ", &ctx).unwrap(),
        json!(["a", "b"])
    );
    assert_eq!(
        e.eval_str("svc-${{ parameters.name }}", &ctx).unwrap(),
        json!("svc-shop")
    );
    assert_eq!(
        e.eval_str("${{ parameters.missing }}", &ctx).unwrap(),
        json!(null)
    );
    // Nunjucks' strict comparison, as in Backstage's rails-demo template.
    assert_eq!(
        e.eval_str("${{ parameters.on !== true }}", &ctx).unwrap(),
        json!(false)
    );
    assert_eq!(
        e.eval_str("${{ parameters.name if parameters.name else 'x' }}", &ctx)
            .unwrap(),
        json!("shop")
    );
    // An undefined whole value leaves the key out of an object.
    let v = e
        .eval_value(
            &json!({"a": "${{ parameters.nope }}", "b": "${{ parameters.n }}"}),
            &ctx,
        )
        .unwrap();
    assert_eq!(v, json!({"b": 3}));
}

#[test]
fn backstage_filters() {
    let e = Expr::new();
    let ctx = json!({"parameters": {"repoUrl": "github.com?owner=acme&repo=shop", "owner": "group:default/team-a", "u": "https://gitlab.example.com/platform/tools/shop"}});
    assert_eq!(
        e.eval_str("${{ parameters.repoUrl | parseRepoUrl }}", &ctx)
            .unwrap(),
        json!({"host": "github.com", "owner": "acme", "repo": "shop"})
    );
    assert_eq!(
        e.eval_str("${{ parameters.repoUrl | projectSlug }}", &ctx)
            .unwrap(),
        json!("acme/shop")
    );
    assert_eq!(
        e.eval_str("${{ (parameters.u | parseRepoUrl).owner }}", &ctx)
            .unwrap(),
        json!("platform/tools")
    );
    assert_eq!(
        e.eval_str("${{ parameters.owner | parseEntityRef }}", &ctx)
            .unwrap(),
        json!({"kind": "group", "namespace": "default", "name": "team-a"})
    );
    assert_eq!(
        e.eval_str(
            "${{ 'team-b' | parseEntityRef({'defaultKind': 'group'}) | pick('kind') }}",
            &ctx
        )
        .unwrap(),
        json!("group")
    );
    let bad = e
        .eval_str("${{ 'not a url' | parseRepoUrl }}", &ctx)
        .unwrap_err();
    assert!(bad.message.contains("parseRepoUrl"), "{bad}");
}

#[test]
fn evaluation_is_bounded() {
    let e = Expr::new();
    let err = e
        .render_text(
            "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
            &json!({}),
        )
        .unwrap_err();
    assert!(err.message.to_lowercase().contains("fuel"), "{err}");
    assert!(e.check("${{ parameters.name | }}").is_err());
}
