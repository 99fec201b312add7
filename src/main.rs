//! The `mediadesk` binary: see `cli` for the commands.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mediadesk::cli::run().await
}
