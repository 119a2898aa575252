//! The apportionment set-up of a building (分摊树): zone names, shared spaces
//! entered by hand (plant rooms, halls not drawn on a floor), agreed shares,
//! and the input of the last run, which tells whether the result is stale.

use std::collections::BTreeMap;

use cadastre_core::apportion::{
    Apportion, ApportionError, ApportionInput, Apportionment, Area, SharedInput, ZoneInput,
};
use serde::{Deserialize, Serialize};

use super::BuildingUnits;

/// What the user set for the apportionment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApportionSetup {
    /// Names of the functional zones (功能区), by the GNQ id of the households.
    pub zones: Vec<ZoneInput>,
    /// Shared spaces entered here (the plan's spaces come from the plan).
    pub shared: Vec<SharedInput>,
    /// Agreed shares (协议分摊) by shared-space id: HH → m²; they must add up to the space.
    pub agreed: BTreeMap<String, BTreeMap<String, Area>>,
    /// The input of the last run (`None`: never run).
    pub last_run: Option<ApportionInput>,
}

/// Whether the shown result matches the data.
#[derive(Debug, Clone, PartialEq)]
pub enum Staleness {
    /// Never run.
    NeverRun,
    /// The last run used the current data.
    Current,
    /// Areas, spaces or shares changed since the last run (过期, re-run).
    Stale,
    /// The current data cannot be apportioned (missing areas...).
    Invalid(String),
}

impl BuildingUnits {
    /// The apportionment input from the current data: the households of the
    /// table with their measured 套内 (predicted when none is measured), the
    /// plan's shared spaces and outer-wall halves, the spaces entered by hand,
    /// zone names and agreed shares.
    pub fn apportion_input(&self) -> Result<ApportionInput, String> {
        let mut shared = self.plan.shared_inputs();
        shared.extend(self.setup.shared.iter().cloned());
        for s in &mut shared {
            if let Some(a) = self.setup.agreed.get(&s.id) {
                s.shares = Some(a.clone());
            }
        }
        let measured = self.table.current().all(|h| h.measured_inner.is_some());
        let mut input = self.table.to_apportion_input(measured, shared).map_err(|e| e.to_string())?;
        for z in &mut input.zones {
            if let Some(named) = self.setup.zones.iter().find(|n| n.id == z.id) {
                z.name.clone_from(&named.name);
            }
        }
        Ok(input)
    }

    /// Whether the last run is current.
    pub fn staleness(&self) -> Staleness {
        let current = self.apportion_input();
        match (&self.setup.last_run, current) {
            (None, _) => Staleness::NeverRun,
            (Some(_), Err(e)) => Staleness::Invalid(e),
            (Some(last), Ok(now)) if *last == now => Staleness::Current,
            (Some(_), Ok(_)) => Staleness::Stale,
        }
    }

    /// The result of the last run.
    pub fn last_result(&self) -> Option<Result<Apportionment, ApportionError>> {
        self.setup.last_run.as_ref().map(Apportion::apportion)
    }
}
