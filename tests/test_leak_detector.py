"""The log scanner that fails the session when a token or secret shows up in captured logs."""

from tests.conftest import find_leaks

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdWItYWxpY2UiLCJjbGllbnRfaWQiOiJ4In0.c2lnbmF0dXJlLXNlZ21lbnQtdmFsdWU"


def test_detects_whole_and_partial_tokens_and_secrets() -> None:
    sensitive = {TOKEN, "machine-secret-value"}
    assert find_leaks(f"Authorization: Bearer {TOKEN}", sensitive)
    assert find_leaks("sig=" + TOKEN.split(".")[2], sensitive)
    assert find_leaks("secret is machine-secret-value", sensitive)
    assert find_leaks("nothing sensitive here, only eyJhbGciOiJSUzI1NiJ9", sensitive) == []


def test_labels_never_repeat_any_part_of_the_value() -> None:
    secret = "Zq9-secret-value-123"
    assert find_leaks(TOKEN, {TOKEN}) == [f"a {len(TOKEN)}-character token"]
    [label] = find_leaks(f"oops {secret}", {secret})
    assert label == f"a {len(secret)}-character secret" and secret[:3] not in label
