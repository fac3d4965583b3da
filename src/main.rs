use clap::Parser;

use oblique::cli::{Cli, Command, keys, serve, token};
use oblique::{db, logging};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.global.log_format);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "failed");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve::serve(&cli.global, &args).await,
        Command::Migrate => serve::migrate(&cli.global).await,
        Command::Token(command) => {
            let database = serve::resolve(&cli.global, false).await?;
            let result = async {
                database.migrate().await?;
                let mut conn = db::connect::establish(&database.url).await?;
                token::run(&mut conn, &cli.global.data_dir, command).await
            }
            .await;
            database.shutdown().await;
            result
        }
        Command::Keys(command) => {
            let database = serve::resolve(&cli.global, false).await?;
            let result = async {
                database.migrate().await?;
                let mut conn = db::connect::establish(&database.url).await?;
                keys::run(&mut conn, &cli.global, command).await
            }
            .await;
            database.shutdown().await;
            result
        }
    }
}
