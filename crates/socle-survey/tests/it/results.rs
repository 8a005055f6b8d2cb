use socle_survey::{Answer, Answers, GroupResult, Outcome, Summary, compare, load, results};

fn survey() -> socle_survey::Survey {
    load(
        "apiVersion: socle.dev/v1alpha1
kind: Survey
metadata: {name: s}
spec:
  opens: 2026-01-01
  closes: 2026-12-31
  questions:
    - {id: l, type: likert, text: L}
    - {id: e, type: enps, text: E}
    - {id: c, type: single, options: [x, y], text: C}
    - {id: t, type: text, text: T}
",
        "s.yaml",
    )
    .unwrap()
    .remove(0)
}

fn response(team: &str, l: u8, e: u8, c: &str, t: Option<&str>) -> (String, Answers) {
    let mut a = Answers::new();
    a.insert("l".into(), Answer::Scale(l));
    a.insert("e".into(), Answer::Scale(e));
    a.insert("c".into(), Answer::Text(c.into()));
    if let Some(t) = t {
        a.insert("t".into(), Answer::Text(t.into()));
    }
    (format!("group:default/{team}"), a)
}

fn shown(g: &GroupResult) -> Option<usize> {
    match &g.outcome {
        Outcome::Shown { respondents, .. } => Some(*respondents),
        Outcome::NotEnoughAnswers => None,
    }
}

#[test]
fn figures_per_question() {
    let rs: Vec<_> = [(5, 10), (4, 9), (4, 8), (3, 6), (2, 0)]
        .iter()
        .enumerate()
        .map(|(i, (l, e))| {
            response(
                "a",
                *l,
                *e,
                if i < 3 { "x" } else { "y" },
                (i == 0).then_some("zebra"),
            )
        })
        .chain([response("a", 5, 10, "x", Some("apple"))])
        .collect();
    let out = results(&survey(), &rs, 5);
    assert_eq!(out.len(), 2);
    let Outcome::Shown {
        respondents,
        questions,
    } = &out[0].outcome
    else {
        panic!()
    };
    assert_eq!((out[0].group.as_str(), *respondents), ("organisation", 6));
    // Likert 5,4,4,3,2,5: mean 3.83, s = 1.169, t(5) = 2.571 → ± 1.23 (5.06 cut to the
    // scale's 5).
    assert_eq!(
        questions[0].summary,
        Summary::Likert {
            mean: Some(3.83),
            ci: Some([2.61, 5.0]),
            distribution: vec![0, 1, 1, 2, 2]
        }
    );
    // eNPS: promoters 10,9,10 (3/6), detractors 6,0 (2/6) → 16.67.
    let Summary::Enps {
        score,
        promoters,
        passives,
        detractors,
        ci,
        ..
    } = &questions[1].summary
    else {
        panic!()
    };
    assert_eq!(
        (*score, *promoters, *passives, *detractors),
        (Some(16.67), 3, 1, 2)
    );
    let [lo, hi] = ci.unwrap();
    assert!(lo < 16.67 && hi > 16.67 && lo >= -100.0 && hi <= 100.0);
    let Summary::Choices { counts } = &questions[2].summary else {
        panic!()
    };
    assert_eq!((counts[0].count, counts[1].count), (4, 2));
    assert_eq!(
        questions[3].summary,
        Summary::Text {
            texts: vec!["apple".into(), "zebra".into()]
        }
    );
    assert_eq!(questions[3].answers, 2);
}

#[test]
fn a_team_below_the_threshold_shows_not_enough_answers() {
    let mut rs: Vec<_> = (0..5).map(|_| response("a", 4, 9, "x", None)).collect();
    rs.extend((0..2).map(|_| response("b", 1, 0, "y", None)));
    rs.extend((0..5).map(|_| response("c", 3, 7, "y", None)));
    rs.extend((0..3).map(|_| response("d", 1, 0, "y", None)));
    let out = results(&survey(), &rs, 5);
    let got: Vec<(&str, Option<usize>)> =
        out.iter().map(|g| (g.group.as_str(), shown(g))).collect();
    assert_eq!(
        got,
        [
            ("organisation", Some(15)),
            ("group:default/a", Some(5)),
            ("group:default/b", None),
            ("group:default/c", Some(5)),
            ("group:default/d", None),
        ]
    );
    let json = serde_json::to_value(&out[2]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"group": "group:default/b", "status": "not_enough_answers"})
    );
}

#[test]
fn a_hidden_team_cannot_be_recovered_by_subtraction() {
    // Team b alone (1 respondent) would be the organisation minus team a.
    let mut rs: Vec<_> = (0..5).map(|_| response("a", 4, 9, "x", None)).collect();
    rs.push(response("b", 1, 0, "y", Some("secret")));
    let out = results(&survey(), &rs, 5);
    let got: Vec<Option<usize>> = out.iter().map(shown).collect();
    assert_eq!(got, [Some(6), None, None]);
    // With three teams, the smallest shown one is hidden with it, and the rest stays.
    rs.extend((0..7).map(|_| response("c", 2, 5, "x", None)));
    let got: Vec<Option<usize>> = results(&survey(), &rs, 5).iter().map(shown).collect();
    assert_eq!(got, [Some(13), None, None, Some(7)]);
    // Below the threshold overall, nothing is shown.
    let few: Vec<_> = (0..4).map(|_| response("a", 4, 9, "x", None)).collect();
    assert!(
        results(&survey(), &few, 5)
            .iter()
            .all(|g| shown(g).is_none())
    );
    // The threshold never goes below 3.
    let three: Vec<_> = (0..2).map(|_| response("a", 4, 9, "x", None)).collect();
    assert!(
        results(&survey(), &three, 1)
            .iter()
            .all(|g| shown(g).is_none())
    );
}

#[test]
fn rounds_are_compared_group_by_group() {
    let before: Vec<_> = (0..5).map(|_| response("a", 3, 6, "x", None)).collect();
    let now: Vec<_> = (0..5).map(|_| response("a", 4, 10, "x", None)).collect();
    let previous = results(&survey(), &before, 5);
    let mut current = results(&survey(), &now, 5);
    compare(&mut current, &previous);
    let Outcome::Shown { questions, .. } = &current[1].outcome else {
        panic!()
    };
    assert_eq!(
        (questions[0].previous, questions[0].change),
        (Some(3.0), Some(1.0))
    );
    assert_eq!(
        (questions[1].previous, questions[1].change),
        (Some(-100.0), Some(200.0))
    );
    assert_eq!(questions[2].previous, None);
}
