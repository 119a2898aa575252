//! Coordinate-free packages carried across the air gap (离线摆渡) between the
//! internal zone and the government extranet. Filled in by the share-sync issue.
