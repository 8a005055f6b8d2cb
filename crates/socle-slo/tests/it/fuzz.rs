//! Reading any text never panics, and errors always name the file.

use proptest::prelude::*;
use socle_slo::{GenerateOptions, LoadOptions, group_rules, load};

const SEED: &str = "version: \"prometheus/v1\"\nservice: \"svc\"\nslos:\n  - name: \"slo1\"\n    objective: 99.9\n    sli:\n      events:\n        error_query: sum(rate(x{code=~\"5..\"}[{{.window}}]))\n        total_query: sum(rate(x[{{.window}}]))\n    alerting:\n      name: A\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        if let Err(errors) = load(&text, "f.yaml", &LoadOptions::default()) {
            prop_assert!(errors.iter().all(|e| e.file == "f.yaml"));
        }
    }

    #[test]
    fn mutated_specs_never_panic(at in 0usize..SEED.len(), cut in 0usize..40, insert in "[ -~\n]{0,12}") {
        let at = (0..=at).rev().find(|i| SEED.is_char_boundary(*i)).unwrap();
        let end = (at + cut).min(SEED.len());
        let text = format!("{}{}{}", &SEED[..at], insert, &SEED[end..]);
        if let Ok(groups) = load(&text, "f.yaml", &LoadOptions::default()) {
            for g in &groups {
                prop_assert!(group_rules(g, &GenerateOptions::default()).is_ok());
            }
        }
    }
}
