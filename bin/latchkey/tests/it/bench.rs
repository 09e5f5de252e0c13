//! The benchmarks the README reports still run: each once, briefly. Their numbers are
//! read by people, not asserted here.

use std::process::Command;

fn bench(args: &[&str], expect: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run latchkey bench");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench {args:?} failed\n{stdout}\n{stderr}");
    assert!(stdout.contains(expect), "bench {args:?} printed no {expect:?}\n{stdout}");
}

#[test]
fn throughput_startup_and_gas_benchmarks_run() {
    bench(&["throughput", "--seconds", "1", "--concurrency", "2"], "API ÷ chain");
    bench(&["startup", "--runs", "1"], "median");
    bench(&["gas", "--rounds", "1"], "session ÷ owner");
}
