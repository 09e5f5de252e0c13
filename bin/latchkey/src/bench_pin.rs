//! `latchkey bench pin`: what a PIN costs its user and its attacker.
//!
//! - **Unlock latency** end to end through the API, the way the CLI unlocks an `lk2` key
//!   file: blind, `POST …/pin/evaluate` (counted), unblind, Argon2id at the production
//!   parameters and decryption, then `POST …/pin/confirm` with a `pin-unlock` proof
//!   (counter reset). p50/p99 over the runs, with the parts.
//! - **Online guessing** against one wallet: an attacker who never knows the PIN makes
//!   every attempt the server's durable counter allows, as soon as it allows it, against
//!   the real store with a simulated clock; the attempts in 24 hours and 30 days, and the
//!   chance of hitting a random 6-digit PIN.
//! - **Offline guessing**: the cost of one guess against each sealing format, measured here:
//!   Chipi's (a salted MD5 key derivation), `lk1` (Argon2id alone), `lk2` with the database
//!   only (no guess can be checked), `lk2` with the database and the OPRF key file (the
//!   OPRF evaluation plus Argon2id).

use std::time::{Duration, Instant};

use anyhow::Context;
use latchkey_core::keystore::hardened::{self, CURRENT_PARAMS};
use latchkey_core::keystore::oprf::WalletOprfKey;
use latchkey_core::keystore::{self, chipi};
use latchkey_core::{
    generate_owner_key, to_hex, EncryptKey, KeyBinding, KeyKind, ProofPurpose, SecretString,
};
use latchkey_store::{PinAttempt, PinPolicy};

use crate::bench_serve::{percentile, BenchServer};
use crate::client::{ApiKeys, Client};
use crate::pin::PinServer;

const PIN: &str = "482913";
const WRONG_PIN: &str = "917364";
/// Cores of the attacker the offline figures are given for.
const ATTACKER_CORES: f64 = 64.0;
/// Six-digit PINs.
const PIN_SPACE: f64 = 1_000_000.0;

/// `latchkey bench pin --unlocks N`.
pub(crate) async fn pin(unlocks: usize) -> anyhow::Result<()> {
    let unlocks = unlocks.clamp(1, 10_000);
    let bench = BenchServer::start(2, 1).await?;
    let client = Client::new(
        &bench.url,
        ApiKeys::new(Some(&bench.public), Some(SecretString::new(bench.secret.clone())))?,
    )?;
    let server = PinServer::new(&client);

    // A wallet whose owner key is sealed as lk2, created through the API as the CLI does.
    let owner = generate_owner_key(&mut rand::rngs::OsRng);
    let class_hash = latchkey_starknet_contracts::ACCOUNT.class_hash()?;
    let account = latchkey_starknet::ChainClient::account_address(class_hash, owner.public_key());
    let binding = KeyBinding { kind: KeyKind::Owner, account, public_key: owner.public_key() };
    let account_text = to_hex(&account);
    let sealing = server.evaluate(&account_text, EncryptKey::passphrase(PIN), None).await?;
    let sealed = keystore::seal(&owner, &sealing.pin, &binding, &mut rand::rngs::OsRng)?;
    let address = bench.create_wallet(&owner, &sealed).await?;
    anyhow::ensure!(address == account, "the wallet is not at the owner key's address");
    let unlock = ProofPurpose::PinUnlock;
    let proof = sealing.challenge.stark_proof(&owner, &account, unlock, &owner.public_key())?;
    server.confirm(&account_text, proof, None).await?;
    drop(sealing);

    eprintln!("measuring {unlocks} unlocks…");
    let (mut totals, mut evaluations, mut openings, mut confirmations) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..unlocks {
        let started = Instant::now();
        let evaluation = server.evaluate(&account_text, EncryptKey::passphrase(PIN), None).await?;
        let evaluated = Instant::now();
        let key = hardened::open(&sealed, &evaluation.pin, &binding)?;
        let opened = Instant::now();
        let proof = evaluation.challenge.stark_proof(&key, &account, unlock, &key.public_key())?;
        server.confirm(&account_text, proof, None).await?;
        let confirmed = Instant::now();
        totals.push(confirmed - started);
        evaluations.push(evaluated - started);
        openings.push(opened - evaluated);
        confirmations.push(confirmed - opened);
    }
    for list in [&mut totals, &mut evaluations, &mut openings, &mut confirmations] {
        list.sort();
    }

    let online = online_guessing(&bench).await?;
    let offline = offline_guessing()?;
    drop(bench);

    let row = |name: &str, list: &[Duration]| {
        println!(
            "| {name} | {:.1} ms | {:.1} ms |",
            ms(percentile(list, 0.5)),
            ms(percentile(list, 0.99))
        );
    };
    println!(
        "PIN unlock of an lk2 key through the API ({unlocks} unlocks, Argon2id m={} MiB t={} \
         p={}, one client, loopback):",
        CURRENT_PARAMS.m_kib / 1024,
        CURRENT_PARAMS.t,
        CURRENT_PARAMS.p
    );
    println!();
    println!("| step | p50 | p99 |");
    println!("|---|---:|---:|");
    row("unlock, end to end (target p50 ≤ 400 ms)", &totals);
    row("of which evaluate (blind, counted OPRF evaluation, unblind)", &evaluations);
    row("of which Argon2id and decryption", &openings);
    row("of which confirm (pin-unlock proof, counter reset)", &confirmations);
    println!();
    println!(
        "Online guessing against one wallet (PIN policy: {} free attempts, then a lock of {} s \
         doubling up to {} s; counted against the store with a simulated clock):",
        online.policy.max_failures, online.policy.base_lock_secs, online.policy.max_lock_secs
    );
    println!();
    println!("| window | attempts | chance for a random 6-digit PIN |");
    println!("|---|---:|---:|");
    for (window, attempts) in [("24 hours", online.day), ("30 days", online.month)] {
        println!("| {window} | {attempts} | {:.4} % |", attempts as f64 / PIN_SPACE * 100.0);
    }
    println!();
    println!("Offline guessing of a 6-digit PIN from a stolen copy (one guess timed here):");
    println!();
    println!(
        "| format, and what the attacker holds | one guess | guesses per core-second | \
         whole 6-digit space on {ATTACKER_CORES:.0} cores |"
    );
    println!("|---|---:|---:|---:|");
    for line in &offline {
        match line.guess {
            Some(guess) => {
                let per_second = 1.0 / guess.as_secs_f64();
                let whole = PIN_SPACE / (per_second * ATTACKER_CORES);
                println!(
                    "| {} | {:.3} ms | {per_second:.1} | {} |",
                    line.name,
                    ms(guess),
                    human_seconds(whole)
                );
            }
            None => println!("| {} | impossible | 0 | never |", line.name),
        }
    }
    Ok(())
}

struct Online {
    policy: PinPolicy,
    day: u64,
    month: u64,
}

/// The attempts the store's counter lets an attacker make against one wallet from a fresh
/// counter, within 24 hours and 30 days: one attempt per second (the default rate limit)
/// whenever no lock is on, and the next one the moment a lock ends.
async fn online_guessing(bench: &BenchServer) -> anyhow::Result<Online> {
    let policy = PinPolicy::default();
    let address = "0xa77ac4e7";
    let (mut at, mut day, mut month) = (0i64, 0u64, 0u64);
    const DAY: i64 = 86_400;
    while at <= 30 * DAY {
        match bench.store.count_pin_attempt(&bench.org_id, address, at, &policy).await? {
            PinAttempt::Counted { .. } => {
                month += 1;
                if at <= DAY {
                    day += 1;
                }
                at += 1;
            }
            PinAttempt::Locked { until } => at = until.max(at + 1),
        }
    }
    Ok(Online { policy, day, month })
}

struct Offline {
    name: &'static str,
    /// One wrong guess, or `None` when a guess cannot be checked at all.
    guess: Option<Duration>,
}

/// Times a wrong guess against each format (the median of a few).
fn offline_guessing() -> anyhow::Result<Vec<Offline>> {
    let mut rng = rand::rngs::OsRng;
    let key = generate_owner_key(&mut rng);
    let binding = KeyBinding {
        kind: KeyKind::Owner,
        account: 0xacc0u32.into(),
        public_key: key.public_key(),
    };
    let chipi_blob = chipi::seal_key(&key, KeyKind::Owner, &EncryptKey::passphrase(PIN), &mut rng)?;
    let lk1 = hardened::seal(&key, &EncryptKey::passphrase(PIN), &binding, &mut rng)?;
    let master = rand::random::<[u8; 32]>();
    let oprf = WalletOprfKey::derive(&master, "v1", &binding.account)?;
    let pin = EncryptKey::passphrase(PIN).with_oprf(oprf.evaluate_unblinded(PIN)?);
    let lk2 = hardened::seal(&key, &pin, &binding, &mut rng)?;

    // Each blob opens with the right PIN: the wrong guesses below fail for the PIN alone.
    let right = EncryptKey::passphrase(PIN);
    keystore::open(&chipi_blob, &right, &binding).context("the Chipi blob does not open")?;
    keystore::open(&lk1, &right, &binding).context("the lk1 envelope does not open")?;
    keystore::open(&lk2, &pin, &binding).context("the lk2 envelope does not open")?;

    let chipi_guess = median_of(200, || {
        let wrong = EncryptKey::passphrase(WRONG_PIN);
        anyhow::ensure!(keystore::open(&chipi_blob, &wrong, &binding).is_err());
        Ok(())
    })?;
    let lk1_guess = median_of(5, || {
        let wrong = EncryptKey::passphrase(WRONG_PIN);
        anyhow::ensure!(keystore::open(&lk1, &wrong, &binding).is_err());
        Ok(())
    })?;
    // With the database alone the attacker lacks the OPRF output, and the envelope refuses
    // to be tried without one: no guess can be checked.
    let without_file = keystore::open(&lk2, &EncryptKey::passphrase(PIN), &binding);
    anyhow::ensure!(
        matches!(without_file, Err(keystore::KeystoreError::OprfRequired { .. })),
        "an lk2 envelope opened without its OPRF output"
    );
    let lk2_with_file = median_of(5, || {
        let output = oprf.evaluate_unblinded(WRONG_PIN)?;
        let wrong = EncryptKey::passphrase(WRONG_PIN).with_oprf(output);
        anyhow::ensure!(keystore::open(&lk2, &wrong, &binding).is_err());
        Ok(())
    })?;
    Ok(vec![
        Offline { name: "Chipi format, the database", guess: Some(chipi_guess) },
        Offline { name: "lk1, the database", guess: Some(lk1_guess) },
        Offline { name: "lk2, the database (every row, every ciphertext)", guess: None },
        Offline { name: "lk2, the database and the OPRF key file", guess: Some(lk2_with_file) },
    ])
}

fn median_of(
    runs: usize,
    mut guess: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        guess().context("a wrong guess was accepted")?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn human_seconds(seconds: f64) -> String {
    if seconds < 1.0 {
        format!("{:.0} ms", seconds * 1000.0)
    } else if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7200.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}
