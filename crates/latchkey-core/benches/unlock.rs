//! Benchmark P5: what one unlock costs, and how fast an attacker holding the ciphertext
//! can guess PINs offline, for the hardened `lk1` envelope and the Chipi format.
//!
//! Run with `cargo bench -p latchkey-core --bench unlock`. One thread; the numbers are for
//! this machine only. Peak memory is read from `/proc/self/status` (`VmHWM`), reset with
//! `/proc/self/clear_refs` where the kernel allows it.

use std::error::Error;
use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use latchkey_core::keystore::chipi;
use latchkey_core::keystore::hardened::{self, Argon2Params, CURRENT_PARAMS};
use latchkey_core::{generate_session_key, EncryptKey, KeyBinding, KeyKind};
use rand::rngs::OsRng;

const HARDENED_RUNS: usize = 7;
const CHIPI_RUNS: usize = 2001;
const CHIPI_GUESSES: u32 = 300_000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// `VmHWM` (peak resident memory) in KiB, on Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets `VmHWM` to the current RSS (Linux 4.0+); false if not possible.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.2} µs", s * 1e6)
    }
}

fn human_span(seconds: f64) -> String {
    if seconds >= 86_400.0 {
        format!("{:.1} days", seconds / 86_400.0)
    } else if seconds >= 3600.0 {
        format!("{:.1} h", seconds / 3600.0)
    } else if seconds >= 60.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{seconds:.1} s")
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut rng = OsRng;
    let key = generate_session_key(&mut rng);
    let binding = KeyBinding {
        kind: KeyKind::Session,
        account: latchkey_core::Felt::from(0x1234_5678u64),
        public_key: key.public_key(),
    };
    let pin = EncryptKey::passphrase("482913");

    // Hardened: the first Argon2 run of the process gives the peak memory of one KDF.
    let before = peak_rss_kib();
    let envelope = hardened::seal(&key, &pin, &binding, &mut rng)?;
    let after = peak_rss_kib();
    let seal_peak = before.zip(after).map(|(b, a)| a.saturating_sub(b));

    let mut unlock_peak = None;
    let mut hardened_times = Vec::with_capacity(HARDENED_RUNS);
    for run in 0..HARDENED_RUNS {
        let reset = run == 0 && reset_peak_rss();
        let base = if reset { peak_rss_kib() } else { None };
        let start = Instant::now();
        let opened = hardened::open(black_box(&envelope), &pin, &binding)?;
        hardened_times.push(start.elapsed());
        if let (Some(base), Some(peak)) = (base, peak_rss_kib()) {
            unlock_peak = Some(peak.saturating_sub(base));
        }
        black_box(opened.public_key());
    }
    let hardened_unlock = median(hardened_times);

    // Chipi: a correct unlock, then a real loop of wrong-PIN attempts.
    let chipi_pin = EncryptKey::passphrase("1234");
    let ciphertext = chipi::seal_key(&key, KeyKind::Session, &chipi_pin, &mut rng)?;
    let mut chipi_times = Vec::with_capacity(CHIPI_RUNS);
    for _ in 0..CHIPI_RUNS {
        let start = Instant::now();
        let opened = chipi::open_key(black_box(&ciphertext), &chipi_pin, Some(&key.public_key()))?;
        chipi_times.push(start.elapsed());
        black_box(opened.public_key());
    }
    let chipi_unlock = median(chipi_times);

    let mut guess = String::with_capacity(8);
    let mut rejected = 0u32;
    let start = Instant::now();
    for candidate in 0..CHIPI_GUESSES {
        guess.clear();
        write!(guess, "{candidate:06}")?;
        // 6-digit guesses never equal the 4-digit PIN: every attempt is a wrong PIN.
        if chipi::decrypt(black_box(&ciphertext), &guess).is_err() {
            rejected += 1;
        }
    }
    let chipi_loop = start.elapsed();
    let chipi_rate = f64::from(CHIPI_GUESSES) / chipi_loop.as_secs_f64();
    let hardened_rate = 1.0 / hardened_unlock.as_secs_f64();

    let current = CURRENT_PARAMS;
    let peak = unlock_peak.or(seal_peak);
    println!("P5: one unlock and offline PIN guessing, release build, one thread");
    println!();
    println!(
        "| format | unlock (median) | PIN guesses/s | all 10^6 6-digit PINs | peak memory of one unlock |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| lk1 argon2id m={} KiB, t={}, p={} | {} ({} runs) | {:.2} | {} | {} |",
        current.m_kib,
        current.t,
        current.p,
        human_duration(hardened_unlock),
        HARDENED_RUNS,
        hardened_rate,
        human_span(1e6 / hardened_rate),
        peak.map_or("n/a".to_string(), |kib| format!("{:.1} MiB", mib(kib))),
    );
    println!(
        "| chipi EVP_BytesToKey-MD5 + AES-256-CBC | {} ({} runs) | {:.0} (loop of {} wrong PINs, {} rejected) | {} | n/a |",
        human_duration(chipi_unlock),
        CHIPI_RUNS,
        chipi_rate,
        CHIPI_GUESSES,
        rejected,
        human_span(1e6 / chipi_rate),
    );
    println!();
    println!(
        "hardened / chipi cost per guess: {:.0}x",
        hardened_unlock.as_secs_f64() / (chipi_loop.as_secs_f64() / f64::from(CHIPI_GUESSES))
    );
    if let (Some(seal), Some(unlock)) = (seal_peak, unlock_peak) {
        println!(
            "VmHWM rise: first seal {:.1} MiB, unlock after reset {:.1} MiB",
            mib(seal),
            mib(unlock)
        );
    } else if let Some(seal) = seal_peak {
        println!("VmHWM rise over the first KDF run: {:.1} MiB (reset not available)", mib(seal));
    }

    // Calibration around the chosen parameters.
    println!();
    println!("calibration (median of 3 unlocks):");
    for (m_kib, t) in [(65_536, 3), (65_536, 4), (65_536, 5), (98_304, 4), (131_072, 3)] {
        let params = Argon2Params { m_kib, t, p: current.p };
        let sealed = hardened::seal_with_params(&key, &pin, &binding, params, &mut rng)?;
        let mut times = Vec::with_capacity(3);
        for _ in 0..3 {
            let start = Instant::now();
            black_box(hardened::open(&sealed, &pin, &binding)?.public_key());
            times.push(start.elapsed());
        }
        println!("  m={m_kib} KiB, t={t}, p={}: {}", params.p, human_duration(median(times)));
    }
    Ok(())
}
