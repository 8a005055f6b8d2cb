mod bulk;
mod events;
mod jsonl;
mod live;
mod metrics;
mod mixed_sources;
mod webhooks;
mod webhooks_fuzz;
