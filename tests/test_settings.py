"""Settings: environment parsing and secrets read from Secrets Manager by ARN."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from reviva.settings import Settings, load_settings, reset_settings_cache


def test_write_keys_and_origins_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVIVA_WRITE_KEYS", " a, b ,,c")
    monkeypatch.setenv("REVIVA_WRITE_KEY", "d")
    monkeypatch.setenv("REVIVA_ALLOWED_ORIGINS", "https://revivatech.co.uk, https://shop.revivatech.co.uk")
    settings = Settings()
    assert settings.accepted_write_keys() == {"a", "b", "c", "d"}
    assert settings.origins() == ("https://revivatech.co.uk", "https://shop.revivatech.co.uk")


def test_missing_pseudonymization_key_refuses_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REVIVA_PSEUDONYMIZATION_KEY")
    with pytest.raises(RuntimeError, match="REVIVA_PSEUDONYMIZATION_KEY"):
        Settings().hmac_key()


def test_secrets_given_by_arn_are_read_at_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        key_arn = secrets.create_secret(Name="pseudonymization", SecretString="from-secrets-manager")["ARN"]
        keys_arn = secrets.create_secret(Name="write-keys", SecretString="k1,k2")["ARN"]
        monkeypatch.delenv("REVIVA_PSEUDONYMIZATION_KEY")
        monkeypatch.delenv("REVIVA_WRITE_KEYS")
        monkeypatch.setenv("REVIVA_PSEUDONYMIZATION_KEY_SECRET_ARN", key_arn)
        monkeypatch.setenv("REVIVA_WRITE_KEYS_SECRET_ARN", keys_arn)
        reset_settings_cache()
        settings = load_settings()
        assert settings.pseudonymization_key == "from-secrets-manager"
        assert settings.accepted_write_keys() == {"k1", "k2"}
        assert load_settings() is settings  # read once per container


def test_values_in_the_environment_win_over_secret_arns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "REVIVA_PSEUDONYMIZATION_KEY_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:x"
    )
    monkeypatch.setenv("REVIVA_WRITE_KEYS_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:1:secret:y")
    reset_settings_cache()
    # No AWS call is made: both values are already set by the test environment.
    assert load_settings().pseudonymization_key == "test-pseudonymization-key"
