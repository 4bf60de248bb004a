"""Bridges for the front door's site: the bucket policy, the origin access control, the distribution.

Registered by moto_frontdoor.py (its docstring names the moto gaps they close).
"""

from __future__ import annotations

from typing import Any


def bucket_policy(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """AWS::S3::BucketPolicy onto moto's S3."""
    import json

    from moto.s3.models import s3_backends

    s3_backends[account]["aws"].put_bucket_policy(p["Bucket"], json.dumps(p["PolicyDocument"]).encode())
    return p["Bucket"], {}


def origin_access_control(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """AWS::CloudFront::OriginAccessControl onto moto's CloudFront."""
    from moto.cloudfront.models import cloudfront_backends

    created = cloudfront_backends[account]["aws"].create_origin_access_control(p["OriginAccessControlConfig"])
    return created.id, {"Id": created.id}


def _items(values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": values}


def distribution(p: dict[str, Any], account: str, region: str) -> tuple[str, dict[str, str]]:
    """AWS::CloudFront::Distribution onto moto's CloudFront (its API's list shapes)."""
    import uuid

    from moto.cloudfront.models import cloudfront_backends

    # CloudFormation's lists become the API's {Quantity, Items} wrappers.
    config = dict(p["DistributionConfig"], CallerReference=str(uuid.uuid4()))
    origins = []
    for origin in config["Origins"]:
        origin = dict(origin)
        if "OriginCustomHeaders" in origin:
            origin["CustomHeaders"] = _items(origin.pop("OriginCustomHeaders"))
        if "CustomOriginConfig" in origin:
            custom = dict(origin["CustomOriginConfig"])
            custom["OriginSslProtocols"] = _items(custom.pop("OriginSSLProtocols", []))
            origin["CustomOriginConfig"] = custom
        origins.append(origin)
    config["Origins"] = _items(origins)

    def behavior(b: dict[str, Any]) -> dict[str, Any]:
        return dict(b, AllowedMethods=_items(list(b.get("AllowedMethods", ["GET", "HEAD"]))))

    config["DefaultCacheBehavior"] = behavior(config["DefaultCacheBehavior"])
    config["CacheBehaviors"] = _items([behavior(b) for b in config.get("CacheBehaviors", [])])
    created, _, _ = cloudfront_backends[account]["aws"].create_distribution(config, [])
    return created.id, {"DomainName": created.domain_name, "Id": created.id}
