//! The integration suite: one binary. Every test starts the real server on a
//! random port against its own fresh database, once on SQLite and once on
//! PostgreSQL (`both!`), and talks to it over HTTP (or runs the real CLI).

mod helpers;

mod auth;
mod backup;
mod changes;
mod comments;
mod contract;
mod demo;
mod docs;
mod edge;
mod faults;
mod feeds;
mod formats;
mod freshness;
mod graphql;
mod headers;
mod health;
mod import;
mod mentions;
mod metrics;
mod multinode;
// Newsletters (issue 14 item 5).
mod newsletters;
// Social sign-in (OpenID Connect).
mod oidc;
mod outbox;
mod public_reads;
mod readers;
mod replica;
mod rest;
mod roles;
mod search_index;
mod shared_store;
mod slugs;
mod stats;
mod subscriptions;
mod sync;
mod traces;
mod trust;
mod webhooks;
mod writes;
