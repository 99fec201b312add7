//! `idempotency_keys`: the first answer to a POST sent with an `Idempotency-Key`,
//! replayed when the same caller sends the same key and body again.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    /// The caller (`user:<id>`, `key:<id>`): keys of different callers never meet.
    #[sea_orm(primary_key, auto_increment = false)]
    pub actor: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// SHA-256 of a server-secret key, method, path and body (keyed: the body
    /// may hold a password).
    pub request_hash: String,
    /// The answer's status; 0 while the first request is still running.
    pub status: i32,
    pub location: Option<String>,
    pub response: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
