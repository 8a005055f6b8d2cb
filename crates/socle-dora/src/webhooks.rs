//! GitHub and GitLab webhook payloads to events, and their signature checks.
//! (Being written: see the tests in tests/it/webhooks.rs.)
