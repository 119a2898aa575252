//! Rounding exact shares to 0.01 m² so that they add up exactly (尾差处理).
//!
//! Every share is first rounded half-up to a hundredth. The residual (the
//! total minus the sum of the rounded shares) is then placed one hundredth at a
//! time: a positive residual goes (+0.01) to the shares that lost the most by
//! rounding, a negative one (-0.01) to those that gained the most (largest
//! remainder), ties broken by the recipient's key (unit id) so the result
//! never depends on input order.

use std::cmp::Ordering;

/// An exact non-negative share `num / den` in hundredths of a square metre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact {
    /// Numerator (hundredths × den).
    pub num: i128,
    /// Denominator, > 0.
    pub den: i128,
}

impl Exact {
    /// A whole number of hundredths.
    pub fn whole(h: i64) -> Self {
        Exact { num: i128::from(h), den: 1 }
    }

    /// `num/den` reduced to lowest terms.
    pub fn reduced(num: i128, den: i128) -> Self {
        let g = gcd(num.unsigned_abs(), den.unsigned_abs()).max(1) as i128;
        Exact { num: num / g, den: den / g }
    }

    /// As a float (for coefficients and display).
    pub fn to_f64(self) -> f64 {
        to_f64(self.num) / to_f64(self.den)
    }
}

/// Greatest common divisor.
pub fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One ±0.01 m² adjustment made while placing the residual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Adjustment {
    /// Index of the share that was adjusted.
    pub index: usize,
    /// +1 or -1 hundredth.
    pub delta: i64,
}

/// Rounded shares (in hundredths) that add up exactly to the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rounded {
    /// One value per input share, in input order.
    pub values: Vec<i64>,
    /// The ±0.01 adjustments, sorted by index.
    pub adjustments: Vec<Adjustment>,
}

/// Rounds `shares` (whose exact sum must be `total`) to hundredths that add up
/// to `total` exactly. `key(i)` breaks ties between equal remainders (smaller key
/// first).
///
/// ```
/// use cadastre_core::apportion::residual::{distribute, Exact};
/// // 100.00 m² among three equal units: 33.33 each, the residual 0.01 goes to
/// // the smallest key.
/// let thirds = vec![Exact { num: 10_000, den: 3 }; 3];
/// let r = distribute(10_000, &thirds, |i| ["0103", "0101", "0102"][i]);
/// assert_eq!(r.values, vec![3333, 3334, 3333]);
/// assert_eq!(r.adjustments.len(), 1);
/// ```
pub fn distribute<'k, K: Ord + ?Sized + 'k>(total: i64, shares: &[Exact], key: impl Fn(usize) -> &'k K) -> Rounded {
    let mut values = Vec::with_capacity(shares.len());
    // remainder = exact - rounded, as a fraction over the share's denominator.
    let mut rems = Vec::with_capacity(shares.len());
    for s in shares {
        // half-up: floor(x + 1/2) = floor((2num + den) / 2den)
        const SMALL: i128 = (i64::MAX / 4) as i128;
        let q = if s.num.abs() < SMALL && s.den < SMALL {
            // 64-bit division is several times faster than 128-bit
            ((2 * s.num as i64 + s.den as i64).div_euclid(2 * s.den as i64)) as i128
        } else {
            (2 * s.num + s.den).div_euclid(2 * s.den)
        };
        values.push(q as i64);
        let rem = s.num - q * s.den;
        rems.push((rem, s.den, to_f64(rem) / to_f64(s.den)));
    }
    let residual = total - values.iter().sum::<i64>();
    let mut adjustments = Vec::new();
    if residual != 0 {
        let want = residual.unsigned_abs() as usize;
        let mut order: Vec<usize> = (0..shares.len()).collect();
        let cmp = |&a: &usize, &b: &usize| {
            let (ra, rb) = (rems[a], rems[b]);
            // floats decide unless the remainders are too close to call
            let by_rem =
                if (ra.2 - rb.2).abs() > 1e-9 { ra.2.total_cmp(&rb.2) } else { cmp_frac(ra.0, ra.1, rb.0, rb.1) };
            // positive residual: largest remainder first; negative: smallest first
            let by_rem = if residual > 0 { by_rem.reverse() } else { by_rem };
            by_rem.then_with(|| key(a).cmp(key(b)))
        };
        let want = want.min(order.len());
        if want > 0 && want < order.len() {
            order.select_nth_unstable_by(want - 1, cmp);
        }
        let mut chosen = order[..want].to_vec();
        chosen.sort_unstable();
        let delta = residual.signum();
        for index in chosen {
            values[index] += delta;
            adjustments.push(Adjustment { index, delta });
        }
    }
    Rounded { values, adjustments }
}

/// i128 → f64 through i64 when it fits (a single instruction instead of a libcall).
fn to_f64(x: i128) -> f64 {
    match i64::try_from(x) {
        Ok(v) => v as f64,
        Err(_) => x as f64,
    }
}

/// Compares `a/b` with `c/d` exactly (b, d > 0) without overflow.
pub fn cmp_frac(a: i128, b: i128, c: i128, d: i128) -> Ordering {
    if let (Some(l), Some(r)) = (a.checked_mul(d), c.checked_mul(b)) {
        return l.cmp(&r);
    }
    match (a < 0, c < 0) {
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (true, true) => cmp_nonneg(c.unsigned_abs(), d.unsigned_abs(), a.unsigned_abs(), b.unsigned_abs()),
        (false, false) => cmp_nonneg(a.unsigned_abs(), b.unsigned_abs(), c.unsigned_abs(), d.unsigned_abs()),
    }
}

/// Continued-fraction comparison of non-negative fractions.
fn cmp_nonneg(mut a: u128, mut b: u128, mut c: u128, mut d: u128) -> Ordering {
    let mut flipped = false;
    loop {
        let (qa, qc) = (a / b, c / d);
        if qa != qc {
            let o = qa.cmp(&qc);
            return if flipped { o.reverse() } else { o };
        }
        let (ra, rc) = (a % b, c % d);
        let o = match (ra == 0, rc == 0) {
            (true, true) => return Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => {
                // a/b vs c/d with equal integer parts: compare b/ra vs d/rc, reversed
                (a, b, c, d) = (b, ra, d, rc);
                flipped = !flipped;
                continue;
            }
        };
        return if flipped { o.reverse() } else { o };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn half_up_without_residual() {
        // 89.50 × 0.15 = 13.425 → 13.43; 10.50 × 0.15 = 1.575 → 1.58 ... sum must match
        let shares = [Exact { num: 13_425, den: 10 }, Exact { num: 16_575, den: 10 }];
        let r = distribute(3000, &shares, |i| ["a", "b"][i]);
        // 13.425 → 13.43, 16.575 → 16.58: sum 30.01, one -0.01 on the tie broken by key "a"
        assert_eq!(r.values, vec![1342, 1658]);
        assert_eq!(r.adjustments, vec![Adjustment { index: 0, delta: -1 }]);
    }

    #[test]
    fn cmp_frac_handles_huge_values() {
        let big = i128::MAX / 3;
        assert_eq!(cmp_frac(big, big + 1, big - 1, big), Ordering::Greater);
        assert_eq!(cmp_frac(-big, big + 1, -(big - 1), big), Ordering::Less);
        assert_eq!(cmp_frac(2 * (big / 2), big / 2 * 4, 1, 2), Ordering::Equal);
        assert_eq!(cmp_frac(1, 3, 1, 2), Ordering::Less);
    }

    proptest! {
        #[test]
        fn rounded_shares_sum_exactly(total in 1i64..10_000_000, weights in prop::collection::vec(1i64..1_000_000, 1..60)) {
            let sum: i64 = weights.iter().sum();
            let shares: Vec<Exact> = weights.iter().map(|&w| Exact::reduced(i128::from(total) * i128::from(w), i128::from(sum))).collect();
            let keys: Vec<String> = (0..weights.len()).map(|i| format!("{i:04}")).collect();
            let r = distribute(total, &shares, |i| keys[i].as_str());
            prop_assert_eq!(r.values.iter().sum::<i64>(), total);
            for (v, s) in r.values.iter().zip(&shares) {
                // never more than one hundredth away from the exact share
                prop_assert!((i128::from(*v) * s.den - s.num).abs() < s.den);
            }
        }

        #[test]
        fn cmp_frac_agrees_with_cross_multiplication(a in -1_000_000i128..1_000_000, b in 1i128..1_000_000, c in -1_000_000i128..1_000_000, d in 1i128..1_000_000) {
            prop_assert_eq!(cmp_frac(a, b, c, d), (a * d).cmp(&(c * b)));
            // force the overflow-safe path with a common huge factor
            let f = i128::MAX / 1_000_000 / 1_000_000;
            prop_assert_eq!(cmp_nonneg_or_signed(a * f, b * f, c, d), (a * d).cmp(&(c * b)));
        }
    }

    fn cmp_nonneg_or_signed(a: i128, b: i128, c: i128, d: i128) -> Ordering {
        match (a < 0, c < 0) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (true, true) => cmp_nonneg(c.unsigned_abs(), d.unsigned_abs(), a.unsigned_abs(), b.unsigned_abs()),
            (false, false) => cmp_nonneg(a.unsigned_abs(), b.unsigned_abs(), c.unsigned_abs(), d.unsigned_abs()),
        }
    }
}
