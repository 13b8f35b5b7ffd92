//! Who may do what: the site-wide role of a user and their role in a project.
//!
//! Admins manage plugins and see every project; everyone else sees the projects they are a
//! member of. Within a project, roles are ordered `viewer < editor < owner`: viewers read,
//! editors also change images and annotations and train, owners also manage the project and
//! its members.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum UserRole {
    Admin,
    User,
}

impl UserRole {
    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Admin => "admin",
            UserRole::User => "user",
        }
    }
}

impl FromStr for UserRole {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(UserRole::Admin),
            "user" => Ok(UserRole::User),
            other => Err(FieldError::new("role", format!("unknown user role `{other}` (expected admin or user)"))),
        }
    }
}

/// A member's role in one project. The derived order is the order of privilege.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum ProjectRole {
    Viewer,
    Editor,
    Owner,
}

impl ProjectRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectRole::Viewer => "viewer",
            ProjectRole::Editor => "editor",
            ProjectRole::Owner => "owner",
        }
    }

    /// True when this role grants at least what `needed` grants.
    pub fn allows(self, needed: ProjectRole) -> bool {
        self >= needed
    }
}

impl FromStr for ProjectRole {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(ProjectRole::Viewer),
            "editor" => Ok(ProjectRole::Editor),
            "owner" => Ok(ProjectRole::Owner),
            other => Err(FieldError::new("role", format!("unknown project role `{other}` (expected owner, editor or viewer)"))),
        }
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ProjectRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `TryFrom<String>` lets the DB layer decode these text columns directly
/// (`#[sqlx(try_from = "String")]`).
macro_rules! try_from_string {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }
    )*};
}
try_from_string!(UserRole, ProjectRole, crate::AnnotationType, crate::AnnotationSource);

impl TryFrom<String> for crate::TaskType {
    type Error = crate::task::UnknownTaskType;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for crate::JobStatus {
    type Error = crate::job::UnknownJobStatus;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_privilege() {
        assert!(ProjectRole::Owner.allows(ProjectRole::Editor));
        assert!(ProjectRole::Editor.allows(ProjectRole::Viewer));
        assert!(!ProjectRole::Viewer.allows(ProjectRole::Editor));
        assert!(!ProjectRole::Editor.allows(ProjectRole::Owner));
    }

    #[test]
    fn roles_round_trip_and_reject_unknown() {
        for r in [ProjectRole::Viewer, ProjectRole::Editor, ProjectRole::Owner] {
            assert_eq!(ProjectRole::try_from(r.as_str().to_string()).unwrap(), r);
            assert_eq!(serde_json::to_value(r).unwrap(), serde_json::json!(r.as_str()));
        }
        assert_eq!("superuser".parse::<ProjectRole>().unwrap_err().field, "role");
        assert_eq!(UserRole::try_from("admin".to_string()).unwrap(), UserRole::Admin);
        assert!("root".parse::<UserRole>().is_err());
    }
}
