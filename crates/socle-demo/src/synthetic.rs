//! A synthetic but realistic organisation of any size: groups with members, domains, systems,
//! components with owners, dependencies and APIs, and resources — written as Backstage YAML.

use std::fmt::Write;

/// The files of a generated organisation (relative path, content), and its entity count.
pub struct SyntheticOrg {
    pub files: Vec<(String, String)>,
    pub entities: usize,
}

/// A small deterministic PRNG (SplitMix64): the same seed gives the same organisation (and the
/// same generated history in the benchmarks).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "payments",
    "orders",
    "billing",
    "search",
    "catalog",
    "shipping",
    "inventory",
    "pricing",
    "checkout",
    "identity",
    "notifications",
    "analytics",
    "reporting",
    "ledger",
    "fraud",
    "routing",
    "tracking",
    "loyalty",
];
const LANGS: &[&str] = &["rust", "python", "typescript", "java", "go", "kotlin"];
const LIFECYCLES: &[&str] = &[
    "production",
    "production",
    "production",
    "experimental",
    "deprecated",
];
const TYPES: &[&str] = &["service", "service", "service", "website", "library"];

/// Generates about `n` entities: 2% groups, 10% users, 1% domains+systems, 60% components,
/// 17% APIs, 10% resources, in files of at most `per_file` entities.
pub fn generate(n: usize, seed: u64, per_file: usize) -> SyntheticOrg {
    let mut rng = Rng(seed);
    let groups = (n / 50).max(2);
    let users = (n / 10).max(2);
    let domains = (n / 500).max(1);
    let systems = (n / 100).max(1);
    let apis = (n * 17 / 100).max(1);
    let resources = (n / 10).max(1);
    let components = n
        .saturating_sub(groups + users + domains + systems + apis + resources)
        .max(1);
    let mut docs: Vec<String> = Vec::with_capacity(n);

    for g in 0..groups {
        let parent = if g == 0 {
            String::new()
        } else {
            format!("\n  parent: group-{}", (g - 1) / 8)
        };
        let children: Vec<String> = (g * 8 + 1..(g * 8 + 9).min(groups))
            .map(|c| format!("group-{c}"))
            .collect();
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: group-{g}\n  description: Team {g} of the synthetic organisation\nspec:\n  type: team\n  profile:\n    displayName: Team {g}\n    email: team-{g}@example.com{parent}\n  children: [{}]\n",
            children.join(", ")
        ));
    }
    for u in 0..users {
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: user-{u}\nspec:\n  profile:\n    displayName: User {u}\n    email: user-{u}@example.com\n  memberOf: [group-{}]\n",
            u % groups
        ));
    }
    for d in 0..domains {
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Domain\nmetadata:\n  name: domain-{d}\n  description: Business domain {d}\nspec:\n  owner: group-{}\n",
            rng.below(groups)
        ));
    }
    for s in 0..systems {
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: system-{s}\n  description: System {s}\nspec:\n  owner: group-{}\n  domain: domain-{}\n",
            rng.below(groups),
            s % domains
        ));
    }
    for a in 0..apis {
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-{a}\n  description: The {w} API number {a}\n  tags: [rest, {w}]\nspec:\n  type: openapi\n  lifecycle: production\n  owner: group-{}\n  system: system-{}\n  definition: |\n    openapi: 3.0.3\n    info: {{title: api-{a}, version: 1.0.0}}\n    paths:\n      /items/{{id}}:\n        get:\n          responses:\n            '200': {{description: ok}}\n",
            rng.below(groups),
            rng.below(systems),
            w = WORDS[a % WORDS.len()],
        ));
    }
    for r in 0..resources {
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: db-{r}\n  description: Database {r}\nspec:\n  type: database\n  owner: group-{}\n  system: system-{}\n",
            rng.below(groups),
            rng.below(systems)
        ));
    }
    let mut names: Vec<String> = Vec::with_capacity(components);
    for c in 0..components {
        let w = WORDS[rng.below(WORDS.len())];
        let lang = LANGS[rng.below(LANGS.len())];
        let name = format!("{w}-svc-{c}");
        let mut doc = String::with_capacity(600);
        let _ = write!(
            doc,
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  title: {w} service {c}\n  description: Handles {w} for the organisation, written in {lang}\n  tags: [{lang}, {w}]\n  annotations:\n    github.com/project-slug: example/{name}\nspec:\n  type: {}\n  lifecycle: {}\n  owner: group-{}\n  system: system-{}\n  providesApis: [api-{}]\n  consumesApis: [api-{}, api-{}]\n  dependsOn: [resource:db-{}",
            TYPES[rng.below(TYPES.len())],
            LIFECYCLES[rng.below(LIFECYCLES.len())],
            rng.below(groups),
            rng.below(systems),
            c % apis,
            rng.below(apis),
            rng.below(apis),
            rng.below(resources),
        );
        if c > 0 {
            let _ = write!(doc, ", component:{}", names[rng.below(c)]);
        }
        doc.push_str("]\n");
        docs.push(doc);
        names.push(name);
    }
    let entities = docs.len();
    let mut files = Vec::new();
    let mut locations = String::from(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: synthetic-root\nspec:\n  targets:\n",
    );
    for (i, chunk) in docs.chunks(per_file.max(1)).enumerate() {
        let path = format!("org/part-{i:05}.yaml");
        let _ = writeln!(locations, "    - ./{path}");
        files.push((path, chunk.join("---\n")));
    }
    files.insert(0, ("catalog-info.yaml".to_owned(), locations));
    SyntheticOrg {
        files,
        entities: entities + 1,
    }
}
