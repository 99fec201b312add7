//! The `mediadesk` binary: see `cli` for the commands.

/// mimalloc instead of the system allocator: a request allocates and frees many
/// small objects (rows, strings, JSON), and glibc's malloc and free took about a
/// quarter of the server's time on the computed sidebar (perf; README "Benchmarks").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc 3's `mi_option_e` values of the two options set below (the
/// `libmimalloc-sys` bindings name only the older ones).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Gives freed memory back to the system at once and commits arenas on demand:
/// with mimalloc's defaults the server's resident memory grew by about 40%
/// (40 to 56 MB on the benchmark's 100k articles), with these it stays at
/// glibc's level. `MIMALLOC_*` variables in the environment still win.
fn tune_allocator() {
    for (name, option) in [
        ("MIMALLOC_ARENA_EAGER_COMMIT", MI_OPTION_ARENA_EAGER_COMMIT),
        ("MIMALLOC_PURGE_DELAY", MI_OPTION_PURGE_DELAY),
    ] {
        if std::env::var_os(name).is_none() {
            // SAFETY: sets a plain integer option; mimalloc reads options atomically.
            unsafe { libmimalloc_sys::mi_option_set(option, 0) };
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tune_allocator();
    mediadesk::cli::run().await
}
