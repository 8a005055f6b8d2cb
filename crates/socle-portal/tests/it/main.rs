//! The portal over a real server (port 0) and a real store (SQLite, and PostgreSQL when
//! `SOCLE_TEST_DATABASE_URL` is set): sign-in, CSRF, team rights, escaping, pages.

mod harness;
mod matrix;
mod oidc;
mod pages;
mod personal_tokens;
mod security;
