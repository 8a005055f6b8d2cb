mod events;
mod metrics;
mod webhooks;
mod webhooks_fuzz;
