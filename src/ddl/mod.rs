//! DDL: quoting, the SQL lexer that renames schemas exactly, and typed
//! definitions with their pure rendering into statements: tables and
//! views (`model`), what a table gets after its rows (`post`), aggregates
//! (`routine`), publications (`publication`).

pub mod lexer;
pub mod model;
pub mod post;
pub mod publication;
pub mod quote;
pub mod routine;
