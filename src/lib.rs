//! mediadesk: a headless content API for a policy institute's "In the Media" desk.
//!
//! Layers, outermost first: `cli` and `startup` (process and server wiring), `http`
//! and `graphql` (thin adapters), `services` (every rule and every query),
//! `domain` (validated types), `entities` (table mapping), `db` (connections);
//! `datagen` generates realistic data sets in the import format.

pub mod auth;
pub mod backup;
pub mod cli;
pub mod config;
pub mod datagen;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod services;
pub mod startup;
pub mod telemetry;
