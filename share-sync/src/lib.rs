//! Coordinate-free packages carried across the air gap (离线摆渡) between the
//! internal zone and the government extranet.
#![allow(clippy::print_stdout)]

pub mod keys;
