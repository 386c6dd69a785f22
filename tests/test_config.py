"""Settings from the environment: the production profile never trusts demo-only things."""

import pytest

from cds_service.config import ConfigError, from_env


def test_production_never_accepts_the_sandbox_issuer_or_the_demo_card():
    s = from_env({"CDS_ALLOW_SANDBOX_ISSUER": "true", "CDS_DEMO_DRAFT_CARD": "true"}, profile="production")
    assert s.auth_enabled and not s.allow_sandbox_issuer and not s.demo_draft_card


def test_demo_profile_defaults():
    s = from_env({}, profile="demo")
    assert not s.auth_enabled and s.allow_sandbox_issuer and s.demo_draft_card
    assert any("8913" in u for u in s.fhir_allow)


def test_environment_overrides():
    s = from_env(
        {
            "CDS_EXTERNAL_BASE_URL": "https://cds.example.org/",
            "CDS_FHIR_ALLOW": "https://a/fhir, https://b/fhir",
            "CDS_FHIR_BUDGET_SECONDS": "1.5",
            "CDS_TRUSTED_ISSUERS": '[{"iss": "https://ehr", "jwks_file": "k.json"}]',
        },
        profile="production",
    )
    assert s.external_base_url == "https://cds.example.org"
    assert s.fhir_allow == ("https://a/fhir", "https://b/fhir") and s.fhir_budget_seconds == 1.5
    assert s.trusted_issuers[0].iss == "https://ehr" and s.trusted_issuers[0].jwks_file == "k.json"


def test_bad_values_name_the_variable():
    import pytest

    from cds_service.config import ConfigError

    with pytest.raises(ConfigError, match="CDS_FHIR_BUDGET_SECONDS"):
        from_env({"CDS_FHIR_BUDGET_SECONDS": "soon"}, profile="production")
    with pytest.raises(ConfigError, match="CDS_TRUSTED_ISSUERS"):
        from_env({"CDS_TRUSTED_ISSUERS": "[{"}, profile="production")
    with pytest.raises(ConfigError, match=r"CDS_TRUSTED_ISSUERS\[0\].*key source.*jku_allow"):
        from_env({"CDS_TRUSTED_ISSUERS": '[{"iss": "https://ehr"}]'}, profile="production")


def test_trusted_issuers_agree_with_the_documented_rules():
    """README: an issuer needs at least one key source (jwks_file, jwks_url or jku_allow), jwks_file or
    jwks_url but not both, and may be listed once."""
    only_jku = from_env(
        {"CDS_TRUSTED_ISSUERS": '[{"iss": "https://ehr", "jku_allow": ["https://ehr/jwks.json"]}]'},
        profile="production",
    )
    assert only_jku.trusted_issuers[0].jku_allow == ("https://ehr/jwks.json",)
    assert only_jku.trusted_issuers[0].jwks_file is None and only_jku.trusted_issuers[0].jwks_url is None
    bad = {
        "not both": '[{"iss": "https://ehr", "jwks_file": "k.json", "jwks_url": "https://ehr/k"}]',
        "more than once": '[{"iss": "https://ehr", "jwks_file": "k.json"}, '
        '{"iss": "https://ehr", "jwks_file": "j.json"}]',
        "list of URLs": '[{"iss": "https://ehr", "jku_allow": "https://ehr/jwks.json"}]',
    }
    for words, raw in bad.items():
        with pytest.raises(ConfigError, match=words):
            from_env({"CDS_TRUSTED_ISSUERS": raw}, profile="production")
