//! DDL: quoting, the SQL lexer that renames schemas exactly, and (in
//! later modules) the rendering of the catalog model into ordered statements.

pub mod lexer;
pub mod model;
pub mod quote;
