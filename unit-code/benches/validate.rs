//! Validation and parsing throughput on 1M pre-generated codes, in three
//! mixes: realistic (90 % clean, 5 % warnings, 5 % invalid), all clean, and
//! adversarial (uniformly random letters: many warnings, 20 % invalid).
//!
//! Run: `cargo bench -p unit-code --bench validate`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use unit_code::validate::{validate, validate_into, Options, Report};
use unit_code::CodeForm;
use unit_code::UnitCode;

const N: usize = 1_000_000;

/// Small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.below(10) as u8)).collect()
}

fn pick(rng: &mut Rng, set: &[u8]) -> char {
    char::from(set[rng.below(set.len() as u64) as usize])
}

/// A standard-conforming unit: F households, whole buildings, land units.
fn clean_code(rng: &mut Rng) -> String {
    let feature = ["GB", "GB", "GB", "GS", "GX", "JC", "JA", "JD", "GH", "ZW"][rng.below(10) as usize];
    let head = format!(
        "{}{:03}{:03}{feature}{:05}",
        ["330106", "411702", "370105", "441903"][rng.below(4) as usize],
        1 + rng.below(999),
        1 + rng.below(999),
        1 + rng.below(99_999),
    );
    match rng.below(10) {
        0 => format!("{head}W00000000"),
        1 => format!("{head}F{:04}0000", 1 + rng.below(99)),
        _ => format!("{head}F{:04}{:04}", 1 + rng.below(99), 1 + rng.below(999)),
    }
}

/// Break a clean code: a warning (legacy data) or an error.
fn damage(rng: &mut Rng, s: &mut String, error: bool) {
    if error {
        match rng.below(4) {
            0 => {
                let pos = rng.below(28) as usize;
                s.replace_range(pos..=pos, "x");
            }
            1 => {
                s.pop();
            }
            2 => s.replace_range(19.., "H00000000"),
            _ => s.replace_range(0..1, "３"),
        }
    } else {
        match rng.below(4) {
            0 => s.replace_range(12..14, "GC"),
            1 => s.replace_range(13..14, "L"),
            2 => s.replace_range(19.., "W00000001"),
            _ => s.replace_range(6..12, "000000"),
        }
    }
}

/// Real-data-like mix: 90 % clean, 5 % warnings, 5 % invalid.
fn realistic_codes() -> Vec<String> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..N)
        .map(|_| {
            let mut s = clean_code(&mut rng);
            match rng.below(20) {
                0 => damage(&mut rng, &mut s, false),
                1 => damage(&mut rng, &mut s, true),
                _ => {}
            }
            s
        })
        .collect()
}

fn clean_codes() -> Vec<String> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    (0..N).map(|_| clean_code(&mut rng)).collect()
}

/// Uniformly random letters per position: about a third carry warnings
/// (random W tails, A/C/H/G with random ownership), a fifth are invalid.
fn adversarial_codes() -> Vec<String> {
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    (0..N)
        .map(|_| {
            let mut s = format!(
                "{}{}{}{}{}",
                digits(&mut rng, 12),
                pick(&mut rng, b"GJZ"),
                pick(&mut rng, b"ABSXCDEFHGWY0"),
                digits(&mut rng, 5),
                pick(&mut rng, b"FFFFLQW"),
            );
            s.push_str(&digits(&mut rng, 8));
            if rng.below(5) == 0 {
                damage(&mut rng, &mut s, true);
            }
            s
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let strict = Options::default();
    let mut g = c.benchmark_group("unit_code");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(10);
    for (name, codes) in
        [("realistic", realistic_codes()), ("clean", clean_codes()), ("adversarial", adversarial_codes())]
    {
        g.bench_function(format!("validate_1m_{name}"), |b| {
            b.iter(|| {
                let mut valid = 0usize;
                for code in &codes {
                    valid += usize::from(validate(black_box(code), &strict).is_valid());
                }
                black_box(valid)
            });
        });
        // Bulk validation as the CLI does it: one report reused for every code.
        g.bench_function(format!("validate_into_1m_{name}"), |b| {
            let mut report = Report::default();
            b.iter(|| {
                let mut valid = 0usize;
                for code in &codes {
                    validate_into(black_box(code), CodeForm::Unit, &strict, &mut report);
                    valid += usize::from(report.is_valid());
                }
                black_box(valid)
            });
        });
        g.bench_function(format!("parse_1m_{name}"), |b| {
            b.iter(|| {
                let mut ok = 0usize;
                for code in &codes {
                    ok += usize::from(black_box(code).parse::<UnitCode>().is_ok());
                }
                black_box(ok)
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
