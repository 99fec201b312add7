//! Name resolution: an outlet, expert or topic referenced by slug, name or alias,
//! case- and accent-insensitively ("Robert Huebert" finds "Rob Huebert").
//! The whole name table is small (hundreds of rows), so it is held in memory for
//! the length of one import or one request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QuerySelect, Statement,
};

use crate::domain::name_key;
use crate::entities::{expert, outlet, topic};
use crate::error::AppResult;

/// Slug and name lookups for one kind of named thing.
#[derive(Clone, Debug, Default)]
pub struct Names {
    by_slug: HashMap<String, i32>,
    by_key: HashMap<String, i32>,
    /// Display names for suggestions.
    display: Vec<(String, i32)>,
}

impl Names {
    /// Registers a record under its slug, name and aliases.
    pub fn add(&mut self, id: i32, slug: &str, name: &str, aliases: &[String]) {
        self.by_slug.insert(slug.to_owned(), id);
        for n in std::iter::once(name).chain(aliases.iter().map(String::as_str)) {
            let k = name_key(n);
            if !k.is_empty() {
                self.by_key.entry(k).or_insert(id);
            }
        }
        self.display.push((name.to_owned(), id));
    }

    /// Finds a record by exact slug, then by folded name or alias.
    pub fn find(&self, reference: &str) -> Option<i32> {
        let r = reference.trim();
        self.by_slug
            .get(r)
            .or_else(|| self.by_key.get(&name_key(r)))
            .copied()
    }

    pub fn has_slug(&self, slug: &str) -> bool {
        self.by_slug.contains_key(slug)
    }

    /// Up to three existing names closest to `reference`, best first.
    pub fn suggest(&self, reference: &str) -> Vec<String> {
        let want = name_key(reference);
        let mut scored: Vec<(usize, &String)> = self
            .display
            .iter()
            .map(|(n, _)| (edit_distance(&want, &name_key(n)), n))
            .filter(|(d, n)| *d <= (n.len() / 2).max(3))
            .collect();
        scored.sort();
        scored.into_iter().take(3).map(|(_, n)| n.clone()).collect()
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Lookups for outlets, experts and topics.
#[derive(Clone, Debug, Default)]
pub struct Resolver {
    pub outlets: Names,
    pub experts: Names,
    pub topics: Names,
}

impl Resolver {
    /// Loads every outlet, expert and topic name (three queries).
    pub async fn load(db: &impl ConnectionTrait) -> AppResult<Self> {
        let mut r = Resolver {
            outlets: named::<outlet::Entity>(
                db,
                [
                    outlet::Column::Id,
                    outlet::Column::Slug,
                    outlet::Column::Name,
                    outlet::Column::Aliases,
                ],
            )
            .await?,
            experts: named::<expert::Entity>(
                db,
                [
                    expert::Column::Id,
                    expert::Column::Slug,
                    expert::Column::Name,
                    expert::Column::Aliases,
                ],
            )
            .await?,
            topics: Names::default(),
        };
        let topics: Vec<(i32, String, String)> = topic::Entity::find()
            .select_only()
            .columns([topic::Column::Id, topic::Column::Slug, topic::Column::Name])
            .into_tuple()
            .all(db)
            .await?;
        for (id, slug, name) in topics {
            r.topics.add(id, &slug, &name, &[]);
        }
        Ok(r)
    }
}

/// The names of every row of `E`, read by `[id, slug, name, aliases]`.
async fn named<E: EntityTrait>(
    db: &impl ConnectionTrait,
    columns: [E::Column; 4],
) -> AppResult<Names> {
    let rows: Vec<(i32, String, String, serde_json::Value)> = E::find()
        .select_only()
        .columns(columns)
        .into_tuple()
        .all(db)
        .await?;
    let mut names = Names::default();
    for (id, slug, name, aliases) in rows {
        names.add(id, &slug, &name, &super::experts::aliases(&aliases));
    }
    Ok(names)
}

/// A summary of the name tables that changes whenever a name does: the count
/// and the latest change of outlets, experts and topics (one statement).
pub async fn fingerprint(db: &impl ConnectionTrait) -> AppResult<String> {
    let sql = "SELECT COALESCE(CAST((SELECT COUNT(*) FROM outlets) AS TEXT), '') || '|' || \
               COALESCE(CAST((SELECT MAX(updated_at) FROM outlets) AS TEXT), '') || '|' || \
               COALESCE(CAST((SELECT COUNT(*) FROM experts) AS TEXT), '') || '|' || \
               COALESCE(CAST((SELECT MAX(updated_at) FROM experts) AS TEXT), '') || '|' || \
               COALESCE(CAST((SELECT COUNT(*) FROM topics) AS TEXT), '') || '|' || \
               COALESCE(CAST((SELECT MAX(updated_at) FROM topics) AS TEXT), '') AS fp";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?;
    Ok(row
        .and_then(|r| r.try_get::<String>("", "fp").ok())
        .unwrap_or_default())
}

/// Which database a connection reaches (a file, or a server and database).
fn identity(db: &DatabaseConnection) -> String {
    match db.get_database_backend() {
        DbBackend::Sqlite => db
            .get_sqlite_connection_pool()
            .connect_options()
            .get_filename()
            .display()
            .to_string(),
        DbBackend::Postgres => {
            let o = db.get_postgres_connection_pool().connect_options();
            format!(
                "{}:{}/{}",
                o.get_host(),
                o.get_port(),
                o.get_database().unwrap_or_default()
            )
        }
        _ => String::new(),
    }
}

/// The name tables of each database, with the fingerprint they were read at.
type Cache = HashMap<String, (String, Arc<Resolver>)>;
static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

impl Resolver {
    /// The name tables as `conn` (the database `db` reaches, or a transaction
    /// on it) sees them, read again only when their fingerprint moved: a write
    /// then costs one small statement instead of three table reads.
    pub async fn shared(
        db: &DatabaseConnection,
        conn: &impl ConnectionTrait,
    ) -> AppResult<Arc<Resolver>> {
        let fp = fingerprint(conn).await?;
        let id = identity(db);
        let hit = CACHE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .and_then(|c| c.get(&id))
            .filter(|(f, _)| *f == fp)
            .map(|(_, r)| r.clone());
        if let Some(r) = hit {
            return Ok(r);
        }
        // Read after the fingerprint: what is kept is never older than its key.
        let r = Arc::new(Resolver::load(conn).await?);
        CACHE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(HashMap::new)
            .insert(id, (fp, r.clone()));
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_slug_name_and_alias_and_suggests_close_names() {
        let mut n = Names::default();
        n.add(1, "rob-huebert", "Rob Huebert", &["Robert Huebert".into()]);
        n.add(2, "celine-galipeau", "Céline Galipeau", &[]);
        assert_eq!(n.find("rob-huebert"), Some(1));
        assert_eq!(n.find("ROBERT HUEBERT"), Some(1));
        assert_eq!(n.find("celine galipeau"), Some(2));
        assert_eq!(n.find("Nobody"), None);
        assert_eq!(n.suggest("Rob Hubert"), vec!["Rob Huebert".to_string()]);
    }
}
