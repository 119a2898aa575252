//! Allocation of parcel sequence numbers, building numbers and household
//! numbers (DOMAIN.md §4): dense (no gaps), unique under concurrency, in
//! batches, and a retired code is never reissued.
//!
//! [`Allocator`] is the capability; [`MemoryAllocator`] serves the desktop and
//! tests, [`PgAllocator`] (feature `postgres`) the shared database.

use std::future::Future;

use crate::code::{BuildingCode, CodeError, ParcelCode, ParcelFeature, SubdistrictCode, UnitCode};

#[cfg(feature = "postgres")]
mod group;
mod issued;
mod memory;
#[cfg(feature = "postgres")]
mod pg;
mod register;

pub use crate::record::{
    AnyCode, CodeRecord, CodeStatus, Level, Scope, MAX_BUILDING_NUMBER, MAX_HOUSEHOLD_NUMBER, MAX_PARCEL_SEQUENCE,
};
pub use issued::Issued;
pub use memory::MemoryAllocator;
pub(crate) use memory::State;
#[cfg(feature = "postgres")]
pub use pg::{migrate, PgAllocator};
pub use register::{register_with_ancestors, Registered};

/// Why an allocation, registration or retirement was refused.
///
/// `Clone`, so one failed group-committed transaction can answer every
/// request it carried.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AllocError {
    /// The scope has fewer free numbers than requested; nothing was allocated.
    #[error("{scope}: cannot allocate {requested} more, the limit is {limit}")]
    Exhausted {
        /// The scope (its display form).
        scope: String,
        /// The highest number the scope can hold.
        limit: u32,
        /// How many numbers were asked for.
        requested: u32,
    },
    /// The parcel (for buildings) or building (for households) was never issued or registered.
    #[error("unknown parent {parent}: issue or register it first")]
    UnknownParent {
        /// The missing parent code.
        parent: String,
    },
    /// The code (or the parent to allocate under) is retired.
    #[error("{code} is retired (historical) and is never reused")]
    Retired {
        /// The retired code.
        code: String,
    },
    /// The code was never issued or registered.
    #[error("unknown code {code}")]
    UnknownCode {
        /// The code.
        code: String,
    },
    /// Registering a code that already exists.
    #[error("{code} is already issued")]
    AlreadyIssued {
        /// The code.
        code: String,
    },
    /// A batch of zero, or more than the scope can ever hold.
    #[error("invalid batch size {requested}: must be 1..={limit}")]
    InvalidCount {
        /// What was asked for.
        requested: u32,
        /// The scope's limit.
        limit: u32,
    },
    /// A number could not be turned into a code.
    #[error(transparent)]
    Code(#[from] CodeError),
    /// A stored value that is not what the schema allows.
    #[error("corrupt registry row: {0}")]
    Corrupt(String),
    /// The database failed.
    #[cfg(feature = "postgres")]
    #[error("database error while {context}: {source}")]
    Database {
        /// The driver's error (shared by the requests of one group commit).
        #[source]
        source: std::sync::Arc<sqlx::Error>,
        /// What was being done.
        context: &'static str,
    },
}

#[cfg(feature = "postgres")]
impl AllocError {
    /// Wrap a database error with what was being done.
    pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> AllocError {
        move |source| AllocError::Database { source: std::sync::Arc::new(source), context }
    }
}

/// Allocation of dense, unique numbers, and the registry of issued codes.
///
/// All methods return `Send` futures, so an allocator shared in an `Arc` can
/// be used from many tokio tasks at once. A batch is all or nothing: either
/// every number is issued, contiguously, or none is.
///
/// ```
/// use unit_code::alloc::{Allocator, MemoryAllocator};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let alloc = MemoryAllocator::new();
/// let sub = "330106001002".parse().unwrap();
/// let gb = "GB".parse().unwrap();
/// let parcel = alloc.next_parcel(sub, gb).await?;
/// assert_eq!(parcel.as_str(), "330106001002GB00001");
/// let building = alloc.next_building(parcel).await?;
/// let flats = alloc.next_households(building, 3).await?;
/// assert_eq!(flats[2].as_str(), "330106001002GB00001F00010003");
/// // A retired code is never issued again: the counter only moves forward.
/// alloc.retire(flats[2].into()).await?;
/// assert_eq!(alloc.next_household(building).await?.as_str(), "330106001002GB00001F00010004");
/// # Ok::<_, unit_code::alloc::AllocError>(())
/// # }).unwrap();
/// ```
pub trait Allocator: Send + Sync {
    /// Issue the next `n` numbers of `scope` (contiguous) and record the codes as current.
    fn allocate(&self, scope: Scope, n: u32) -> impl Future<Output = Result<Issued, AllocError>> + Send;

    /// Mark `code` historical. It stays known and is never issued again.
    fn retire(&self, code: AnyCode) -> impl Future<Output = Result<(), AllocError>> + Send;

    /// Record a code issued elsewhere (imported data) as current. The counter
    /// of its scope moves to at least its number, so allocation continues after it.
    fn register(&self, code: AnyCode) -> impl Future<Output = Result<(), AllocError>> + Send;

    /// What the registry knows about `code`, if anything.
    fn record(&self, code: AnyCode) -> impl Future<Output = Result<Option<CodeRecord>, AllocError>> + Send;

    /// The highest number issued in `scope` so far (0 if none).
    fn last_issued(&self, scope: Scope) -> impl Future<Output = Result<u32, AllocError>> + Send;

    /// Codes registered directly under `parent` (buildings of a parcel, units
    /// of a building or parcel), any status, in code order.
    fn children(&self, parent: AnyCode) -> impl Future<Output = Result<Vec<CodeRecord>, AllocError>> + Send;

    /// Status of `code`, if known.
    fn status(&self, code: AnyCode) -> impl Future<Output = Result<Option<CodeStatus>, AllocError>> + Send {
        async move { Ok(self.record(code).await?.map(|r| r.status)) }
    }

    /// The next parcel code of `subdistrict` with feature `feature`.
    fn next_parcel(
        &self,
        subdistrict: SubdistrictCode,
        feature: ParcelFeature,
    ) -> impl Future<Output = Result<ParcelCode, AllocError>> + Send {
        async move { first(self.next_parcels(subdistrict, feature, 1).await?) }
    }

    /// `n` consecutive parcel codes.
    fn next_parcels(
        &self,
        subdistrict: SubdistrictCode,
        feature: ParcelFeature,
        n: u32,
    ) -> impl Future<Output = Result<Vec<ParcelCode>, AllocError>> + Send {
        async move { self.allocate(Scope::parcels(subdistrict, feature), n).await?.parcels() }
    }

    /// The next building on `parcel`.
    fn next_building(&self, parcel: ParcelCode) -> impl Future<Output = Result<BuildingCode, AllocError>> + Send {
        async move { first(self.next_buildings(parcel, 1).await?) }
    }

    /// `n` consecutive buildings on `parcel`.
    fn next_buildings(
        &self,
        parcel: ParcelCode,
        n: u32,
    ) -> impl Future<Output = Result<Vec<BuildingCode>, AllocError>> + Send {
        async move { self.allocate(Scope::buildings(parcel), n).await?.buildings() }
    }

    /// The next household unit of `building`.
    fn next_household(&self, building: BuildingCode) -> impl Future<Output = Result<UnitCode, AllocError>> + Send {
        async move { first(self.next_households(building, 1).await?) }
    }

    /// `n` consecutive household units of `building` (e.g. a whole building table).
    fn next_households(
        &self,
        building: BuildingCode,
        n: u32,
    ) -> impl Future<Output = Result<Vec<UnitCode>, AllocError>> + Send {
        async move { self.allocate(Scope::households(building), n).await?.units() }
    }
}

fn first<T>(v: Vec<T>) -> Result<T, AllocError> {
    v.into_iter().next().ok_or_else(|| AllocError::Corrupt("allocation returned no code".into()))
}

/// Check a batch size against the scope's limit.
pub(crate) fn check_count(scope: &Scope, n: u32) -> Result<(), AllocError> {
    if n == 0 || n > scope.limit() {
        return Err(AllocError::InvalidCount { requested: n, limit: scope.limit() });
    }
    Ok(())
}
