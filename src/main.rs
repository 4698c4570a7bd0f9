//! The `dapwalk` command line; everything it does lives in the library.

fn main() -> std::process::ExitCode {
    dapwalk::cli::main()
}
