//! End-to-end tests: the real `pgbarge` binary against real PostgreSQL
//! servers that the tests start themselves (see `support`).

mod support;

mod batches;
mod cli;
mod config;
mod connections;
mod content;
mod corpus;
mod dump;
mod faults;
mod plan;
mod portability;
mod proxy;
mod real_schemas;
mod refusals;
mod rehearse;
mod schema;
mod security;
mod tls;
mod verify;
mod versions;
