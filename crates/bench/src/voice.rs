//! The voice of the customer: how well similar feedback is suggested for merging (precision
//! and recall on the labelled pairs of the demo's feedback bank), and how long placing a new
//! item among 100,000 takes. Run with `cargo run --release -p mikawaya-bench -- voice`.

use anyhow::Result;
use mikawaya_analytics::similar::{CONCEPT_WEIGHT, Index, SUGGEST_AT};
use mikawaya_demo::feedback::{BankText, bank};
use std::time::Instant;

/// A labelled pair: two texts and whether they ask for the same thing.
pub struct Pair {
    a: &'static str,
    b: &'static str,
    same: bool,
    hard: bool,
}

/// The labelled pairs: every two texts of one topic in one language (same), every two
/// texts of different topics of one family in one language (different, sharing words: the
/// hard ones), and every 7th pair of texts of different families in one language.
pub fn pairs(bank: &[BankText]) -> Vec<Pair> {
    let mut out = Vec::new();
    let mut other = 0usize;
    for (i, a) in bank.iter().enumerate() {
        for b in &bank[i + 1..] {
            if a.language != b.language {
                continue;
            }
            if a.topic == b.topic {
                out.push(Pair {
                    a: a.text,
                    b: b.text,
                    same: true,
                    hard: false,
                });
            } else if a.family == b.family {
                out.push(Pair {
                    a: a.text,
                    b: b.text,
                    same: false,
                    hard: true,
                });
            } else {
                other += 1;
                if other.is_multiple_of(7) {
                    out.push(Pair {
                        a: a.text,
                        b: b.text,
                        same: false,
                        hard: false,
                    });
                }
            }
        }
    }
    out
}

/// Precision and recall of suggestions at a threshold.
#[derive(Debug, Clone, Copy)]
pub struct Quality {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub hard_false: usize,
}

/// How the index's suggestions fare on the labelled pairs at each threshold.
pub fn quality(concept_weight: f64, thresholds: &[f64]) -> (Vec<Quality>, usize, usize) {
    let bank = bank();
    let mut index = Index::new(concept_weight);
    index.extend(bank.iter().enumerate().map(|(i, t)| (i as i64, t.text)));
    let pairs = pairs(&bank);
    let scored: Vec<(f64, &Pair)> = pairs
        .iter()
        .map(|p| (index.similarity(p.a, p.b), p))
        .collect();
    if std::env::var_os("MIKAWAYA_BENCH_VERBOSE").is_some() {
        let mut sorted: Vec<&(f64, &Pair)> = scored.iter().collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (s, p) in sorted.iter().filter(|(_, p)| p.same).take(40) {
            eprintln!("missed {s:.2} | {} | {}", p.a, p.b);
        }
        for (s, p) in sorted.iter().rev().filter(|(_, p)| !p.same).take(40) {
            eprintln!("wrong {s:.2} | {} | {}", p.a, p.b);
        }
    }
    let positives = pairs.iter().filter(|p| p.same).count();
    let results = thresholds
        .iter()
        .map(|&threshold| {
            let suggested: Vec<&(f64, &Pair)> =
                scored.iter().filter(|(s, _)| *s >= threshold).collect();
            let right = suggested.iter().filter(|(_, p)| p.same).count();
            Quality {
                threshold,
                precision: if suggested.is_empty() {
                    1.0
                } else {
                    right as f64 / suggested.len() as f64
                },
                recall: right as f64 / positives as f64,
                hard_false: suggested.iter().filter(|(_, p)| p.hard && !p.same).count(),
            }
        })
        .collect();
    (results, positives, pairs.len() - positives)
}

pub fn run() -> Result<()> {
    let thresholds = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6];
    let (with, positives, negatives) = quality(CONCEPT_WEIGHT, &thresholds);
    let (without, _, _) = quality(0.0, &thresholds);
    println!(
        "Labelled pairs: {positives} same-request, {negatives} different (same language; hard different pairs share a family).\n"
    );
    println!(
        "| threshold | precision | recall | wrong hard pairs | precision without concepts | recall without concepts |\n|---|---|---|---|---|---|"
    );
    for (a, b) in with.iter().zip(&without) {
        let mark = if (a.threshold - SUGGEST_AT).abs() < 1e-9 {
            " (default)"
        } else {
            ""
        };
        println!(
            "| {:.2}{mark} | {:.3} | {:.3} | {} | {:.3} | {:.3} |",
            a.threshold, a.precision, a.recall, a.hard_false, b.precision, b.recall
        );
    }

    // Placing a new item among 100,000.
    let bank = bank();
    let fillers = [
        "We are on the Pro plan.",
        "Thanks in advance.",
        "This came up in our weekly meeting.",
        "Our CS lead mentioned it too.",
        "弊社では50名が利用しています。",
        "よろしくお願いします。",
        "先日の定例会でも話題になりました。",
        "",
    ];
    let texts: Vec<String> = (0..100_000usize)
        .map(|i| {
            let base = bank[(i * 7919) % bank.len()].text;
            format!("{base} {} #{}", fillers[(i / 3) % fillers.len()], i % 997)
        })
        .collect();
    let started = Instant::now();
    let mut index = Index::default();
    index.extend(
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64, t.as_str())),
    );
    let built = started.elapsed();
    let queries: Vec<&str> = bank.iter().map(|t| t.text).collect();
    let mut times = Vec::new();
    for query in &queries {
        let started = Instant::now();
        let found = index.nearest(query, 5, SUGGEST_AT, None);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(found);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p95 = times[times.len() * 95 / 100];
    let max = times[times.len() - 1];
    println!(
        "\n| measurement | result |\n|---|---|\n| index 100,000 items | {:.2} s |\n| place a new item among 100,000 ({} queries) | median {median:.1} ms, p95 {p95:.1} ms, max {max:.1} ms |",
        built.as_secs_f64(),
        queries.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_meet_the_target_on_the_labelled_pairs() {
        let (results, positives, negatives) = quality(CONCEPT_WEIGHT, &[SUGGEST_AT]);
        assert!(positives + negatives >= 300, "{positives} + {negatives}");
        let q = results[0];
        assert!(q.precision >= 0.9 && q.recall >= 0.7, "{q:?}");
    }
}
