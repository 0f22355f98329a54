//! The real-schema corpus: schemas other projects wrote (see
//! `tests/corpora/README.md`), fetched by `scripts/corpus.sh` from the
//! package registries into `target/corpora` (or `$PGBARGE_CORPUS_DIR`).
//! Each is loaded into the source with psql as its users load it, then
//! must move whole: a copy with `--verify` whose target pg_dump shows the
//! same schema and whose rows are the same, a copy under a schema rename
//! and back again that gives the source once more, a dump restored under
//! the rename, and a `.sql.gz` dump that psql restores to the source.
//!
//! A missing corpus fails the run: `scripts/test.sh` fetches it first.

use std::path::PathBuf;
use std::process::Command;

use crate::schema::{assert_same_text, pg_dump_schema};
use crate::support::*;

fn corpus_dir() -> PathBuf {
    std::env::var_os("PGBARGE_CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/corpora"))
}

/// The schema a corpus loads into, from the corpus's SOURCES line.
fn schema_of(name: &str) -> String {
    let dir = corpus_dir();
    let sources = std::fs::read_to_string(dir.join("SOURCES")).unwrap_or_else(|e| {
        panic!(
            "the real-schema corpus is missing ({}: {e}); run scripts/corpus.sh \
             (scripts/test.sh does) or set PGBARGE_CORPUS_DIR",
            dir.display()
        )
    });
    sources
        .lines()
        .find_map(|l| {
            let mut f = l.split('\t');
            (f.next() == Some(name))
                .then(|| f.next().unwrap_or("").trim_start_matches('=').to_string())
        })
        .unwrap_or_else(|| panic!("corpus {name} is not in {}/SOURCES", dir.display()))
}

fn psql_file(url: &str, file: &std::path::Path) {
    let out = Command::new(pg_bin().join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f"])
        .arg(file)
        .output()
        .expect("running psql");
    assert!(
        out.status.success(),
        "loading {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Roles the corpus database's objects belong to or are granted to,
/// created on the target too (as a user creates them before a move), so
/// owners and grants come along. Only those: roles are shared by the
/// cluster, and others (made by tests that need a role to be missing on
/// the target) must stay off it.
fn same_roles_on_target(src_db: &str) {
    let s = servers();
    let roles: Vec<String> = s
        .source
        .client(src_db)
        .query(
            "SELECT DISTINCT r.rolname::text FROM pg_catalog.pg_shdepend d \
               JOIN pg_catalog.pg_roles r ON r.oid = d.refobjid \
              WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass \
                AND d.dbid = (SELECT oid FROM pg_catalog.pg_database \
                               WHERE datname = pg_catalog.current_database()) \
                AND r.rolname !~ '^pg_' AND r.rolname <> 'postgres'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut t = s.target.client("postgres");
    for r in roles {
        t.batch_execute(&format!(
            "DO $$ BEGIN CREATE ROLE \"{r}\"; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ))
        .unwrap();
    }
}

/// Load, copy with verify, compare; then rename on the way there and
/// back, and compare again.
fn moves_whole(name: &str) {
    let s = servers();
    let schema = schema_of(name);
    let file = corpus_dir().join(format!("{name}.sql"));
    let src = s.source.fresh_db(name);
    psql_file(&s.source.url(&src), &file);
    same_roles_on_target(&src);
    let source_schema = pg_dump_schema(&s.source, &src);

    let dst = s.target.fresh_db(name);
    copy_full(&src, &dst, &["--verify"]).assert_code(0);
    assert_same_text(&source_schema, &pg_dump_schema(&s.target, &dst));
    assert_same_content(&src, &dst);

    // Under another name and back: the source again, as pg_dump sees it.
    let mid = s.target.fresh_db(&format!("{name}_mid"));
    let moved = format!("moved_{schema}");
    copy_full(
        &src,
        &mid,
        &["--schema-map", &format!("{schema}={moved}"), "--verify"],
    )
    .assert_code(0);
    let back = s.source.fresh_db(&format!("{name}_back"));
    let run = pgbarge(&[
        "copy",
        "--source",
        &s.target.url(&mid),
        "--target",
        &s.source.url(&back),
        "--schema-map",
        &format!("{moved}={schema}"),
    ]);
    run.assert_code(0);
    assert_same_text(&source_schema, &pg_dump_schema(&s.source, &back));

    // A dump of it, restored under the same map, gives what the copy gave.
    let dir = temp_dir();
    let out = dir.path().join("d");
    pgbarge(&[
        "dump",
        "--source",
        &s.source.url(&src),
        "--output",
        out.to_str().unwrap(),
    ])
    .assert_code(0);
    let restored = s.target.fresh_db(&format!("{name}_remap"));
    pgbarge(&[
        "restore",
        "--input",
        out.to_str().unwrap(),
        "--target",
        &s.target.url(&restored),
        "--schema-map",
        &format!("{schema}={moved}"),
    ])
    .assert_code(0);
    assert_same_text(
        &pg_dump_schema(&s.target, &mid),
        &pg_dump_schema(&s.target, &restored),
    );

    // The SQL script dump, restored by psql as a user would, gives the
    // source again, rows included.
    let script = dir.path().join("d.sql.gz");
    pgbarge(&[
        "dump",
        "--source",
        &s.source.url(&src),
        "--output",
        script.to_str().unwrap(),
    ])
    .assert_code(0);
    let via_psql = s.target.fresh_db(&format!("{name}_psql"));
    psql_restore_script(&script, &s.target, &via_psql);
    assert_same_text(&source_schema, &pg_dump_schema(&s.target, &via_psql));
    assert_same_content(&src, &via_psql);
}

macro_rules! corpus {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                moves_whole(stringify!($name));
            }
        )*
    };
}

corpus!(
    zabbix,
    powerdns,
    roundcube,
    mediawiki,
    icinga2,
    kamailio,
    bacula,
    pgq,
    graphile_worker,
    pgboss,
    sessions,
    rt,
    ejabberd,
    freeradius,
    davical,
    synapse,
);
