"""Credentials follow the operator: the real anthropic SDK (and the OpenAI-compatible client) against local fake
servers. A repository that names a host in ``provider.base_url`` never receives the operator's key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import invoke
from fakes.anthropic_server import FakeModelServer

from agents.llm import make_provider, resolve_provider_name
from agents.llm.anthropic import AnthropicProvider
from agents.llm.credentials import ALLOWED_ENV, PROVIDER_ENV, normalize_url, operator_endpoint, resolve_endpoint
from core.config import Config, ProviderConfig
from core.errors import ConfigError

KEY = "sk-ant-operator-secret"
GOOD = (Path(__file__).parent / "fixtures" / "good_app.yaml").read_text()
OPERATOR_VARS = ("ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "OPENAI_API_KEY", "ANTHROPIC_AUTH_TOKEN", PROVIDER_ENV,
                 ALLOWED_ENV)


@pytest.fixture(autouse=True)
def _operator_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OPERATOR_VARS:
        monkeypatch.delenv(name, raising=False)


def workspace(tmp_path: Path, provider: str) -> Path:
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(GOOD)
    (tmp_path / ".infra-orchestrator.yaml").write_text(f"phase3:\n  protected: ['app/src/**']\nprovider:\n{provider}")
    return tmp_path


def sent_key(server: FakeModelServer) -> bool:
    return any(KEY in (c.headers.get("authorization", "") + c.headers.get("x-api-key", "")) for c in server.calls)


def test_the_operators_base_url_beats_the_repositorys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with FakeModelServer() as repo_host, FakeModelServer() as operator_host:
        root = workspace(tmp_path, f"  name: anthropic\n  base_url: {repo_host.base_url}\n")
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", operator_host.base_url)
        result = invoke("review", str(root), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metadata"]["provider"] == "anthropic"
    assert repo_host.calls == [] and not sent_key(repo_host)
    assert len(operator_host.calls) == 5 and operator_host.calls[0].headers["authorization"] == f"Bearer {KEY}"


def test_a_base_url_the_repository_alone_chose_gets_no_request(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with FakeModelServer() as repo_host:
        root = workspace(tmp_path, f"  name: anthropic\n  base_url: {repo_host.base_url}\n")
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        result = invoke("review", str(root))
    assert result.returncode == 2
    assert "is not an operator-approved base URL" in result.stderr and ALLOWED_ENV in result.stderr
    assert KEY not in result.stderr + result.stdout
    assert repo_host.calls == []


def test_an_operator_approved_base_url_may_be_chosen_by_the_repository(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch):
    with FakeModelServer() as proxy:
        root = workspace(tmp_path, f"  name: auto\n  base_url: {proxy.base_url}/\n")
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv(ALLOWED_ENV, f"https://gateway.example.com, {proxy.base_url}")
        result = invoke("review", str(root), "--format", "json")
    assert result.returncode == 0, result.stderr
    assert len(proxy.calls) == 5 and sent_key(proxy)


def test_the_operator_picks_the_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with FakeModelServer() as host:
        root = workspace(tmp_path, "  name: anthropic\n")
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", host.base_url)
        monkeypatch.setenv(PROVIDER_ENV, "offline")
        result = invoke("review", str(root), "--format", "json")
    assert json.loads(result.stdout)["metadata"]["provider"] == "offline" and host.calls == []
    assert resolve_provider_name(Config(), {PROVIDER_ENV: "Anthropic"}) == "anthropic"
    with pytest.raises(ConfigError, match="unknown provider"):
        resolve_provider_name(Config(), {PROVIDER_ENV: "evil"})


def test_the_openai_compatible_client_follows_the_same_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with FakeModelServer() as repo_host:
        root = workspace(tmp_path, f"  name: openai\n  model: llama3.1\n  base_url: {repo_host.openai_base_url}\n")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        result = invoke("review", str(root))
    assert result.returncode == 2 and repo_host.calls == []
    env = {"OPENAI_API_KEY": KEY}
    ollama = resolve_endpoint(ProviderConfig(name="openai"), "openai", env)
    assert (ollama.base_url, ollama.api_key) == ("http://localhost:11434/v1", None)  # the default gets no key
    named = resolve_endpoint(ProviderConfig(name="openai"), "openai", {**env, "OPENAI_BASE_URL": "http://llm:8000/v1"})
    assert (named.base_url, named.api_key, named.chosen_by) == ("http://llm:8000/v1", KEY, "OPENAI_BASE_URL")
    official = resolve_endpoint(ProviderConfig(name="openai", base_url="https://API.openai.com:443/v1/"), "openai", env)
    assert official.api_key == KEY and official.chosen_by == "provider.base_url (approved)"


def test_an_operator_config_file_is_trusted_with_its_base_url():
    config = Config(provider=ProviderConfig(name="anthropic", base_url="http://127.0.0.1:9/"))
    env = {"ANTHROPIC_API_KEY": KEY}
    with pytest.raises(ConfigError):
        make_provider(config, env)
    provider = make_provider(config, env, config_trusted=True)
    assert provider.endpoint.chosen_by == "operator config" and str(provider.client.base_url).startswith(
        "http://127.0.0.1:9")


def test_building_a_provider_directly_from_a_repository_config_is_refused(monkeypatch: pytest.MonkeyPatch):
    """The eval runner builds providers from each scenario repository's config: the same rule holds there."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with pytest.raises(ConfigError, match="not an operator-approved base URL"):
        AnthropicProvider(ProviderConfig(name="anthropic", base_url="http://attacker.example"))
    chosen = AnthropicProvider(ProviderConfig(), endpoint=operator_endpoint("anthropic", "http://127.0.0.1:9", "test"))
    assert chosen.endpoint.api_key == KEY and "key=set" in repr(chosen.endpoint) and KEY not in repr(chosen.endpoint)


@pytest.mark.parametrize(("url", "normal"), [
    ("https://API.Anthropic.com/", "https://api.anthropic.com"),
    ("https://api.anthropic.com:443", "https://api.anthropic.com"),
    ("http://127.0.0.1:8080/v1/", "http://127.0.0.1:8080/v1"),
    ("https://api.anthropic.com.attacker.example", "https://api.anthropic.com.attacker.example"),
    ("https://api.anthropic.com@attacker.example", "https://attacker.example"),
])
def test_base_urls_are_compared_normalised(url: str, normal: str):
    assert normalize_url(url) == normal


def test_lookalike_hosts_are_not_the_official_one():
    for url in ("https://api.anthropic.com.attacker.example", "https://api.anthropic.com@attacker.example",
                "http://api.anthropic.com"):
        with pytest.raises(ConfigError):
            resolve_endpoint(ProviderConfig(base_url=url), "anthropic", {"ANTHROPIC_API_KEY": KEY})
    assert resolve_endpoint(ProviderConfig(base_url="https://api.anthropic.com/"), "anthropic", {}).api_key is None
