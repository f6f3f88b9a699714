//! `blynk`: read, write, import and export Blynk datastreams from shells and scripts. The
//! implementation is the `blynk_cli` library of this package.

fn main() -> std::process::ExitCode {
    blynk_cli::main()
}
