//! Following the targets of `Location` entities: what a target leads to inside the location, and
//! why it cannot be followed.
//!
//! As in Backstage, a target without a type takes the type of the location it was read from, a
//! relative target resolves against the file that names it — for `type: url` as for `type: file`,
//! so a relative URL target inside a Git location is read from the same tree — and a target
//! marked `presence: optional` that cannot be read yields nothing: a missing file, directory
//! or glob base, a remote URL (no network reader here) or a type this Socle does not read. A
//! target that would leave the location is refused whatever its presence.

use socle_catalog::Presence;

use crate::source::{self, Source, SourceError};

/// The Location target types read here (relative targets, inside the location).
pub const READ_TYPES: [&str; 2] = ["file", "url"];

/// Why a Location target is not followed.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// A remote URL: this Socle reads no network locations.
    #[error(
        "Location target \"{target}\" of type {kind} cannot be read: this Socle reads targets inside the location only (no network reader is configured)"
    )]
    Remote { target: String, kind: String },
    /// A type no reader here knows (`github-discovery`, …).
    #[error(
        "Location target \"{target}\" of type {kind} cannot be read: this Socle reads targets of type file and url (relative to the file that names them)"
    )]
    UnknownType { target: String, kind: String },
    /// The target names nothing in the location (`looked_for`: where it was looked for).
    #[error("Location target \"{target}\" does not exist: there is no {looked_for}")]
    Missing { target: String, looked_for: String },
    /// The target is refused: it leaves the location, or is not a valid path or glob.
    #[error(transparent)]
    Refused(SourceError),
}

impl TargetError {
    /// Whether the target simply cannot be read (rather than being refused): what
    /// `presence: optional` forgives.
    pub fn is_unreadable(&self) -> bool {
        !matches!(self, TargetError::Refused(_))
    }
}

/// What following a target gives: files to read, or nothing (an optional target that cannot be
/// read).
pub fn follow(
    src: &dyn Source,
    from_file: &str,
    kind: Option<&str>,
    target: &str,
    presence: Presence,
) -> Result<Vec<String>, TargetError> {
    match resolve(src, from_file, kind, target) {
        Err(e) if presence == Presence::Optional && e.is_unreadable() => Ok(Vec::new()),
        other => other,
    }
}

/// The files a target leads to (relative to the source's root).
fn resolve(
    src: &dyn Source,
    from_file: &str,
    kind: Option<&str>,
    target: &str,
) -> Result<Vec<String>, TargetError> {
    let shown = || kind.unwrap_or("file").to_owned();
    if let Some(k) = kind
        && !READ_TYPES.contains(&k)
    {
        return Err(TargetError::UnknownType {
            target: target.to_owned(),
            kind: k.to_owned(),
        });
    }
    if target.contains("://") {
        return Err(TargetError::Remote {
            target: target.to_owned(),
            kind: shown(),
        });
    }
    let resolved =
        source::join_relative(source::parent(from_file), target).map_err(TargetError::Refused)?;
    crate::expand(src, &resolved).map_err(|e| match e {
        SourceError::Missing(looked_for) => TargetError::Missing {
            target: target.to_owned(),
            looked_for,
        },
        other => TargetError::Refused(other),
    })
}
