//! The `mediadesk` binary: see `cli` for the commands.

/// mimalloc instead of the system allocator: a request allocates and frees many
/// small objects (rows, strings, JSON), and glibc's malloc took about 40% of the
/// server's time on the computed sidebar (perf, see README "Performance").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    mediadesk::cli::run().await
}
