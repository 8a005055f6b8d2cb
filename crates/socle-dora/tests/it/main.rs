mod events;
mod metrics;
mod webhooks;
