//! `copy --rehearse`: the whole copy into a scratch database created on
//! the target server, verified with checksums, then dropped, so the real
//! target is left as it was. The scratch database is dropped on every
//! path out: success, failure and interruption.

use std::time::Instant;

use anyhow::anyhow;

use crate::catalog::quote_ident;
use crate::conn::{self, Role, Session};
use crate::error::{describe_pg, PgContext};
use crate::settings::{CopySettings, VerifySettings};
use crate::{Error, Result};

/// Run the rehearsal; `Ok(true)` when the copy and its verification
/// passed.
pub async fn rehearse(s: &CopySettings) -> Result<bool> {
    let admin = conn::connect(&s.target, Role::Target).await?;
    may_create_databases(&admin).await?;
    let stamp = crate::report::unix_now();
    let scratch = format!("pgbarge_rehearsal_{}_{stamp}", std::process::id());
    admin
        .client
        .batch_execute(&format!("CREATE DATABASE {}", quote_ident(&scratch)))
        .await
        .map_err(|e| {
            Error::Runtime(anyhow!(
                "creating the scratch database {scratch} on the target: {}",
                describe_pg(&e)
            ))
        })?;
    let say = |m: &str| {
        if !s.quiet {
            eprintln!("{m}");
        }
    };
    say(&format!(
        "rehearsal: copying into scratch database {scratch} on the target server (dropped afterwards)"
    ));
    let mut rs = s.clone();
    rs.target.dbname = scratch.clone();
    rs.rehearse = false;
    rs.clean = false;
    let t0 = Instant::now();
    let outcome = tokio::select! {
        r = run(&rs) => r,
        _ = crate::stop::wait() => Err(Error::Interrupted),
    };
    let dropped = drop_scratch(&admin, &scratch).await;
    let secs = t0.elapsed().as_secs_f64();
    match (&outcome, &dropped) {
        (_, Err(e)) => eprintln!("warning: {e:#}"),
        (Ok(true), Ok(())) => say(&format!(
            "rehearsal passed in {secs:.1}s: the copy and its verification succeeded; scratch \
             database {scratch} dropped, the target database {} is unchanged",
            s.target.dbname
        )),
        (_, Ok(())) => say(&format!(
            "rehearsal failed after {secs:.1}s; scratch database {scratch} dropped, the target \
             database {} is unchanged",
            s.target.dbname
        )),
    }
    outcome
}

async fn run(s: &CopySettings) -> Result<bool> {
    let report = crate::transfer::copy(s).await?;
    crate::print_summary(&report);
    if !report.ok {
        return Err(Error::Runtime(anyhow!(
            "the rehearsal copy failed for some tables (listed above); the real copy would too"
        )));
    }
    let v = crate::verify::verify(&VerifySettings::after_copy(s)).await?;
    crate::print_verify(&v);
    Ok(v.ok)
}

async fn may_create_databases(admin: &Session) -> Result<()> {
    let row = admin
        .client
        .query_one(
            "SELECT rolsuper OR rolcreatedb, current_user::text FROM pg_catalog.pg_roles \
              WHERE rolname = current_user",
            &[],
        )
        .await
        .pg_context(|| "reading the target role's rights".into())?;
    if !row.get::<_, bool>(0) {
        return Err(Error::usage(format!(
            "--rehearse needs to create a scratch database on the target server, and role {} may \
             not create databases (it lacks CREATEDB). Grant it (ALTER ROLE ... CREATEDB), rehearse \
             against another server you control, or check the copy with `pgbarge plan`",
            row.get::<_, String>(1)
        )));
    }
    Ok(())
}

async fn drop_scratch(admin: &Session, name: &str) -> anyhow::Result<()> {
    // WITH (FORCE) (13+) ends sessions a failed run may have left behind.
    let force = admin
        .client
        .query_one(
            "SELECT current_setting('server_version_num')::int >= 130000",
            &[],
        )
        .await
        .map(|r| r.get::<_, bool>(0))
        .unwrap_or(false);
    let sql = format!(
        "DROP DATABASE IF EXISTS {}{}",
        quote_ident(name),
        if force { " WITH (FORCE)" } else { "" }
    );
    admin.client.batch_execute(&sql).await.map_err(|e| {
        anyhow!(
            "the scratch database {name} could not be dropped: {}; drop it by hand",
            describe_pg(&e)
        )
    })
}
