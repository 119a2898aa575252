//! Errors of apportionment input: each names the offending ids.

use super::Area;

/// Why an apportionment input was rejected. Nothing is guessed: each variant
/// names the ids involved so a surveyor can fix the table.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApportionError {
    /// The JSON could not be read into the input format.
    #[error("invalid apportionment input: {0}")]
    Format(String),
    /// The building has no units at all.
    #[error("building {building}: no units to apportion to")]
    NoUnits {
        /// Building code.
        building: String,
    },
    /// Two zones share an id.
    #[error("duplicate zone id {0:?}")]
    DuplicateZone(String),
    /// Two units share an id.
    #[error("duplicate unit id {0:?}")]
    DuplicateUnit(String),
    /// Two shared spaces share an id.
    #[error("duplicate shared space id {0:?}")]
    DuplicateShared(String),
    /// A unit names a zone that is not declared.
    #[error("unit {unit:?} is in unknown zone {zone:?}")]
    UnknownZoneOfUnit {
        /// Unit id.
        unit: String,
        /// The undeclared zone.
        zone: String,
    },
    /// A shared space serves a zone that is not declared.
    #[error("shared space {shared:?} serves unknown zone {zone:?}")]
    UnknownZoneOfShared {
        /// Shared space id.
        shared: String,
        /// The undeclared zone.
        zone: String,
    },
    /// A shared space names a unit that does not exist.
    #[error("shared space {shared:?} names unknown unit {unit:?}")]
    UnknownUnit {
        /// Shared space id.
        shared: String,
        /// The missing unit.
        unit: String,
    },
    /// A unit appears twice in one shared space's unit list or shares.
    #[error("shared space {shared:?} lists unit {unit:?} twice")]
    RepeatedUnitInScope {
        /// Shared space id.
        shared: String,
        /// The repeated unit.
        unit: String,
    },
    /// Floor 0 does not exist (basements are -1, -2, ...).
    #[error("{what} {id:?}: floor 0 does not exist (first floor is 1, basements are -1, -2, ...)")]
    FloorZero {
        /// "unit" or "shared space".
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A unit's inner area or a shared space's area is zero or negative.
    #[error("{what} {id:?}: area {area} m² must be positive")]
    NonPositiveArea {
        /// "unit" or "shared space".
        what: &'static str,
        /// Its id.
        id: String,
        /// The area given.
        area: Area,
    },
    /// An area beyond 10⁹ m² (1,000 km²): a unit error in the data, and the
    /// limit that keeps the exact arithmetic from overflowing.
    #[error("{what} {id:?}: area {area} m² is implausibly large (limit 1000000000 m²)")]
    AreaTooLarge {
        /// "unit" or "shared space".
        what: &'static str,
        /// Its id.
        id: String,
        /// The area given.
        area: Area,
    },
    /// `serves` must name exactly one scope.
    #[error("shared space {shared:?}: {reason}")]
    InvalidScope {
        /// Shared space id.
        shared: String,
        /// What is wrong with `serves`.
        reason: String,
    },
    /// The scope exists but contains no unit.
    #[error("shared space {shared:?} serves nothing: {reason}")]
    ServesNothing {
        /// Shared space id.
        shared: String,
        /// Which scope is empty.
        reason: String,
    },
    /// Agreed shares name a unit outside the served scope.
    #[error("shared space {shared:?}: agreed share for unit {unit:?}, which it does not serve")]
    AgreedShareOutsideScope {
        /// Shared space id.
        shared: String,
        /// The unit.
        unit: String,
    },
    /// Agreed shares must be ≥ 0.
    #[error("shared space {shared:?}: agreed share {share} m² for unit {unit:?} is negative")]
    NegativeAgreedShare {
        /// Shared space id.
        shared: String,
        /// The unit.
        unit: String,
        /// The share.
        share: Area,
    },
    /// Agreed shares must add up exactly to the shared area.
    #[error("shared space {shared:?}: agreed shares add up to {sum} m², not its area {area} m²")]
    AgreedSharesMismatch {
        /// Shared space id.
        shared: String,
        /// Sum of the agreed shares.
        sum: Area,
        /// The area of the shared space.
        area: Area,
    },
    /// Areas so large that exact arithmetic would overflow.
    #[error("shared space {shared:?}: areas too large for exact arithmetic")]
    Overflow {
        /// Shared space id.
        shared: String,
    },
}
