//! Input layout shared by the targets: `[u32 LE length of the .shp][.shp bytes][.dbf bytes]`,
//! written as ZD.shp / ZD.dbf (and a .cpg when the first byte of the .dbf part is odd) into a
//! per-process folder in /dev/shm, because the readers take paths, as users give them.

use std::path::PathBuf;

pub fn write_layer(data: &[u8]) -> Option<PathBuf> {
    let len = u32::from_le_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let rest = &data[4..];
    let (shp, dbf) = rest.split_at(len.min(rest.len()));
    let dir = std::env::temp_dir().join(format!("cadastre-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(dir.join("ZD.shp"), shp).ok()?;
    std::fs::write(dir.join("ZD.dbf"), dbf).ok()?;
    let cpg = dir.join("ZD.cpg");
    if dbf.first().is_some_and(|b| b % 2 == 1) {
        std::fs::write(&cpg, "GBK").ok()?;
    } else {
        let _ = std::fs::remove_file(&cpg);
    }
    Some(dir.join("ZD.shp"))
}
