//! The text query as planned (exact words without a prefix scan where the field has no longer
//! word, [`crate::fields_max::FieldsMax`] across fields) scores every document exactly as the
//! plain formulation it replaces: tantivy's `DisjunctionMaxQuery` over, per field, the exact
//! term OR the prefix.

use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, DisjunctionMaxQuery, Occur, PhrasePrefixQuery, Query, TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Score, Term};

use super::{SearchIndex, Words};
use crate::SearchDoc;
use crate::query;
use crate::schema::Fields;

const WORDS: &[&str] = &[
    "pay", "payment", "payments", "paypal", "service", "services", "search", "ledger", "led",
    "orders", "svc", "rust", "python", "catalog",
];

/// Deterministic documents whose words share prefixes, in three segments (a build and two
/// applies, one replacing documents of the first).
fn index() -> SearchIndex {
    let mut seed = 7u64;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n
    };
    let mut doc = |i: usize| {
        let mut words = |k: usize| {
            (0..k)
                .map(|_| WORDS[next(WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ")
        };
        SearchDoc {
            entity_ref: format!("component:default/c-{i}"),
            kind: "component".into(),
            name: format!("{}-{i}", words(2).replace(' ', "-")),
            title: Some(words(3)),
            description: Some(words(6)),
            tags: vec![WORDS[i % WORDS.len()].into()],
            spec_type: Some(["service", "library"][i % 2].into()),
            ..Default::default()
        }
    };
    let index = SearchIndex::build((0..300).map(&mut doc)).unwrap();
    index.apply((250..400).map(&mut doc), Vec::new()).unwrap();
    index.apply((400..450).map(&mut doc), Vec::new()).unwrap();
    index
}

fn reference(fields: &Fields, words: &[String], last_is_prefix: bool) -> Box<dyn Query> {
    let word = |word: &str, prefix: bool| -> Box<dyn Query> {
        let per_field = fields
            .text
            .iter()
            .map(|tf| {
                let term = Term::from_field_text(tf.field, word);
                let exact: Box<dyn Query> = Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                    tf.boost,
                ));
                if !prefix {
                    return exact;
                }
                let mut p = PhrasePrefixQuery::new_with_offset(vec![(0, term)]);
                p.set_max_expansions(u32::MAX);
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, exact),
                    (
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(p), tf.boost * 0.5)),
                    ),
                ])) as Box<dyn Query>
            })
            .collect();
        Box::new(DisjunctionMaxQuery::with_tie_breaker(per_field, 0.1))
    };
    let last = words.len() - 1;
    Box::new(BooleanQuery::new(
        words
            .iter()
            .enumerate()
            .map(|(i, w)| (Occur::Must, word(w, i == last && last_is_prefix)))
            .collect(),
    ))
}

fn scored(index: &SearchIndex, query: &dyn Query) -> Vec<(DocAddress, Score)> {
    let searcher = index.reader.searcher();
    let mut hits = searcher
        .search(query, &TopDocs::with_limit(10_000).order_by_score())
        .unwrap()
        .into_iter()
        .map(|(score, address)| (address, score))
        .collect::<Vec<_>>();
    hits.sort_by_key(|(address, _)| *address);
    hits
}

#[test]
fn the_planned_query_scores_like_the_plain_one() {
    let index = index();
    let searcher = index.reader.searcher();
    assert!(searcher.segment_readers().len() >= 2, "several segments");
    let mut compared = 0;
    for text in [
        "pay",
        "paym",
        "payments",
        "paypal",
        "service",
        "services",
        "led",
        "ledger",
        "svc",
        "orders svc",
        "catalog service",
        "catalog serv",
        "rust pay",
        "python ledger",
        "payments ",
        "zzz",
        "search c",
    ] {
        let words = query::analyze(&index.analyzer, text);
        let planned = query::text_query(
            &index.fields,
            &Words(&searcher),
            &words.words,
            words.last_is_prefix,
        )
        .unwrap();
        let plain = reference(&index.fields, &words.words, words.last_is_prefix);
        let (got, want) = (scored(&index, &*planned), scored(&index, &*plain));
        assert_eq!(
            got.iter().map(|h| h.0).collect::<Vec<_>>(),
            want.iter().map(|h| h.0).collect::<Vec<_>>(),
            "{text:?}: the same documents"
        );
        for ((address, g), (_, w)) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-4 * w.abs().max(1.0),
                "{text:?}: {address:?} scores {g}, the plain query {w}"
            );
        }
        compared += got.len();
    }
    assert!(compared > 1_000, "the texts match documents ({compared})");
}
