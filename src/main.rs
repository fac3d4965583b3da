use clap::Parser;

use oblique::cli::{Cli, Command, GlobalArgs, check_config, client, keys, serve, token};
use oblique::{db, logging};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init(cli.global.log_format);
    let command = match cli.command {
        // Client commands say themselves how they failed (the server's code, the request id).
        Command::Client(command) => {
            return client::run(&cli.global.client, &cli.global.data_dir, command).await;
        }
        command => command,
    };
    match run(&cli.global, command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "failed");
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) if args.check_config => check_config::check(global, &args).await,
        Command::Serve(args) => serve::serve(global, &args).await,
        Command::Migrate => serve::migrate(global).await,
        Command::Token(command) => {
            let database = serve::resolve(global, false).await?;
            let result = async {
                database.migrate().await?;
                let mut conn = db::connect::establish(&database.url).await?;
                token::run(&mut conn, &global.data_dir, command).await
            }
            .await;
            database.shutdown().await;
            result
        }
        Command::Keys(command) => {
            let database = serve::resolve(global, false).await?;
            let result = async {
                database.migrate().await?;
                let mut conn = db::connect::establish(&database.url).await?;
                keys::run(&mut conn, global, command).await
            }
            .await;
            database.shutdown().await;
            result
        }
        Command::Client(_) => unreachable!("client commands are run by main"),
    }
}
