"""The ``groupware`` command: serve, migrate, users, tokens, demo data, backups, jobs,
the mail queue.

Every failure ends with one line on standard error saying what is wrong, and exit
status 1 (2 for a wrong command line).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from groupware import wiring
from groupware.db import Database, DatabaseUnavailable, check_connection
from groupware.errors import CommandError, GroupwareError, Invalid
from groupware.i18n import use_language
from groupware.settings import Settings, SettingsError, load_settings

console = Console(highlight=False)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(config_file=args.config)


def _database(args: argparse.Namespace, *, migrated: bool = True) -> Database:
    from groupware.accounts.passwords import use_hashing
    from groupware.areas import install
    from groupware.migrate import is_up_to_date

    install()
    settings = _settings(args)
    use_hashing(settings.password_hashing)
    database = Database(settings)
    # Closed when the command ends, so that a command run inside another program (the
    # tests run most of them so) leaves no connection behind.
    args.opened.append(database)
    check_connection(database.engine)
    if migrated and not is_up_to_date(database.engine):
        raise CommandError("the database schema is not up to date; run `groupware migrate` first")
    return database


def _read_password(args: argparse.Namespace, *, prompt: str = "Password: ") -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(prompt)
        if password != getpass.getpass("Repeat: "):
            raise CommandError("the two passwords differ")
    else:
        raise CommandError("no terminal to ask for a password; use --password-stdin")
    if not password:
        raise CommandError("the password is empty")
    return password


# -- commands ------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> None:
    from groupware.server import serve

    settings = _settings(args)
    database = _database(args)
    serve(settings, database, role=args.role, host=args.host, port=args.port)


def cmd_migrate(args: argparse.Namespace) -> None:
    from groupware.migrate import current_revision, upgrade

    database = _database(args, migrated=False)
    before = current_revision(database.engine)
    upgrade(database)
    after = current_revision(database.engine)
    if before == after:
        console.print(f"The database is up to date (revision {after}).")
    else:
        console.print(f"Migrated the database from {before or 'empty'} to {after}.")


def _find_user(session: object, username: str) -> object:
    from groupware.accounts.users import find_user

    user = find_user(session, username)  # type: ignore[arg-type]
    if user is None:
        raise CommandError(f"there is no user {username!r}")
    return user


def cmd_user_add(args: argparse.Namespace) -> None:
    from sqlalchemy import select

    from groupware.accounts.models import Role, Team
    from groupware.accounts.users import UserIn, create_user
    from groupware.validation import validate

    database = _database(args)
    password = _read_password(args) if args.password_stdin or sys.stdin.isatty() else None
    with database.transaction(actor_id=None, channel="cli") as session:
        role_ids = []
        for name in args.role or ["staff"]:
            role_id = session.scalar(select(Role.id).where(Role.name == name))
            if role_id is None:
                raise CommandError(f"there is no role {name!r}")
            role_ids.append(role_id)
        team_ids = []
        for name in args.team or []:
            team_id = session.scalar(select(Team.id).where(Team.name == name))
            if team_id is None:
                raise CommandError(f"there is no team {name!r}; create it first")
            team_ids.append(team_id)
        data = validate(
            UserIn,
            {
                "username": args.username,
                "full_name": args.full_name or args.username,
                "email": args.email or "",
                "language": args.language,
                "role_ids": role_ids,
                "team_ids": team_ids,
            },
        )
        user = create_user(
            session, data, mail_domain=database.settings.mail_domain, password=password
        )
        console.print(f"Created user {user.username} <{user.email}>.")


def cmd_user_list(args: argparse.Namespace) -> None:
    from groupware.accounts.users import list_users

    database = _database(args)
    header = ("username", "full name", "e-mail", "language", "active", "roles", "teams")
    rows: list[tuple[str, ...]] = []
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        for user in list_users(session, limit=1_000_000):
            teams = ", ".join(
                m.team.name + (" (lead)" if m.is_lead else "") for m in user.memberships
            )
            roles = ", ".join(r.name for r in user.roles)
            active = "yes" if user.is_active else "no"
            rows.append(
                (user.username, user.full_name, user.email, user.language, active, roles, teams)
            )
    if not sys.stdout.isatty():  # for scripts: tab-separated, one user per line
        for row in (header, *rows):
            print("\t".join(row))
        return
    table = Table(*header)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def cmd_user_passwd(args: argparse.Namespace) -> None:
    from groupware.accounts.users import set_password

    database = _database(args)
    password = _read_password(args, prompt=f"New password for {args.username}: ")
    with database.transaction(actor_id=None, channel="cli") as session:
        user = _find_user(session, args.username)
        set_password(session, user, password)  # type: ignore[arg-type]
    console.print(f"Set the password of {args.username}; their sessions are logged out.")


def cmd_user_disable(args: argparse.Namespace) -> None:
    from groupware.accounts.users import disable_user

    database = _database(args)
    with database.transaction(actor_id=None, channel="cli") as session:
        user = _find_user(session, args.username)
        disable_user(session, user)  # type: ignore[arg-type]
    console.print(f"Disabled {args.username} and ended their sessions.")


def cmd_token_create(args: argparse.Namespace) -> None:
    from groupware.accounts.credentials import create_credential

    database = _database(args)
    with database.transaction(actor_id=None, channel="cli") as session:
        user = _find_user(session, args.username)
        secret, _row = create_credential(session, user, kind="api_token", name=args.name)  # type: ignore[arg-type]
    print(secret)


def cmd_demo(args: argparse.Namespace) -> None:
    from groupware.demo import DEMO_PASSWORD, STEPS, USERS, load_demo

    database = _database(args)
    # A bar on a terminal (the load takes a while); nothing in a log or a pipe.
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task("Loading the demo company", total=len(STEPS))

        def step(number: int, name: str) -> None:
            progress.update(task, completed=number, description=f"Loading {name}")

        loaded = load_demo(database, step=step)
        progress.update(task, completed=len(STEPS), description="Done")
    if loaded:
        console.print("Loaded the demo company.")
    else:
        console.print("The demo company is already loaded.")
    console.print(f"Demo users, each with the password {DEMO_PASSWORD!r}:")
    for username, full_name, _language, roles, teams in USERS:
        team_names = ", ".join(t.lstrip("*") for t in teams)
        console.print(f"  {username:<10} {full_name:<20} {', '.join(roles):<15} {team_names}")


def cmd_backup(args: argparse.Namespace) -> None:
    from groupware.backup import backup

    database = _database(args)
    path = backup(database, Path(args.file) if args.file else None)
    console.print(f"Wrote the backup {path}.")


def cmd_restore(args: argparse.Namespace) -> None:
    from groupware.backup import restore

    database = _database(args, migrated=False)
    counts = restore(database, Path(args.file))
    total = sum(counts.values())
    console.print(f"Restored {total} rows in {len(counts)} tables and the data directory.")


def cmd_import(args: argparse.Namespace) -> None:
    from groupware.crm.importing import cli as importing_cli

    database = _database(args)
    importing_cli.run(database, args, console)


def cmd_run_jobs(args: argparse.Namespace) -> None:
    from groupware.jobs import run_jobs

    database = _database(args)
    jobs = wiring.current().jobs
    if args.job and args.job not in {job.name for job in jobs}:
        raise CommandError(
            f"there is no job {args.job!r}; known: {', '.join(j.name for j in jobs)}"
        )
    # Work the jobs start (a resumed import) is finished before the command exits.
    results = run_jobs(database, only=args.job, wait=True)
    for name, count in results.items():
        console.print(f"{name}: {'skipped' if count is None else count}")


def cmd_mail_queue(args: argparse.Namespace) -> None:
    from groupware.mail import relay

    database = _database(args)
    with database.transaction(actor_id=None, channel="cli") as session:
        if args.retry is not None:
            if not relay.retry(session, args.retry):
                raise CommandError(f"no queued mail has the id {args.retry}")
            console.print(f"Mail {args.retry} is due now; the relay-mail job sends it next.")
            return
        header = (
            "id",
            "state",
            "sender",
            "recipient",
            "attempts",
            "next attempt (UTC)",
            "last error",
        )
        rows = [
            (
                str(row.id),
                row.state,
                row.sender,
                row.recipient,
                str(row.attempts),
                row.next_attempt_at.strftime("%Y-%m-%d %H:%M") if row.state == "queued" else "",
                row.last_error,
            )
            for row in relay.queue(session)
        ]
    if not sys.stdout.isatty():  # for scripts: tab-separated, one recipient per line
        for row in (header, *rows):
            print("\t".join(row))
        return
    table = Table(*header)
    for row in rows:
        table.add_row(*row)
    console.print(table)


# -- parser -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groupware",
        description="CRM and groupware server. Without a command, serves (see `serve`).",
    )
    parser.add_argument("--config", help="TOML settings file (default: $GROUPWARE_CONFIG)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(
        name: str,
        handler: Callable[[argparse.Namespace], None],
        text: str,
        parent: argparse._SubParsersAction[argparse.ArgumentParser] = commands,
    ) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "Run the server (web, API and the background jobs).")
    serve.add_argument(
        "--role",
        choices=["all", "web", "smtp", "worker"],
        default="all",
        help="what this process runs: all (default), web only, SMTP only, or jobs only",
    )
    serve.add_argument("--host", help="listen address (default: GROUPWARE_HTTP_HOST)")
    serve.add_argument("--port", type=int, help="listen port (default: GROUPWARE_HTTP_PORT)")

    add("migrate", cmd_migrate, "Create or upgrade the database schema.")

    user = commands.add_parser("user", help="Manage users.", description="Manage users.")
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    user_add = add("add", cmd_user_add, "Create a user.", user_commands)
    user_add.add_argument("username")
    user_add.add_argument("--email", help="address in the mail domain (default: USERNAME@domain)")
    user_add.add_argument("--full-name", help="full name (default: the username)")
    user_add.add_argument("--role", action="append", help="role name, repeatable (default: staff)")
    user_add.add_argument("--team", action="append", help="team name, repeatable")
    user_add.add_argument("--language", choices=["hr", "en"], default="hr")
    user_add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    add("list", cmd_user_list, "List users.", user_commands)
    passwd = add("passwd", cmd_user_passwd, "Set a user's password.", user_commands)
    passwd.add_argument("username")
    passwd.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input",
    )
    disable = add(
        "disable", cmd_user_disable, "Disable a user and end their sessions.", user_commands
    )
    disable.add_argument("username")

    token = commands.add_parser(
        "token", help="Manage API tokens.", description="Manage API tokens."
    )
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    token_create = add(
        "create", cmd_token_create, "Print a new API token for a user.", token_commands
    )
    token_create.add_argument("username")
    token_create.add_argument("--name", default="command line", help="what the token is for")

    add("demo", cmd_demo, "Load a demo company (users, teams, data of every module), once.")

    backup = add("backup", cmd_backup, "Write a consistent snapshot of the database and data dir.")
    backup.add_argument(
        "file", nargs="?", help="archive to write (default: <data dir>/backups/...)"
    )
    restore = add("restore", cmd_restore, "Restore a backup into an empty install.")
    restore.add_argument("file", help="archive written by `groupware backup`")

    importing = commands.add_parser(
        "import",
        help="Import partners, persons or ERP documents from a CSV file.",
        description="Import partners, persons or ERP documents from a CSV file (UTF-8, "
        "UTF-8 with BOM, Windows-1250; ; , or tab). Every row is checked first; a file with "
        "errors lists them all and commits nothing unless --skip-invalid is given.",
    )
    import_kinds = importing.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, keys, text in (
        ("partners", ("oib", "external-id", "email"), "Import partners."),
        (
            "persons",
            ("email", "external-id"),
            "Import persons (linked to partners by OIB or external id).",
        ),
        (
            "documents",
            ("number",),
            "Import ERP documents (offers, orders, invoices, delivery notes).",
        ),
    ):
        sub = add(kind, cmd_import, text, import_kinds)
        sub.add_argument("file", help="the CSV file")
        sub.add_argument(
            "--key", choices=keys, default=keys[0], help=f"upsert key (default: {keys[0]})"
        )
        sub.add_argument(
            "--skip-invalid", action="store_true", help="commit the valid rows, skip the others"
        )
        sub.add_argument("--dry-run", action="store_true", help="check and report, commit nothing")
        sub.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="map a column to a field (or to nothing: COLUMN=), repeatable",
        )
        sub.add_argument("--user", help="import as this user (their rights apply; default: system)")
        if kind == "partners":
            sub.add_argument(
                "--create-groups",
                action="store_true",
                help="create the partner groups the file names that do not exist",
            )
            sub.add_argument(
                "--map-group",
                action="append",
                default=[],
                metavar="FILE_VALUE=GROUP",
                help="take a group name of the file as an existing group, repeatable",
            )

    jobs = add("run-jobs", cmd_run_jobs, "Run the periodic jobs once.")
    jobs.add_argument("--job", help="run only this job")

    mail_queue = add(
        "mail-queue", cmd_mail_queue, "List mail for outside addresses still queued or failed."
    )
    mail_queue.add_argument(
        "--retry", type=int, metavar="ID", help="make this queued recipient due now"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        args = parser.parse_args([*(sys.argv[1:] if argv is None else argv), "serve"])
        handler = args.handler
    args.opened = []
    # Messages of the command line are English, whatever the UI's default language.
    with use_language("en"):
        try:
            handler(args)
        except (SettingsError, DatabaseUnavailable, CommandError, GroupwareError) as exc:
            message = str(exc)
            if isinstance(exc, Invalid):
                message = "; ".join(f"{k}: {v}" if k else str(v) for k, v in exc.errors.items())
            print(f"groupware: error: {message}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130
        finally:
            for database in args.opened:
                database.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
