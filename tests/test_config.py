"""Configuration as an operator sets it: defaults, the `.env` file, and the generated secret key."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from core.config import Config, SentinelTarget, sentinel_target
from models.errors import ConfigError

NAMES = ("REPAIRBOT_DATABASE_URL", "REPAIRBOT_REDIS_URL", "REPAIRBOT_SECRET_KEY", "REPAIRBOT_MEDIA_DIR",
         "REPAIRBOT_PUBLIC_URL", "REPAIRBOT_INSTANCE_PATH", "REPAIRBOT_LOG_LEVEL", "WECHAT_TOKEN", "WECHAT_APPID",
         "WECHAT_SECRET", "WECHAT_AES_KEY", "WECHAT_API_BASE_URL", "WECHAT_TEMPLATE_TICKET",
         "WECHAT_TEMPLATE_REPLY", "REPAIRBOT_TEMPLATES_FILE", "REPAIRBOT_REDIS_SENTINELS",
         "REPAIRBOT_REDIS_SENTINEL_SERVICE", "WECHAT_AES_KEY_PREVIOUS")


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder with none of repairbot's variables in the environment."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults(here: Path) -> None:
    """With nothing set, everything lives under ./instance and points at the documented defaults."""
    cfg = Config.from_env()
    instance = here / "instance"
    assert cfg.instance_path == instance
    assert cfg.database_url == f"sqlite:///{instance / 'repairbot.db'}"
    assert cfg.redis_url == ""  # the embedded Redis
    assert cfg.redis_embedded_path.parent == instance
    assert cfg.media_dir == instance / "media"
    assert cfg.public_url == "http://127.0.0.1:5000"
    assert cfg.wechat_api_base_url == "https://api.weixin.qq.com/cgi-bin/"
    assert cfg.wechat_token == cfg.wechat_aes_key == cfg.wechat_appid == cfg.wechat_secret == ""
    assert not cfg.wechat_ready


def test_environment_wins(here: Path) -> None:
    """Every documented variable is read; URLs are normalised the way they are used."""
    env = {
        "REPAIRBOT_INSTANCE_PATH": str(here / "var"),
        "REPAIRBOT_DATABASE_URL": "postgresql+psycopg://rb@db/rb",
        "REPAIRBOT_REDIS_URL": "redis://cache:6379/2",
        "REPAIRBOT_SECRET_KEY": "s3cret",
        "REPAIRBOT_MEDIA_DIR": str(here / "photos"),
        "REPAIRBOT_PUBLIC_URL": "https://repair.example.edu.cn/",
        "WECHAT_TOKEN": "tok",
        "WECHAT_APPID": "wx1",
        "WECHAT_SECRET": "sec",
        "WECHAT_AES_KEY": "k" * 43,
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9999/cgi-bin",
        "WECHAT_TEMPLATE_TICKET": "T1",
        "WECHAT_TEMPLATE_REPLY": "T2",
    }
    cfg = Config.from_env(env, dotenv=None)
    assert cfg.instance_path == here / "var"
    assert (cfg.database_url, cfg.redis_url, cfg.secret_key) == ("postgresql+psycopg://rb@db/rb",
                                                                 "redis://cache:6379/2", "s3cret")
    assert cfg.media_dir == here / "photos"
    assert cfg.public_url == "https://repair.example.edu.cn"  # links are built as public_url + "/t/..."
    assert cfg.wechat_api_base_url == "http://127.0.0.1:9999/cgi-bin/"
    assert (cfg.wechat_token, cfg.wechat_appid, cfg.wechat_secret) == ("tok", "wx1", "sec")
    assert (cfg.template_ticket, cfg.template_reply) == ("T1", "T2")
    assert cfg.wechat_ready
    assert not (here / "var" / "secret_key").exists()  # a given key is not replaced by a generated one


def test_media_dir_follows_the_instance_path(here: Path) -> None:
    """Moving the instance folder moves the database and the photos with it."""
    cfg = Config.from_env({"REPAIRBOT_INSTANCE_PATH": str(here / "data")}, dotenv=None)
    assert cfg.media_dir == here / "data" / "media"
    assert cfg.database_url == f"sqlite:///{here / 'data' / 'repairbot.db'}"


@pytest.mark.parametrize("name, attr, default", [
    ("REPAIRBOT_INSTANCE_PATH", "instance_path", None),
    ("REPAIRBOT_PUBLIC_URL", "public_url", "http://127.0.0.1:5000"),
    ("REPAIRBOT_MEDIA_DIR", "media_dir", None),
    ("WECHAT_API_BASE_URL", "wechat_api_base_url", "https://api.weixin.qq.com/cgi-bin/"),
])
def test_an_empty_variable_means_the_default(here: Path, name: str, attr: str, default: str | None) -> None:
    """`NAME=` in an env file (a value blanked out) means the default, not an empty setting."""
    cfg = Config.from_env({name: ""}, dotenv=None)
    expected = {"instance_path": here / "instance", "media_dir": here / "instance" / "media"}.get(attr, default)
    assert getattr(cfg, attr) == expected


def test_dotenv_file_is_read(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `.env` in the working folder is read; the real environment overrides it."""
    (here / ".env").write_text(
        "# repairbot settings\n"
        "WECHAT_TOKEN=from-dotenv\n"
        "WECHAT_APPID=wx-dotenv\n"
        "REPAIRBOT_PUBLIC_URL=https://dotenv.example.edu/\n"
        'REPAIRBOT_SECRET_KEY="quoted key"\n', encoding="utf-8")
    monkeypatch.setenv("WECHAT_APPID", "wx-from-environment")
    cfg = Config.from_env()
    assert cfg.wechat_token == "from-dotenv"
    assert cfg.wechat_appid == "wx-from-environment"
    assert cfg.public_url == "https://dotenv.example.edu"
    assert cfg.secret_key == "quoted key"


def test_dotenv_can_be_named_or_skipped(here: Path) -> None:
    """An explicit env file is read; dotenv=None reads none."""
    (here / "site.env").write_text("WECHAT_TOKEN=site\n", encoding="utf-8")
    (here / ".env").write_text("WECHAT_TOKEN=local\n", encoding="utf-8")
    assert Config.from_env({}, dotenv=here / "site.env").wechat_token == "site"
    assert Config.from_env({}, dotenv=None).wechat_token == ""
    assert Config.from_env({}, dotenv=here / "missing.env").wechat_token == ""


def test_secret_key_is_generated_once_and_reused(here: Path) -> None:
    """Without REPAIRBOT_SECRET_KEY a key is generated into the instance folder, kept private, and reused."""
    first = Config.from_env({}, dotenv=None)
    key_file = here / "instance" / "secret_key"
    assert key_file.is_file()
    assert len(first.secret_key) >= 32
    assert key_file.read_text().strip() == first.secret_key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = Config.from_env({}, dotenv=None)
    assert again.secret_key == first.secret_key  # links signed yesterday still open today
    other = Config.from_env({"REPAIRBOT_INSTANCE_PATH": str(here / "other")}, dotenv=None)
    assert other.secret_key != first.secret_key


def test_processes_starting_together_share_one_secret_key(here: Path) -> None:
    """Web and workers starting at the same moment on a fresh instance all end up with the same key."""
    for attempt in range(10):
        instance = here / f"fresh-{attempt}"
        barrier = threading.Barrier(8)
        keys: list[str] = []

        def start(folder: Path = instance, gate: threading.Barrier = barrier, out: list[str] = keys) -> None:
            gate.wait()
            out.append(Config.from_env({"REPAIRBOT_INSTANCE_PATH": str(folder)}, dotenv=None).secret_key)

        threads = [threading.Thread(target=start) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(keys) == 8 and all(keys)
        assert len(set(keys)) == 1, f"attempt {attempt}: {len(set(keys))} different keys"
        assert (instance / "secret_key").read_text().strip() == keys[0]


def test_require_names_the_missing_variables() -> None:
    """`serve` without a token stops with the variable's name, as the operator must set it."""
    cfg = Config.from_env({"REPAIRBOT_SECRET_KEY": "k"}, dotenv=None)
    with pytest.raises(ConfigError) as err:
        cfg.require("wechat_token", "wechat_appid", "database_url")
    assert "WECHAT_TOKEN" in str(err.value) and "WECHAT_APPID" in str(err.value)
    assert "REPAIRBOT_DATABASE_URL" not in str(err.value)  # it has a default
    cfg.override(wechat_token="t", wechat_appid="a").require("wechat_token", "wechat_appid")


def test_config_is_frozen() -> None:
    """A Config cannot be changed in place: override() makes a new one."""
    cfg = Config.from_env({"REPAIRBOT_SECRET_KEY": "k"}, dotenv=None)
    with pytest.raises(AttributeError):
        cfg.wechat_token = "x"  # type: ignore[misc]
    assert cfg.override(wechat_token="x").wechat_token == "x" and cfg.wechat_token == ""


def test_process_environment_is_read_by_default(here: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no mapping given, the process environment is read (what the CLI and gunicorn do)."""
    monkeypatch.setenv("WECHAT_TOKEN", "process-token")
    monkeypatch.setenv("REPAIRBOT_SECRET_KEY", "process-key")
    cfg = Config.from_env()
    assert (cfg.wechat_token, cfg.secret_key) == ("process-token", "process-key")


def test_a_redis_watched_by_sentinel_is_named_by_url_or_by_its_sentinels(here: Path) -> None:
    """redis+sentinel://[:password@]host:port[,host:port…]/service/db, or the sentinels and the service apart."""
    url = "redis+sentinel://:s%40cret@10.0.0.21:26379,10.0.0.22/school/2"
    target = sentinel_target(Config.from_env({"REPAIRBOT_REDIS_URL": url}, dotenv=None).redis_url)
    assert target == SentinelTarget((("10.0.0.21", 26379), ("10.0.0.22", 26379)), "school", 2, "s@cret")
    apart = Config.from_env({"REPAIRBOT_REDIS_SENTINELS": "10.0.0.21:26379, 10.0.0.22:26380"}, dotenv=None)
    assert apart.redis_url == "redis+sentinel://10.0.0.21:26379,10.0.0.22:26380/repairbot/0"
    assert "s%40cret" not in repr(Config.from_env({"REPAIRBOT_REDIS_URL": url}, dotenv=None))


@pytest.mark.parametrize("url", ["redis+sentinel://127.0.0.1:26379", "redis+sentinel://h:port/svc/0",
                                 "redis+sentinel://h:26379/svc/zero"])
def test_a_sentinel_url_that_cannot_be_read_stops_the_start(here: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="REPAIRBOT_REDIS_URL"):
        Config.from_env({"REPAIRBOT_REDIS_URL": url}, dotenv=None)


def test_the_previous_aes_key_is_read_and_never_shown(here: Path) -> None:
    cfg = Config.from_env({"WECHAT_AES_KEY": "n" * 43, "WECHAT_AES_KEY_PREVIOUS": "p" * 43}, dotenv=None)
    assert cfg.wechat_aes_key_previous == "p" * 43 and "p" * 43 not in repr(cfg)
