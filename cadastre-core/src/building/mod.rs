//! Buildings and the building table (楼盘表).
