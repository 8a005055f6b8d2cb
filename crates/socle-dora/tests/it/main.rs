mod bulk;
mod events;
mod jsonl;
mod metrics;
mod mixed_sources;
mod webhooks;
mod webhooks_fuzz;
