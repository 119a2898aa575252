//! The block-by-block generator: draws each block, injects its defect,
//! allocates codes and fills attributes. Holds only counters between blocks,
//! so memory stays small whatever the district size.

use std::collections::HashMap;

use rand::seq::SliceRandom;
use rand::Rng;

use crate::codes;
use crate::config::{Config, Error};
use crate::defects::{inject, AttrAction, CodeAction, Injection, Rule};
use crate::layout::{self, Layout, Rect, DISTRICT};
use cadastre_core::area::{round2, PlanarArea};

use crate::model::{polygon, Block, Building, CadastralDistrict, Counts, Defect, Parcel, SubDistrict, Truth};
use crate::shape::{draw_block, rect_ring, BlockKind, Side};
use crate::tables::{self, Featured};

/// Sub-district names (街道 of 西湖区), numbered once they run out.
const SUBDISTRICT_NAMES: [&str; 10] = ["文新", "翠苑", "古荡", "西溪", "北山", "灵隐", "转塘", "留下", "蒋村", "三墩"];
const VILLAGES: [&str; 6] = ["龙坞村", "外桐坞村", "上城埭村", "何家村", "大清村", "长埭村"];

/// Streams a district block by block.
///
/// ```
/// use cadastre_samples::{Config, Generator};
/// let mut g = Generator::new(&Config::new(50).with_seed(3))?;
/// let mut parcels = 0;
/// for block in g.by_ref() {
///     parcels += block?.parcels.len();
/// }
/// assert_eq!(parcels, 50);
/// assert_eq!(g.counts().parcels, 50);
/// # Ok::<(), cadastre_samples::Error>(())
/// ```
#[derive(Debug)]
pub struct Generator {
    config: Config,
    layout: Layout,
    plan: HashMap<u32, (u32, Rule)>,
    next: u32,
    seq: HashMap<(usize, &'static str), u32>,
    house_no: HashMap<(u32, bool), u32>,
    counts: Counts,
}

impl Generator {
    /// Plans the district and the defect blocks.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad configuration, [`Error::TooManyDefects`]
    /// when the district has too few suitable blocks.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let layout = Layout::new(config)?;
        let plan = plan_defects(config, &layout)?;
        Ok(Self {
            config: config.clone(),
            counts: Counts {
                subdistricts: layout.subdistricts() as u64,
                blocks: u64::from(layout.blocks()),
                ..Counts::default()
            },
            layout,
            plan,
            next: 0,
            seq: HashMap::new(),
            house_no: HashMap::new(),
        })
    }

    /// The street grid.
    #[must_use]
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counts so far (final once the iterator is exhausted).
    #[must_use]
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The truth record with the given defects and the counts so far.
    #[must_use]
    pub fn truth(&self, defects: Vec<Defect>) -> Truth {
        Truth {
            generator: format!("district-gen {}", env!("CARGO_PKG_VERSION")),
            seed: self.config.seed,
            crs: format!("EPSG:{}", self.config.epsg),
            counts: self.counts,
            defects,
        }
    }

    /// The cadastral district polygon and attributes.
    #[must_use]
    pub fn district(&self) -> CadastralDistrict {
        let g = polygon(rect_ring(self.layout.bounds), Vec::new());
        CadastralDistrict {
            bsm: 1,
            code: DISTRICT.into(),
            name: "西湖区城区地籍区".into(),
            area: round2(g.planar_area()),
            geometry: g,
        }
    }

    /// The sub-district polygons and attributes, south to north.
    #[must_use]
    pub fn subdistricts(&self) -> Vec<SubDistrict> {
        (0..self.layout.subdistricts())
            .map(|s| {
                let g = polygon(rect_ring(self.layout.subdistrict_rect(s)), Vec::new());
                let name = SUBDISTRICT_NAMES.get(s).map_or_else(|| format!("第{}", s + 1), |n| (*n).to_string());
                SubDistrict {
                    bsm: s as u64 + 1,
                    code: Layout::subdistrict_code(s),
                    name: format!("{name}地籍子区"),
                    area: round2(g.planar_area()),
                    geometry: g,
                }
            })
            .collect()
    }

    fn next_seq(&mut self, sub: usize, feature: &'static str) -> Result<String, Error> {
        let n = self.seq.entry((sub, feature)).or_insert(0);
        *n += 1;
        Ok(codes::parcel(&Layout::subdistrict_code(sub), feature, *n)?)
    }

    fn address(&mut self, street: u32, even: bool) -> String {
        let n = self.house_no.entry((street, even)).or_insert(0);
        *n += 1;
        let no = if even { 2 * *n } else { 2 * *n - 1 };
        format!("西湖区{}{no}号", Layout::street_name(street))
    }

    #[allow(clippy::too_many_lines)]
    fn make_block(&mut self, b: u32) -> Result<Block, Error> {
        let site = self.layout.site(b);
        let mut rng = layout::rng(self.config.seed, u64::from(b));
        let defect = self.plan.get(&b).copied();
        let village = b % 13 == 5;
        let commercial = !village && b % 5 == 1;
        let want_hole = !village && defect.is_none() && b % 7 == 3 && site.parcels >= 4;
        let tiny = matches!(defect, Some((_, Rule::Tiny)));
        let tiling = site.parcels - u32::from(tiny);
        let mut shape = draw_block(
            site.rect,
            BlockKind { tiling: tiling - u32::from(want_hole), hole: want_hole, village },
            &mut rng,
        );
        if shape.parcels.len() as u32 != tiling {
            // No parcel was wide enough for an inner parcel: draw a plain block instead.
            shape = draw_block(site.rect, BlockKind { tiling, hole: false, village }, &mut rng);
        }
        let inj: Option<(u32, Injection)> =
            defect.map(|(id, rule)| (id, inject(rule, &mut shape, site.north_street, &mut rng)));
        let code_action = inj.as_ref().map_or(CodeAction::None, |(_, i)| i.code);
        let attr_action = inj.as_ref().map_or(AttrAction::None, |(_, i)| i.attr);

        let sub = site.subdistrict;
        let feature: &'static str = if village { "JC" } else { "GB" };
        let village_name = VILLAGES[(b / 13) as usize % VILLAGES.len()];
        let mut parcels: Vec<Parcel> = Vec::with_capacity(shape.parcels.len());
        for (i, ps) in shape.parcels.iter().enumerate() {
            let zddm = match code_action {
                CodeAction::Duplicate { source, target } if target == i => parcels[source].zddm.clone(),
                CodeAction::Foreign { parcel } if parcel == i => {
                    let other = if sub + 1 < self.layout.subdistricts() { sub + 1 } else { sub.saturating_sub(1) };
                    self.next_seq(other, feature)?
                }
                CodeAction::Malformed { parcel, variant } if parcel == i => {
                    malformed(&self.next_seq(sub, feature)?, variant)
                }
                _ => self.next_seq(sub, feature)?,
            };
            let address = if village {
                format!("西湖区转塘街道{village_name}{}号", i + 1)
            } else {
                match ps.side {
                    Side::North => self.address(site.row + 1, false),
                    _ => self.address(site.row, true),
                }
            };
            let land_use = match ps.side {
                _ if village => "0702",
                Side::Inner => "0809",
                Side::Whole => "08H2",
                _ if commercial => "05",
                _ if self.config.building_tables && b == 0 && (i == 0 || i == 3) => "05",
                _ if rng.gen_bool(0.1) => "05",
                _ => "0701",
            };
            let (right_type, right_nature) = match land_use {
                "0702" => ("5", "200"),
                "0809" | "08H2" => ("3", "101"),
                _ => ("3", "102"),
            };
            self.counts.parcels += 1;
            let geometry = polygon(ps.exterior.clone(), ps.holes.clone());
            parcels.push(Parcel {
                bsm: self.counts.parcels,
                bdcdyh: codes::land_unit(&zddm),
                zddm,
                feature: feature.into(),
                address,
                recorded_area: round2(geometry.planar_area()),
                land_use: land_use.into(),
                right_type: right_type.into(),
                right_nature: right_nature.into(),
                subdistrict: Layout::subdistrict_code(sub),
                block: b,
                geometry,
            });
        }

        let mut buildings = Vec::with_capacity(shape.buildings.len());
        let mut tables_out = Vec::new();
        let mut per_parcel = vec![0_u32; parcels.len()];
        for bs in &shape.buildings {
            let p = &parcels[bs.parcel];
            per_parcel[bs.parcel] += 1;
            let n = per_parcel[bs.parcel];
            let zrzh = codes::building(&p.zddm, n)?;
            let mut bd = new_building(p, &zrzh, n, bs.rect, &mut rng)?;
            self.counts.buildings += 1;
            bd.bsm = self.counts.buildings;
            if self.config.building_tables && b == 0 && n == 1 {
                if let Some(kind) = Featured::ORDER.get(bs.parcel) {
                    tables_out.push(tables::featured(*kind, &mut bd, &p.address, &mut rng)?);
                }
            }
            buildings.push(bd);
        }

        match attr_action {
            AttrAction::Area { parcel, sign } => {
                let s = parcels[parcel].recorded_area;
                let tol = 2.0 * 0.05 * s.sqrt();
                let delta = round2((8.0 * tol).max(5.0));
                parcels[parcel].recorded_area = round2(s + f64::from(sign) * delta);
            }
            AttrAction::MissingAddress { parcel } => parcels[parcel].address.clear(),
            AttrAction::MissingUse { parcel } => parcels[parcel].land_use.clear(),
            AttrAction::None => {}
        }

        let defect = inj.map(|(id, i)| record(id, b, &i, &parcels, &buildings, attr_action));
        Ok(Block { index: b, parcels, buildings, tables: tables_out, defect })
    }
}

/// Blocks in order, or why one could not be made (a code past its digits).
impl Iterator for Generator {
    type Item = Result<Block, Error>;
    fn next(&mut self) -> Option<Result<Block, Error>> {
        if self.next >= self.layout.blocks() {
            return None;
        }
        let b = self.next;
        self.next += 1;
        Some(self.make_block(b))
    }
}

fn new_building<R: Rng>(p: &Parcel, zrzh: &str, n: u32, r: Rect, rng: &mut R) -> Result<Building, Error> {
    let (above, below, use_) = match p.land_use.as_str() {
        "0702" => (rng.gen_range(2..=3), 0, "住宅"),
        "0809" => (1, 0, "公用设施"),
        "08H2" => (rng.gen_range(3..=5), 0, "教育"),
        "05" => (rng.gen_range(2..=5), rng.gen_range(0..=1), "商业"),
        _ => {
            let a = [6, 6, 11, 18, 26][rng.gen_range(0..5)];
            (a, if a > 6 { rng.gen_range(1..=2) } else { 0 }, "住宅")
        }
    };
    let structure = match (p.land_use.as_str(), above) {
        ("0702", _) => "砖混",
        (_, a) if a > 6 => "钢筋混凝土",
        ("05" | "08H2" | "0809", _) => "钢筋混凝土",
        _ => "混合",
    };
    let year = if p.land_use == "0702" { rng.gen_range(1985..=2015) } else { rng.gen_range(1992..=2023) };
    let footprint = round2(r.width() * r.height());
    let predicted = round2(footprint * f64::from(above + below));
    let measured = round2(predicted * (1.0 + rng.gen_range(-0.006..0.006)));
    let geometry = polygon(rect_ring(r), Vec::new());
    Ok(Building {
        bsm: 0,
        bdcdyh: codes::household(zrzh, 0)?,
        zddm: p.zddm.clone(),
        zrzh: zrzh.to_string(),
        name: format!("{}{n}幢", p.address),
        completed: format!("{year}{:02}{:02}", rng.gen_range(1..=12), rng.gen_range(1..=28)),
        footprint_area: footprint,
        predicted_area: predicted,
        measured_area: measured,
        floors: above + below,
        floors_above: above,
        floors_below: below,
        planned_use: use_.into(),
        structure: structure.into(),
        block: p.block,
        geometry,
    })
}

/// The code as a careless clerk might have typed it.
fn malformed(code: &str, variant: u32) -> String {
    match variant {
        0 => format!("{}{}{}", &code[..12], code[12..14].to_lowercase(), &code[14..]),
        1 => {
            let pos = code[14..].rfind('0').map_or(18, |p| p + 14);
            format!("{}O{}", &code[..pos], &code[pos + 1..])
        }
        _ => format!("{}{}", &code[..14], &code[15..]),
    }
}

fn record(
    id: u32,
    block: u32,
    inj: &Injection,
    parcels: &[Parcel],
    buildings: &[Building],
    attr: AttrAction,
) -> Defect {
    let mut objects: Vec<String> = Vec::new();
    let mut detail = inj.detail.clone();
    for (k, &p) in inj.parcels.iter().enumerate() {
        detail = detail.replace(&format!("{{{k}}}"), &parcels[p].zddm);
    }
    for (k, &bi) in inj.buildings.iter().enumerate() {
        detail = detail.replace(&format!("{{b{k}}}"), &buildings[bi].zrzh);
    }
    if inj.buildings.is_empty() {
        objects.extend(inj.parcels.iter().map(|&p| parcels[p].zddm.clone()));
    } else {
        objects.extend(inj.buildings.iter().map(|&bi| buildings[bi].zrzh.clone()));
    }
    if let AttrAction::Area { parcel, .. } = attr {
        let p = &parcels[parcel];
        let s = round2(p.geometry.planar_area());
        detail = format!(
            "ZDMJ of {} recorded as {:.2} m², computed {:.2} m², tolerance ±{:.2} m²",
            p.zddm,
            p.recorded_area,
            s,
            2.0 * 0.05 * s.sqrt()
        );
    }
    Defect {
        id,
        rule: inj.rule,
        objects,
        location: [round2(inj.location.x), round2(inj.location.y)],
        block,
        also: inj.also.clone(),
        detail,
    }
}

/// Chooses a distinct block for every requested defect.
fn plan_defects(config: &Config, layout: &Layout) -> Result<HashMap<u32, (u32, Rule)>, Error> {
    let rules = config.defects.rules();
    let mut out: HashMap<u32, Rule> = HashMap::new();
    if rules.is_empty() {
        return Ok(HashMap::new());
    }
    if layout.subdistricts() < 2 && rules.contains(&Rule::CodeConsistency) {
        return Err(Error::Config("code.consistency needs at least two sub-districts; use more parcels".into()));
    }
    let mut rng = layout::rng(config.seed, u64::MAX - 1);
    let eligible = |b: u32| {
        let s = layout.site(b);
        s.parcels >= 8 && b % 7 != 3 && !(config.building_tables && b == 0)
    };
    let mut border: Vec<u32> =
        (0..layout.blocks()).filter(|&b| eligible(b) && layout.site(b).north_is_border).collect();
    let mut any: Vec<u32> = (0..layout.blocks()).filter(|&b| eligible(b)).collect();
    border.shuffle(&mut rng);
    any.shuffle(&mut rng);
    let mut ordered = rules.clone();
    ordered.sort_by_key(|r| !r.needs_border());
    for rule in ordered {
        let pool = if rule.needs_border() { &mut border } else { &mut any };
        let wanted = rules.iter().filter(|&&r| r == rule).count() - out.values().filter(|&&r| r == rule).count();
        let Some(b) = pool.iter().copied().find(|b| !out.contains_key(b)) else {
            return Err(Error::TooManyDefects { rule: rule.to_string(), wanted, available: 0 });
        };
        pool.retain(|&x| x != b);
        out.insert(b, rule);
    }
    let mut blocks: Vec<u32> = out.keys().copied().collect();
    blocks.sort_unstable();
    Ok(blocks.iter().enumerate().map(|(i, b)| (*b, (i as u32 + 1, out[b]))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DefectPlan;

    #[test]
    fn malformed_codes_fail_the_format_check() {
        let good = "330106001001GB00120";
        for v in 0..3 {
            let bad = malformed(good, v);
            assert_ne!(bad, good);
            assert!(!codes::is_parcel_code(&bad), "{bad}");
        }
        assert_eq!(malformed("330106001001GB11111", 1), "330106001001GB1111O");
    }

    #[test]
    fn too_many_defects_is_an_error_not_a_panic() {
        let c = Config::new(100).with_defects(DefectPlan::Spread(500));
        let e = Generator::new(&c).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("suitable street blocks"), "{e}");
    }

    #[test]
    fn every_defect_gets_its_own_block() {
        let c = Config::new(5_000).with_seed(4).with_defects(DefectPlan::Spread(30));
        let g = Generator::new(&c).expect("generator");
        assert_eq!(g.plan.len(), 30);
        let mut ids: Vec<u32> = g.plan.values().map(|v| v.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=30).collect::<Vec<_>>());
    }
}
