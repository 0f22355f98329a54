//! End-to-end tests: the real `pgbarge` binary against real PostgreSQL
//! servers that the tests start themselves (see `support`).

mod support;

mod cli;
mod content;
mod refusals;
mod connections;
mod config;
