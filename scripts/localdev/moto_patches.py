"""Patches to moto's own models that the front-door test server needs (gaps named in moto_frontdoor.py).

Each patch changes one behaviour and is applied only by the test server's start-up.
"""

from __future__ import annotations

from typing import Any

TLS_ONLY_DENY_ON_HTTPS = "the aws:SecureTransport=false Deny does not apply to HTTPS requests"
TLS_ONLY_CONDITION = {"Bool": {"aws:SecureTransport": "false"}}


def keep_public_access_block() -> None:
    """CloudFormation-created buckets keep their PublicAccessBlockConfiguration (moto drops it)."""
    from moto.s3.models import FakeBucket, s3_backends

    create = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_and_block(
        cls: Any,
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> Any:
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        block = cloudformation_json.get("Properties", {}).get("PublicAccessBlockConfiguration")
        if block:
            s3_backends[account_id]["aws"].put_public_access_block(bucket.name, block)
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(create_and_block)  # type: ignore[method-assign,assignment]


def serve_tls_only_buckets() -> str:
    """Evaluate bucket policies without the TLS-only Deny (only valid when the server speaks HTTPS)."""
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode())
        statements = policy["Statement"] if isinstance(policy["Statement"], list) else [policy["Statement"]]
        policy["Statement"] = [s for s in statements if s.get("Condition") != TLS_ONLY_CONDITION]
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    return TLS_ONLY_DENY_ON_HTTPS


def refresh_outputs_after_change_sets() -> None:
    """A stack created through a change set gets its Outputs (moto leaves them empty)."""
    from moto.cloudformation.models import ChangeSet

    apply = ChangeSet.apply

    def apply_and_refresh_outputs(self: Any) -> None:
        apply(self)
        self.stack.template_dict = self.template_dict
        self.stack.output_map = self.stack._create_output_map()

    ChangeSet.apply = apply_and_refresh_outputs  # type: ignore[method-assign]
