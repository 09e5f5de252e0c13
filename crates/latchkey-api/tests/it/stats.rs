//! The dashboard's statistics after a known set of sponsored transactions: executions by
//! hour and outcome, fees per day and chain, budgets, the filtered transactions, the
//! operator's view of them and of the relayer accounts; and who may read what.

use latchkey_core::to_hex;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{fresh_key, send, App, Backend};

fn total(stats: &Value, series: &str, field: &str) -> i64 {
    stats[series].as_array().unwrap().iter().map(|row| row[field].as_i64().unwrap()).sum()
}

fn sum_amounts(rows: &[Value], field: &str) -> u128 {
    rows.iter().filter_map(|row| row[field].as_str()).map(|a| a.parse::<u128>().unwrap()).sum()
}

async fn operator_get(app: &App, token: Option<&str>, path: &str) -> (u16, Value) {
    let mut request = app.http.get(format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_a_known_set_of_executions_for_the_organisation_and_the_operator() {
    known_set(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_count_a_known_set_of_executions_on_postgres() {
    known_set(Backend::Postgres).await;
}

async fn known_set(backend: Backend) {
    // `None`: PostgreSQL is not installed here (and not required).
    let Some(app) = App::start(backend).await else { return };
    let owner = fresh_key();
    // One deployment, then three game moves signed by the owner, then a payload prepared
    // and never sent.
    let wallet = app.create_wallet(&owner, "stats-user").await;
    let game = to_hex(&app.game());
    for n in 1..=3 {
        let calls = json!([{"to": game, "entrypoint": "make_move", "calldata": [n.to_string()]}]);
        let prepared = app.prepare(wallet, calls).await;
        let done = app.owner_execute(wallet, &owner, prepared).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    // A payload prepared and never sent, and one whose execution with a session key that
    // was never registered is refused: it stays prepared, with the refusal's code.
    app.prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["9"]}])).await;
    let refused = app
        .prepare(wallet, json!([{"to": game, "entrypoint": "make_move", "calldata": ["10"]}]))
        .await;
    let valid_until = app.now().await + 3_600;
    let signature = app.session_sign(wallet, &fresh_key(), valid_until, &refused);
    let execute = format!("/api/wallets/{}/execute", to_hex(&wallet));
    let body = json!({ "typedData": refused["typedData"], "signature": signature });
    let (status, body) = app.call(Method::POST, &execute, Some(body)).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("SESSION_NOT_REGISTERED")), "{body}");

    let (status, stats) = app.call(Method::GET, "/api/stats?days=7&hours=24", None).await;
    assert_eq!(status, 200, "{stats}");
    assert_eq!(stats["executionsByHour"].as_array().unwrap().len(), 24);
    assert_eq!(total(&stats, "executionsByHour", "succeeded"), 4, "{stats}");
    assert_eq!(total(&stats, "executionsByHour", "pending"), 1, "{stats}");
    assert_eq!(total(&stats, "executionsByHour", "rejected"), 1, "{stats}");
    assert_eq!(total(&stats, "executionsByHour", "total"), 6, "{stats}");
    for outcome in ["reverted", "expired"] {
        assert_eq!(total(&stats, "executionsByHour", outcome), 0, "{outcome}: {stats}");
    }

    // The fees per day are the fees of the four transactions, on this chain.
    let (status, listed) = app.call(Method::GET, "/api/transactions?status=succeeded", None).await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 4);
    let fees = sum_amounts(listed, "fee");
    assert!(fees > 0);
    let days = stats["sponsoredGasByDay"].as_array().unwrap();
    assert_eq!(days.len(), 7, "one chain, seven days: {stats}");
    assert!(days.iter().all(|d| d["chain"] == app.chain.as_str() && d["unit"] == "FRI"));
    assert_eq!(sum_amounts(days, "amount"), fees);
    assert_eq!(total(&stats, "sponsoredGasByDay", "transactions"), 4);

    // The budget as the store has it, burning at a seventh of the fees a day.
    let budget = app.store.gas_budget(app.budget_key(&app.org.org_id)).await.unwrap();
    let burn = &stats["budgets"][0];
    assert_eq!(burn["spent"], budget.spent.to_string());
    assert_eq!(burn["remaining"], budget.remaining().to_string());
    assert_eq!(burn["dailyBurn"], (fees / 7).to_string());
    // 1000 STRK last for more than ten years at this rate: no date is projected.
    assert_eq!(burn["projectedExhaustion"], Value::Null, "{burn}");
    let points = burn["burnDown"].as_array().unwrap();
    assert_eq!(points.len(), 7, "{burn}");
    assert_eq!(points[0]["remaining"], budget.budget.to_string(), "{burn}");
    assert_eq!(points[6]["remaining"], budget.remaining().to_string(), "{burn}");
    assert_eq!(stats["sessions"]["created"], 0);

    // What is left now lasts seven days at the daily burn: the projection says so.
    let left = budget.spent + budget.reserved + fees;
    app.store.set_gas_budget(app.budget_key(&app.org.org_id), left).await.unwrap();
    let (_, stats) = app.call(Method::GET, "/api/stats?days=7", None).await;
    let burn = &stats["budgets"][0];
    let today = stats["generatedAt"].as_i64().unwrap() / 86_400 * 86_400;
    let amount = |field: &str| burn[field].as_str().unwrap().parse::<u128>().unwrap();
    // (The budget is kept in whole 10^9: what is left may fall short of `fees` by less.)
    let days_left = amount("remaining") / amount("dailyBurn");
    assert!((6..=7).contains(&days_left), "{burn}");
    let expected = latchkey_core::iso8601_utc(today + days_left as i64 * 86_400)[..10].to_string();
    assert_eq!(burn["projectedExhaustion"], expected.as_str(), "{burn}");
    let last = burn["burnDown"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((&last["day"], &last["projected"]), (&json!(expected), &json!("0")), "{burn}");

    // The transactions view's filters.
    let count = |body: &Value| body.as_array().map_or(usize::MAX, Vec::len);
    let (_, prepared) = app.call(Method::GET, "/api/transactions?status=prepared", None).await;
    assert_eq!(count(&prepared), 2, "{prepared}");
    // Newest first: the refused one says why.
    assert_eq!(prepared[0]["errorCode"], "SESSION_NOT_REGISTERED", "{prepared}");
    assert_eq!(prepared[1]["errorCode"], Value::Null, "{prepared}");
    let (_, both) =
        app.call(Method::GET, "/api/transactions?status=prepared,succeeded&limit=200", None).await;
    assert_eq!(count(&both), 6, "{both}");
    let path = format!("/api/transactions?chain={}", app.chain);
    let (_, here) = app.call(Method::GET, &path, None).await;
    assert_eq!(count(&here), 6, "{here}");
    let (_, elsewhere) = app.call(Method::GET, "/api/transactions?chain=eip155:1", None).await;
    assert_eq!(count(&elsewhere), 0, "{elsewhere}");
    let (status, bad) = app.call(Method::GET, "/api/transactions?status=done", None).await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("INVALID_QUERY")), "{bad}");
    let (status, bad) = app.call(Method::GET, "/api/stats?days=0", None).await;
    assert_eq!((status, bad["code"].as_str()), (400, Some("INVALID_QUERY")), "{bad}");

    // The operator reads the same numbers.
    let token = latchkey_api::ensure_operator_token(&app.store, None).await.unwrap().unwrap();
    let token = token.expose();
    let org = &app.org.org_id;
    let path = format!("/api/admin/organizations/{org}/stats?days=7&hours=24");
    let (status, seen) = operator_get(&app, Some(token), &path).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["executionsByHour"], stats["executionsByHour"]);
    assert_eq!(seen["sponsoredGasByDay"], stats["sponsoredGasByDay"]);
    let path = format!(
        "/api/admin/organizations/{org}/transactions?status=succeeded&walletAddress={}",
        to_hex(&wallet)
    );
    let (status, theirs) = operator_get(&app, Some(token), &path).await;
    // The wallet's three moves (its deployment is the organisation's, recorded before it).
    assert_eq!((status, count(&theirs)), (200, 3), "{theirs}");
    let (status, relayers) = operator_get(&app, Some(token), "/api/admin/relayers").await;
    assert_eq!(status, 200, "{relayers}");
    let chain = &relayers["chains"][0];
    assert_eq!(
        (chain["chain"].as_str(), chain["up"].as_bool()),
        (Some(app.chain.as_str()), Some(true))
    );
    let accounts = chain["relayers"].as_array().unwrap();
    assert_eq!(accounts.len(), app.devnet.relayers().len());
    let client = app.devnet.client();
    let mut nonces = 0;
    for relayer in app.devnet.relayers() {
        let shown = accounts.iter().find(|a| a["address"] == to_hex(&relayer.address)).unwrap();
        let nonce = client.nonce(relayer.address).await.unwrap();
        assert_eq!(shown["nonce"].as_u64().unwrap().to_string(), nonce.to_string());
        nonces += shown["nonce"].as_u64().unwrap();
        let balance = client.erc20_balance(app.devnet.strk(), relayer.address).await.unwrap();
        assert_eq!(shown["funds"].as_str().unwrap(), balance.to_string());
    }
    assert!(nonces >= 4, "{relayers}");

    // Refusals: no credentials, an organisation's key on the operator's routes, an
    // unknown organisation.
    let (status, body) = send(app.http.get(format!("{}/api/stats", app.url))).await;
    assert_eq!(status, 401, "{body}");
    for path in [
        format!("/api/admin/organizations/{org}/stats"),
        format!("/api/admin/organizations/{org}/transactions"),
        "/api/admin/relayers".to_string(),
    ] {
        let (status, body) = operator_get(&app, None, &path).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("MISSING_BEARER_TOKEN")), "{path}");
        let (status, body) = send(app.req(Method::GET, &path)).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("OPERATOR_ONLY")), "{path}");
    }
    let path = "/api/admin/organizations/00000000-0000-4000-8000-000000000000/stats";
    let (status, body) = operator_get(&app, Some(token), path).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("ORGANIZATION_NOT_FOUND")), "{body}");
}
