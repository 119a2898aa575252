//! Property tests for MemoryAllocator: random interleavings of allocate,
//! batch and retire keep every scope dense and every code unique, and a
//! retired code never comes back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use proptest::prelude::*;
use unit_code::alloc::{AllocError, Allocator, AnyCode, CodeStatus, MemoryAllocator, Scope};

#[derive(Debug, Clone)]
enum Op {
    /// Allocate `n` in scope `k`.
    Alloc(usize, u32),
    /// Retire the i-th code issued so far (modulo the count).
    Retire(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..4usize, 1..40u32).prop_map(|(k, n)| Op::Alloc(k, n)),
        // Large batches run the household scope (limit 9999) into exhaustion.
        1 => (3..4usize, 1000..4000u32).prop_map(|(k, n)| Op::Alloc(k, n)),
        2 => any::<usize>().prop_map(Op::Retire),
    ]
}

fn block<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
}

/// Two parcel scopes, one building scope and one household scope, with parents issued.
async fn scopes(a: &MemoryAllocator) -> Vec<Scope> {
    let p = a.next_parcels("330106001001".parse().unwrap(), "GB".parse().unwrap(), 1).await.unwrap();
    let b = a.next_building(p[0]).await.unwrap();
    vec![
        Scope::parcels("330106001001".parse().unwrap(), "GB".parse().unwrap()),
        Scope::parcels("330106001002".parse().unwrap(), "JC".parse().unwrap()),
        Scope::buildings(p[0]),
        Scope::households(b),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Against a model: the same ops give the same numbers, exhaustion exactly
    /// where the model runs out, and the issued set stays dense and unique.
    #[test]
    fn sequential_ops_match_the_model(ops in prop::collection::vec(op(), 1..80)) {
        let a = MemoryAllocator::new();
        block(async {
            let scopes = scopes(&a).await;
            // Parent set-up took number 1 of scopes 0 and 2.
            let mut last = [1u32, 0, 1, 0];
            let mut issued: Vec<AnyCode> = Vec::new();
            let mut retired = BTreeSet::new();
            for op in ops {
                match op {
                    Op::Alloc(k, n) => {
                        let scope = scopes[k];
                        match a.allocate(scope, n).await {
                            Ok(run) => {
                                prop_assert_eq!((run.first, run.last), (last[k] + 1, last[k] + n));
                                last[k] += n;
                                for c in run.codes().unwrap() {
                                    prop_assert!(!retired.contains(&c), "retired code reissued");
                                    issued.push(c);
                                }
                            }
                            Err(AllocError::Exhausted { .. }) => prop_assert!(last[k] + n > scope.limit()),
                            Err(e) => prop_assert!(false, "unexpected {}", e),
                        }
                    }
                    Op::Retire(i) if !issued.is_empty() => {
                        let c = issued[i % issued.len()];
                        let r = a.retire(c).await;
                        if retired.insert(c) {
                            prop_assert!(r.is_ok());
                        } else {
                            let refused = matches!(r, Err(AllocError::Retired { .. }));
                            prop_assert!(refused, "second retire must be refused");
                        }
                    }
                    Op::Retire(_) => {}
                }
            }
            check_registry(&a, &scopes, &retired).await
        })?;
    }

    /// Four tasks on a multi-threaded runtime run their own op lists at once;
    /// whatever the interleaving, each scope is dense and nothing is issued twice.
    #[test]
    fn concurrent_ops_stay_dense_and_unique(lists in prop::collection::vec(prop::collection::vec(op(), 1..40), 4)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).build().unwrap();
        rt.block_on(async {
            let a = Arc::new(MemoryAllocator::new());
            let scopes = Arc::new(scopes(&a).await);
            let mut handles = Vec::new();
            for ops in lists {
                let (a, scopes) = (a.clone(), scopes.clone());
                handles.push(tokio::spawn(async move {
                    let mut mine: Vec<AnyCode> = Vec::new();
                    let mut retired = Vec::new();
                    for op in ops {
                        match op {
                            Op::Alloc(k, n) => {
                                if let Ok(run) = a.allocate(scopes[k], n).await {
                                    mine.extend(run.codes().unwrap());
                                }
                                tokio::task::yield_now().await;
                            }
                            Op::Retire(i) if !mine.is_empty() => {
                                let c = mine[i % mine.len()];
                                if a.retire(c).await.is_ok() {
                                    retired.push(c);
                                }
                            }
                            Op::Retire(_) => {}
                        }
                    }
                    (mine, retired)
                }));
            }
            let mut all = Vec::new();
            let mut retired = BTreeSet::new();
            for h in handles {
                let (mine, r) = h.await.unwrap();
                all.extend(mine);
                retired.extend(r);
            }
            let unique: BTreeSet<_> = all.iter().collect();
            prop_assert_eq!(unique.len(), all.len(), "a code was issued twice");
            check_registry(&a, &scopes, &retired).await
        })?;
    }
}

/// Every scope's numbers are exactly 1..=last_issued; retired codes are historical.
async fn check_registry(
    a: &MemoryAllocator,
    scopes: &[Scope],
    retired: &BTreeSet<AnyCode>,
) -> Result<(), TestCaseError> {
    let mut per_scope: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (code, status) in a.codes() {
        prop_assert_eq!(status == CodeStatus::Historical, retired.contains(&code), "status of {}", code);
        if let Some((scope, n)) = code.numbered_in() {
            per_scope.entry(scope.key()).or_default().push(n);
        }
    }
    for scope in scopes {
        let last = a.last_issued(*scope).await.unwrap();
        let mut got = per_scope.remove(&scope.key()).unwrap_or_default();
        got.sort_unstable();
        prop_assert_eq!(got, (1..=last).collect::<Vec<_>>(), "scope {} not dense", scope);
    }
    Ok(())
}
