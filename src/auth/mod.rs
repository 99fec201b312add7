//! Who is asking. Authentication (token -> `Actor`) happens at the edge; the service
//! layer decides what an actor may see and do (`Actor::can_see_drafts`, `require`).

pub mod jwt;

use crate::domain::Role;
use crate::error::{AppError, AppResult};

/// The caller of a service function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The public: published content whose publish time has passed.
    Anonymous,
    /// A signed-in user or API key.
    User { subject: String, role: Role },
    /// The server itself (CLI import, demo seed): full rights.
    System,
    /// A reader signed in by e-mail (`services::readers`): the public's view
    /// of content and their own account, none of the contributors', editors'
    /// or admins' powers.
    Reader { id: i32 },
}

impl Actor {
    pub fn role(&self) -> Option<Role> {
        match self {
            Actor::Anonymous => None,
            Actor::User { role, .. } => Some(*role),
            Actor::System => Some(Role::Admin),
            Actor::Reader { .. } => None,
        }
    }

    /// The account behind a token (`user:<id>`, `key:<id>`), if any.
    pub fn subject(&self) -> Option<&str> {
        match self {
            Actor::User { subject, .. } => Some(subject),
            _ => None,
        }
    }

    /// The account a request acts for, as its token's subject names it
    /// (`user:<id>`, `key:<id>`, `reader:<id>`): whose `Idempotency-Key`s
    /// its keys are. None for the public and the server itself.
    pub fn account(&self) -> Option<String> {
        match self {
            Actor::User { subject, .. } => Some(subject.clone()),
            Actor::Reader { id } => Some(format!("reader:{id}")),
            Actor::Anonymous | Actor::System => None,
        }
    }

    /// Editors and admins see drafts, archived and scheduled content.
    pub fn can_see_drafts(&self) -> bool {
        matches!(self.role(), Some(Role::Editor | Role::Admin))
    }

    /// Is this the public (no credentials)?
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Actor::Anonymous)
    }

    /// The reader behind a reader's token, if that is who asks.
    pub fn reader(&self) -> Option<i32> {
        match self {
            Actor::Reader { id } => Some(*id),
            _ => None,
        }
    }

    /// Refuses unless the actor holds at least `role` (a reader never does).
    pub fn require(&self, role: Role) -> AppResult<()> {
        if matches!(self, Actor::Reader { .. }) {
            return Err(AppError::Forbidden(format!(
                "requires the {role} role; readers cannot change content"
            )));
        }
        match self.role() {
            None => Err(AppError::Unauthenticated),
            Some(have) if rank(have) >= rank(role) => Ok(()),
            Some(_) => Err(AppError::Forbidden(format!("requires the {role} role"))),
        }
    }
}

fn rank(r: Role) -> u8 {
    match r {
        Role::Contributor => 1,
        Role::Editor => 2,
        Role::Admin => 3,
    }
}
