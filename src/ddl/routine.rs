//! Aggregates as typed definitions and their pure rendering.
//!
//! The server has no `pg_get_aggregatedef`: `catalog::model` reads the
//! fields of `pg_aggregate` (function names as `regproc` prints them,
//! types as `format_type` does, with `search_path = ''`, so qualified
//! unless in pg_catalog), and `CREATE AGGREGATE` is written here, with the
//! schema map applied to each name and the initial states quoted as
//! literals (never renamed: they are data).

use serde::Deserialize;

use super::model::Mapper;
use crate::catalog::{quote_ident, quote_literal, QualName};

/// One aggregate, as `pg_aggregate` and `pg_proc` hold it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AggregateDef {
    #[serde(skip)]
    pub name: QualName,
    /// `pg_get_function_identity_arguments`; empty for `agg(*)`. An
    /// ordered-set aggregate's hold `ORDER BY`.
    pub args: String,
    pub sfunc: String,
    pub stype: String,
    pub sspace: i32,
    pub finalfunc: Option<String>,
    pub finalfunc_extra: bool,
    /// `r`ead only, `s`hareable or `w`rite.
    pub finalfunc_modify: String,
    pub combinefunc: Option<String>,
    pub serialfunc: Option<String>,
    pub deserialfunc: Option<String>,
    pub initcond: Option<String>,
    /// The moving-aggregate forward function; with it the rest below.
    pub msfunc: Option<String>,
    pub minvfunc: Option<String>,
    pub mstype: Option<String>,
    pub msspace: i32,
    pub mfinalfunc: Option<String>,
    pub mfinalfunc_extra: bool,
    pub mfinalfunc_modify: String,
    pub minitcond: Option<String>,
    /// The sort operator's schema and name.
    pub sortop_schema: Option<String>,
    pub sortop: Option<String>,
    /// `pg_proc.proparallel`: `s`afe, `r`estricted or `u`nsafe.
    pub parallel: String,
    pub hypothetical: bool,
}

/// A final function's options (`FINALFUNC` or, with `prefix` `M`, the
/// moving aggregate's `MFINALFUNC`): its name, `_EXTRA`, `_MODIFY`.
fn final_options(
    opts: &mut Vec<String>,
    prefix: &str,
    f: &str,
    extra: bool,
    modify: &str,
    m: &Mapper,
) {
    opts.push(format!("{prefix}FINALFUNC = {}", m.sql(f)));
    if extra {
        opts.push(format!("{prefix}FINALFUNC_EXTRA"));
    }
    let modify = match modify {
        "r" => "READ_ONLY",
        "s" => "SHAREABLE",
        _ => "READ_WRITE",
    };
    opts.push(format!("{prefix}FINALFUNC_MODIFY = {modify}"));
}

/// `CREATE AGGREGATE` for `a`, under the schema map.
pub fn render_aggregate(a: &AggregateDef, m: &Mapper) -> String {
    let args = if a.args.is_empty() {
        "*".to_string()
    } else {
        m.sql(&a.args)
    };
    let mut opts = vec![
        format!("SFUNC = {}", m.sql(&a.sfunc)),
        format!("STYPE = {}", m.sql(&a.stype)),
    ];
    if a.sspace != 0 {
        opts.push(format!("SSPACE = {}", a.sspace));
    }
    if let Some(f) = &a.finalfunc {
        final_options(&mut opts, "", f, a.finalfunc_extra, &a.finalfunc_modify, m);
    }
    for (key, f) in [
        ("COMBINEFUNC", &a.combinefunc),
        ("SERIALFUNC", &a.serialfunc),
        ("DESERIALFUNC", &a.deserialfunc),
    ] {
        if let Some(f) = f {
            opts.push(format!("{key} = {}", m.sql(f)));
        }
    }
    if let Some(v) = &a.initcond {
        opts.push(format!("INITCOND = {}", quote_literal(v)));
    }
    if let (Some(ms), Some(minv), Some(mstype)) = (&a.msfunc, &a.minvfunc, &a.mstype) {
        opts.push(format!("MSFUNC = {}", m.sql(ms)));
        opts.push(format!("MINVFUNC = {}", m.sql(minv)));
        opts.push(format!("MSTYPE = {}", m.sql(mstype)));
        if a.msspace != 0 {
            opts.push(format!("MSSPACE = {}", a.msspace));
        }
        if let Some(f) = &a.mfinalfunc {
            final_options(
                &mut opts,
                "M",
                f,
                a.mfinalfunc_extra,
                &a.mfinalfunc_modify,
                m,
            );
        }
        if let Some(v) = &a.minitcond {
            opts.push(format!("MINITCOND = {}", quote_literal(v)));
        }
    }
    if let (Some(schema), Some(op)) = (&a.sortop_schema, &a.sortop) {
        // An operator's name is symbols: only its schema is an identifier.
        opts.push(format!(
            "SORTOP = OPERATOR({}.{op})",
            quote_ident(m.schema(schema))
        ));
    }
    match a.parallel.as_str() {
        "s" => opts.push("PARALLEL = SAFE".into()),
        "r" => opts.push("PARALLEL = RESTRICTED".into()),
        _ => {}
    }
    if a.hypothetical {
        opts.push("HYPOTHETICAL".into());
    }
    format!(
        "CREATE AGGREGATE {}({args}) ({})",
        m.q(&a.name),
        opts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::model::tests::mapper;

    #[test]
    fn a_plain_aggregate_of_no_arguments_keeps_its_star() {
        let a = AggregateDef {
            name: QualName::new("local_app", "tally"),
            sfunc: "int8inc".into(),
            stype: "bigint".into(),
            initcond: Some("0".into()),
            parallel: "u".into(),
            ..AggregateDef::default()
        };
        assert_eq!(
            render_aggregate(&a, &mapper()),
            "CREATE AGGREGATE \"public\".\"tally\"(*) (SFUNC = int8inc, STYPE = bigint, INITCOND = '0')"
        );
    }

    #[test]
    fn every_option_is_written_and_mapped_but_initial_states_are_data() {
        let a = AggregateDef {
            name: QualName::new("local_app", "Avg Money"),
            args: "local_app.money2".into(),
            sfunc: "local_app.acc".into(),
            stype: "local_app.state".into(),
            sspace: 64,
            finalfunc: Some("local_app.fin".into()),
            finalfunc_extra: true,
            finalfunc_modify: "s".into(),
            combinefunc: Some("local_app.comb".into()),
            serialfunc: Some("local_app.ser".into()),
            deserialfunc: Some("local_app.deser".into()),
            // A state that names the schema is data: not renamed.
            initcond: Some("(0,local_app's)".into()),
            msfunc: Some("local_app.acc".into()),
            minvfunc: Some("local_app.unacc".into()),
            mstype: Some("local_app.state".into()),
            msspace: 32,
            mfinalfunc: Some("local_app.fin".into()),
            mfinalfunc_extra: false,
            mfinalfunc_modify: "r".into(),
            minitcond: Some("(0,0)".into()),
            sortop_schema: Some("local_app".into()),
            sortop: Some("<<".into()),
            parallel: "s".into(),
            hypothetical: false,
        };
        assert_eq!(
            render_aggregate(&a, &mapper()),
            "CREATE AGGREGATE \"public\".\"Avg Money\"(public.money2) (SFUNC = public.acc, \
             STYPE = public.state, SSPACE = 64, FINALFUNC = public.fin, FINALFUNC_EXTRA, \
             FINALFUNC_MODIFY = SHAREABLE, COMBINEFUNC = public.comb, SERIALFUNC = public.ser, \
             DESERIALFUNC = public.deser, INITCOND = '(0,local_app''s)', MSFUNC = public.acc, \
             MINVFUNC = public.unacc, MSTYPE = public.state, MSSPACE = 32, MFINALFUNC = public.fin, \
             MFINALFUNC_MODIFY = READ_ONLY, MINITCOND = '(0,0)', SORTOP = OPERATOR(\"public\".<<), \
             PARALLEL = SAFE)"
        );
    }

    #[test]
    fn ordered_and_hypothetical_set_aggregates() {
        let a = AggregateDef {
            name: QualName::new("app", "my_rank"),
            args: "VARIADIC \"any\" ORDER BY VARIADIC \"any\"".into(),
            sfunc: "ordered_set_transition_multi".into(),
            stype: "internal".into(),
            finalfunc: Some("rank_final".into()),
            finalfunc_extra: true,
            finalfunc_modify: "w".into(),
            parallel: "u".into(),
            hypothetical: true,
            ..AggregateDef::default()
        };
        assert_eq!(
            render_aggregate(&a, &mapper()),
            "CREATE AGGREGATE \"app\".\"my_rank\"(VARIADIC \"any\" ORDER BY VARIADIC \"any\") \
             (SFUNC = ordered_set_transition_multi, STYPE = internal, FINALFUNC = rank_final, \
             FINALFUNC_EXTRA, FINALFUNC_MODIFY = READ_WRITE, HYPOTHETICAL)"
        );
    }
}
