from __future__ import annotations

from pathlib import Path

import pytest

from groupware.settings import SettingsError, env_name, load_settings, setting_fields


def test_defaults_are_the_documented_ones() -> None:
    s = load_settings({})
    assert s.effective_database_url == "sqlite:///var/groupware.db"
    assert s.data_dir == Path("var")
    assert (s.http_host, s.http_port) == ("127.0.0.1", 8000)
    assert (s.smtp_host, s.smtp_port) == ("127.0.0.1", 2525)
    assert s.mail_domain == "groupware.local"


def test_environment_overrides_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "groupware.toml"
    config.write_text('http_port = 9000\nmail_domain = "firma.hr"\nsecure_cookies = true\n')
    s = load_settings({"GROUPWARE_CONFIG": str(config), "GROUPWARE_HTTP_PORT": "9100"})
    assert s.http_port == 9100
    assert s.mail_domain == "firma.hr"
    assert s.secure_cookies is True


def test_settings_are_frozen() -> None:
    s = load_settings({})
    with pytest.raises(AttributeError):
        s.http_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GROUPWARE_HTTP_PORT": "eighty"}, "GROUPWARE_HTTP_PORT='eighty' is invalid"),
        ({"GROUPWARE_HTTP_PORT": "70000"}, "is not a TCP port"),
        ({"GROUPWARE_COLOUR": "blue"}, "unknown setting GROUPWARE_COLOUR"),
        ({"GROUPWARE_DATABASE_URL": "mysql://x/y"}, "supported are sqlite"),
        ({"GROUPWARE_DATABASE_URL": "not a url"}, "is not a database URL"),
        ({"GROUPWARE_MAIL_DOMAIN": "no spaces allowed"}, "is not a domain name"),
        ({"GROUPWARE_TIMEZONE": "Mars/Olympus"}, "is not a time zone"),
        ({"GROUPWARE_DEFAULT_LANGUAGE": "de"}, "must be one of"),
        ({"GROUPWARE_SECURE_COOKIES": "maybe"}, "expected true or false"),
        ({"GROUPWARE_TRUSTED_PROXIES": "10.0.0.0/33"}, "is invalid"),
        ({"GROUPWARE_SESSION_IDLE_MINUTES": "0"}, "must be a positive number"),
        ({"GROUPWARE_SECRET_KEY": "short"}, "at least 32 characters"),
    ],
)
def test_a_wrong_value_is_one_clear_line(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ)
    text = str(caught.value)
    assert message in text
    assert "\n" not in text


def test_unknown_key_in_toml_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("htp_port = 1\n")
    with pytest.raises(SettingsError, match="unknown setting 'htp_port'"):
        load_settings({}, config_file=config)


def test_every_setting_is_documented_in_the_readme(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    missing = [env_name(f.name) for f in setting_fields() if f"`{env_name(f.name)}`" not in readme]
    assert not missing, f"README.md does not document: {', '.join(missing)}"
    assert "`GROUPWARE_CONFIG`" in readme


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = load_settings({"GROUPWARE_DATA_DIR": str(tmp_path)})
    first = s.ensure_secret_key()
    assert len(first) >= 32
    assert s.ensure_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
