//! `latchkey-wasm-bindgen <input.wasm> <out-dir>`: the JavaScript glue and TypeScript
//! declarations of latchkey-wasm for ES-module loading in browsers and Node.js (what
//! `wasm-bindgen --target web` makes), from the wasm-bindgen library at the exact version
//! of the `wasm-bindgen` crate the module was built with.
//!
//! `latchkey-wasm-bindgen --version` prints `wasm-bindgen <version>`, the version of the
//! glue it generates, so that a build script can check it against the crate.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use wasm_bindgen_cli_support::Bindgen;

/// The wasm-bindgen version this tool is pinned to: the package carries it
/// (`Cargo.toml`, equal to its `=` requirement on `wasm-bindgen-cli-support`).
const WASM_BINDGEN_VERSION: &str = env!("CARGO_PKG_VERSION");

fn main() -> ExitCode {
    match run(std::env::args_os().skip(1).map(PathBuf::from).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("latchkey-wasm-bindgen: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<PathBuf>) -> Result<()> {
    match args.as_slice() {
        [flag] if flag.as_os_str() == "--version" => {
            println!("wasm-bindgen {WASM_BINDGEN_VERSION}");
            Ok(())
        }
        [input, out_dir] => {
            let mut bindgen = Bindgen::new();
            bindgen
                .web(true)?
                .input_path(input)
                .typescript(true)
                .demangle(true)
                .omit_default_module_path(false);
            bindgen.generate(out_dir).with_context(|| {
                format!("generating the glue of {} into {}", input.display(), out_dir.display())
            })
        }
        _ => bail!("usage: latchkey-wasm-bindgen <input.wasm> <out-dir> | --version"),
    }
}
