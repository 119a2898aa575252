//! Registering codes issued elsewhere (imported data) together with the
//! parcel and building codes they hang under.

use super::{AllocError, Allocator, AnyCode};

/// What [`register_with_ancestors`] did with a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// The code was new and is now current.
    New,
    /// The code was already current: nothing changed.
    AlreadyCurrent,
}

/// Register `code`, first registering its parcel and building if the registry
/// does not know them yet. Registering a code that is already current is not
/// an error, so importing the same data twice changes nothing; a retired code
/// is refused ([`AllocError::Retired`]), since it may never come back.
///
/// ```
/// use unit_code::alloc::{register_with_ancestors, Allocator, MemoryAllocator, Registered};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let alloc = MemoryAllocator::new();
/// let house = "330106001001GB00007F00020015".parse().unwrap();
/// assert_eq!(register_with_ancestors(&alloc, house).await?, Registered::New);
/// assert_eq!(register_with_ancestors(&alloc, house).await?, Registered::AlreadyCurrent);
/// // The parcel and the building came along, and numbering continues after them.
/// let building = "330106001001GB00007F0002".parse().unwrap();
/// assert_eq!(alloc.next_household(building).await?.as_str(), "330106001001GB00007F00020016");
/// # Ok::<_, unit_code::alloc::AllocError>(())
/// # }).unwrap();
/// ```
pub async fn register_with_ancestors<A: Allocator>(alloc: &A, code: AnyCode) -> Result<Registered, AllocError> {
    let mut chain = vec![code];
    while let Some(parent) = chain.last().and_then(AnyCode::parent) {
        chain.push(parent);
    }
    let mut outcome = Registered::AlreadyCurrent;
    // Ancestors first: a code can only be registered under a current parent.
    for c in chain.into_iter().rev() {
        outcome = match alloc.register(c).await {
            Ok(()) => Registered::New,
            Err(AllocError::AlreadyIssued { .. }) => Registered::AlreadyCurrent,
            Err(e) => return Err(e),
        };
    }
    Ok(outcome)
}
