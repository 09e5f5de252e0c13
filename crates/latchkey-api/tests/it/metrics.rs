//! `/metrics` after a known set of sponsored transactions: the relayer's counters, the
//! sponsored fees, and what is read when scraped (requests in flight, relayer accounts,
//! budgets) match the database and the chain.

use latchkey_core::{to_hex, Felt};
use serde_json::json;

use crate::support::{fresh_key, App, Backend};

/// The value of the sample `name{labels}`, if the text has it.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

fn expect(text: &str, series: &str) -> f64 {
    sample(text, series).unwrap_or_else(|| panic!("{series} missing from /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_a_known_set_of_sponsored_transactions() {
    let app = App::start(Backend::Sqlite).await.unwrap();
    let chain = app.chain.clone();
    let before =
        app.http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    let nonces_before: f64 = before
        .lines()
        .filter(|line| line.starts_with("latchkey_relayer_nonce{"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(!before.contains("latchkey_sponsored_fees_total{"), "{before}");
    let owner = fresh_key();
    // One deployment, then three game moves signed by the owner.
    let wallet = app.create_wallet(&owner, "metrics-user").await;
    let game = to_hex(&app.game());
    for n in 1..=3 {
        let prepared = app
            .prepare(
                wallet,
                json!([{"to": game, "entrypoint": "make_move", "calldata": [n.to_string()]}]),
            )
            .await;
        let done = app.owner_execute(wallet, &owner, prepared).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    // A payload prepared and never sent is not finished, and counts nowhere yet.
    app.prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["9"]}])).await;

    let response = app.http.get(format!("{}/metrics", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");

    let finished = |kind: &str, outcome: &str| {
        sample(
            &text,
            &format!(
                "latchkey_requests_finished_total{{chain=\"{chain}\",kind=\"{kind}\",outcome=\"{outcome}\"}}"
            ),
        )
        .unwrap_or(0.0)
    };
    assert_eq!(finished("execution", "succeeded"), 3.0, "{text}");
    assert_eq!(finished("deployment", "succeeded"), 1.0, "{text}");
    assert_eq!(finished("execution", "expired"), 0.0, "{text}");

    // The fees counted are the fees the budget was charged.
    let budget = app.store.gas_budget(app.budget_key(&app.org.org_id)).await.unwrap();
    let org = &app.org.org_id;
    let spent = expect(
        &text,
        &format!("latchkey_gas_spent{{organization=\"{org}\",chain=\"{chain}\",unit=\"FRI\"}}"),
    );
    assert_eq!(spent, budget.spent as f64);
    assert!(spent > 0.0);
    let fees =
        expect(&text, &format!("latchkey_sponsored_fees_total{{chain=\"{chain}\",unit=\"FRI\"}}"));
    // The database keeps amounts in units of 10^9, rounded up: within 10^9 per transaction.
    assert!((spent - fees).abs() <= 4e9, "fees {fees}, spent {spent}");
    let remaining = expect(
        &text,
        &format!("latchkey_gas_remaining{{organization=\"{org}\",chain=\"{chain}\",unit=\"FRI\"}}"),
    );
    assert_eq!(remaining, budget.remaining() as f64);

    // In flight: the one prepared payload, nothing else.
    let unfinished = |status: &str| {
        expect(
            &text,
            &format!("latchkey_requests_unfinished{{chain=\"{chain}\",status=\"{status}\"}}"),
        )
    };
    assert_eq!(unfinished("prepared"), 1.0, "{text}");
    for status in ["recorded", "submitting", "submitted", "accepted"] {
        assert_eq!(unfinished(status), 0.0, "{status}: {text}");
    }

    // Every relayer account, as the chain has it.
    assert_eq!(expect(&text, &format!("latchkey_chain_up{{chain=\"{chain}\"}}")), 1.0);
    let relayers = app.devnet.relayers();
    let used = expect(&text, &format!("latchkey_relayer_accounts{{chain=\"{chain}\"}}"));
    assert_eq!(used, relayers.len() as f64);
    let mut nonces = 0.0;
    for relayer in relayers {
        let address = to_hex(&relayer.address);
        let client = app.devnet.client();
        let balance: f64 = client
            .erc20_balance(app.devnet.strk(), relayer.address)
            .await
            .unwrap()
            .to_string()
            .parse()
            .unwrap();
        let funds = expect(
            &text,
            &format!(
                "latchkey_relayer_funds{{chain=\"{chain}\",relayer=\"{address}\",unit=\"FRI\"}}"
            ),
        );
        assert_eq!(funds, balance, "{address}");
        let nonce: Felt = client.nonce(relayer.address).await.unwrap();
        let reported = expect(
            &text,
            &format!("latchkey_relayer_nonce{{chain=\"{chain}\",relayer=\"{address}\"}}"),
        );
        assert_eq!(reported.to_string(), nonce.to_string(), "{address}");
        nonces += reported;
    }
    // Four transactions went out since the first scrape (the deployment and three moves).
    assert_eq!(nonces - nonces_before, 4.0, "{before}\n{text}");

    // The scrapes themselves are counted at the next one.
    let again =
        app.http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    assert_eq!(
        expect(
            &again,
            "latchkey_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}"
        ),
        2.0
    );
}
