use clap::Parser;
use spinbase::cli::{Cli, Command};
use spinbase::component_build::{self, BuildMode};
use spinbase::log_sink::LogSink;
use spinbase::manifest::Manifest;
use std::process::ExitCode;

// Every request allocates its store, its instance's host state and its
// headers; glibc's malloc cost a tenth of a hello-world request's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = match LogSink::start() {
        Ok(log) => log,
        Err(e) => {
            eprintln!("error: cannot start the log writer: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPINBASE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(log.clone())
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = run(cli);
    // What was logged comes before the last word.
    log.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line naming the cause, then its chain.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let manifest = Manifest::load(&cli.manifest)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Command::Build(engine) => {
            component_build::build(&manifest, BuildMode::All)?;
            spinbase::up::precompile(&manifest, engine.limits())
        }
        Command::Up(args) => runtime.block_on(spinbase::up::run(manifest, args)),
        Command::Migrate(args) => runtime.block_on(async {
            let data_dir = spinbase::up::data_dir(&manifest);
            let db = spinbase::database::prepare(args.database_url.as_deref(), &data_dir).await?;
            let applied =
                spinbase::database::migrate(&db.url, &spinbase::up::migrations_dir(&manifest))
                    .await?;
            eprintln!(
                "{} migration(s) applied to {}",
                applied.len(),
                spinbase::database::redact(&db.url)
            );
            for m in applied {
                eprintln!("  {}_{}", m.version, m.name);
            }
            Ok(())
        }),
        Command::Token(args) => runtime.block_on(async {
            let token = spinbase::token::run(&manifest, &args).await?;
            println!("{token}");
            Ok(())
        }),
    }
}
