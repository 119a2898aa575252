//! A run of numbers issued by one allocation call, and the codes it stands for.

use crate::code::{BuildingCode, ParcelCode, UnitCode};
use crate::record::{AnyCode, Scope};

use super::AllocError;

/// A contiguous run of numbers issued in one call: `first..=last` of `scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued {
    /// The counter the numbers come from.
    pub scope: Scope,
    /// First number issued.
    pub first: u32,
    /// Last number issued (`first + n - 1`).
    pub last: u32,
}

impl Issued {
    /// The numbers issued.
    pub fn numbers(&self) -> std::ops::RangeInclusive<u32> {
        self.first..=self.last
    }

    /// How many numbers were issued.
    pub fn len(&self) -> u32 {
        self.last + 1 - self.first
    }

    /// Never true for a successful allocation; present for clippy's `len` rule.
    pub fn is_empty(&self) -> bool {
        self.last < self.first
    }

    /// The issued codes, in order.
    pub fn codes(&self) -> Result<Vec<AnyCode>, AllocError> {
        self.numbers().map(|n| self.scope.code(n).map_err(AllocError::from)).collect()
    }

    /// The issued codes as parcel codes (empty unless a parcel scope).
    pub fn parcels(&self) -> Result<Vec<ParcelCode>, AllocError> {
        self.typed(|c| match c {
            AnyCode::Parcel(p) => Some(p),
            _ => None,
        })
    }

    /// The issued codes as building codes (empty unless a building scope).
    pub fn buildings(&self) -> Result<Vec<BuildingCode>, AllocError> {
        self.typed(|c| match c {
            AnyCode::Building(b) => Some(b),
            _ => None,
        })
    }

    /// The issued codes as unit codes (empty unless a household scope).
    pub fn units(&self) -> Result<Vec<UnitCode>, AllocError> {
        self.typed(|c| match c {
            AnyCode::Unit(u) => Some(u),
            _ => None,
        })
    }

    fn typed<T>(&self, pick: impl Fn(AnyCode) -> Option<T>) -> Result<Vec<T>, AllocError> {
        Ok(self.codes()?.into_iter().filter_map(pick).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_run_lists_its_codes() {
        let p: ParcelCode = "330106001002GB00042".parse().unwrap();
        let run = Issued { scope: Scope::buildings(p), first: 3, last: 5 };
        assert_eq!(run.len(), 3);
        let b = run.buildings().unwrap();
        assert_eq!(b.iter().map(|b| b.number()).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert!(run.parcels().unwrap().is_empty());
    }
}
