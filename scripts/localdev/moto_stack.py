"""A moto server that can deploy scripts/deploy/prerequisites.yaml (the Cognito CloudFormation bridge).

Shared by tests/test_prerequisites.py (the template and scripts/deploy/deploy-prerequisites.sh) and
tests/test_configure.py (scripts/deploy/configure.sh reading what the deployment wrote to SSM).

moto gaps, measured on moto 5.2.5:

1. Its CloudFormation engine has no handler for any ``AWS::Cognito::*`` type (UserPool, UserPoolDomain,
   UserPoolResourceServer, UserPoolClient). It skips them with a warning, a ``Ref`` to them resolves to
   None, and the SSM parameters fed from those Refs are rejected (``Value ''``): on a stock moto server
   the stack cannot complete. moto's cognito-idp *API* is there, however, so the moto server used here
   registers, for the Cognito types moto lacks only, minimal CloudFormation handlers that pass the
   template's properties unchanged to moto's own cognito-idp backend (``register_cognito_cfn_handlers``).
   Pool ids, pool ARNs (``GetAtt UserPool.Arn``), client ids and client secrets all come from moto's
   Cognito emulation; nothing is invented.
   How real CloudFormation maps those properties is covered by cfn-lint (real resource schemas) and the
   ``test_template_structure_*`` tests of tests/test_prerequisites.py instead.
2. Stacks created through a change set (``aws cloudformation deploy`` always uses one) get no Outputs,
   and ``Fn::GetAtt <SSM parameter>.Value`` is not resolved. Outputs are therefore compared with the
   SSM parameters on the template.
3. Re-deploying an unchanged template fails in moto's CreateChangeSet ("No updates are to be
   performed") instead of producing an empty change set, so the idempotent re-run (handled by
   ``--no-fail-on-empty-changeset`` on AWS) is not tested.
4. Invoking the Lambda needs Docker in moto; the packaged zip is unpacked and run locally instead.
5. moto's cognito-idp has no Managed Login branding API either. The bridge's
   ``AWS::Cognito::ManagedLoginBranding`` handler only checks that the pool and the app client it
   names exist in moto's Cognito (it fails the stack otherwise) and returns a fresh id; what the
   style looks like is Cognito's business (``UseCognitoProvidedValues``).
6. A ``Ref`` to a ``CommaDelimitedList`` parameter reaches a resource as the joined string, not as
   a list; the bridged ``UserPoolClient`` splits ``CallbackURLs``/``LogoutURLs`` as CloudFormation
   would have.

7. The bridge updates ``UserPool`` and ``UserPoolClient`` in place on a stack update (moto's
   ``update_user_pool`` / ``update_user_pool_client``, ids kept, as CloudFormation does for the
   properties this template changes: sign-up policy, callback URLs); other bridged types refuse updates.
8. A stack's second update that keeps a ``CommaDelimitedList`` parameter's previous value
   (``UsePreviousValue``) fails inside moto (``'list' object has no attribute 'split'`` in
   ``load_parameters``): the tests update a stack once.
9. A stack update only touches resources whose text or directly referenced parameters changed:
   a resource that depends on a parameter through a ``Condition`` (the pool's sign-up settings) is
   not updated, and resources whose condition turns false are not deleted. Turning SelfSignUp off
   again is therefore covered by the template tests and cfn-lint only.
10. Updating a stack whose Condition left resources out fails (``Fn::GetAtt references undefined
    resource PreSignUpRole``): the front-door test, which updates the prerequisites stack, deploys it
    with self sign-up on.
11. ``AWS::DynamoDB::Table`` (OrdersTable): moto applies the key schema, billing mode and deletion
    protection, but not ``PointInTimeRecoverySpecification`` (DescribeContinuousBackups says
    DISABLED) nor ``SSESpecification`` (no SSEDescription); those two are checked on the template
    and by cfn-lint. moto does not evaluate IAM either: the AccountTools role's Query/GetItem-only
    policy is checked on the template.

12. ``AWS::SecretsManager::Secret`` (the edge-grant key) has no CloudFormation handler either; the
    bridge creates it with moto's own secretsmanager backend, the value from moto's
    ``get_random_password`` with the template's ``GenerateSecretString`` options. moto's
    ``AWS::DynamoDB::Table`` ignores ``TimeToLiveSpecification`` (EdgeNonceTable): checked on the
    template. moto evaluates no IAM: the runtime policy's statements are checked on the template.

Run ``python -m scripts.localdev.moto_stack --serve-moto PORT`` (from the repository) for the bridged server.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "scripts" / "deploy" / "prerequisites.yaml"
DEPLOY_SCRIPT = REPO / "scripts" / "deploy" / "deploy-prerequisites.sh"
VENV_BIN = Path(sys.executable).parent
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
COGNITO_TYPES = (
    "AWS::Cognito::UserPool",
    "AWS::Cognito::UserPoolDomain",
    "AWS::Cognito::UserPoolResourceServer",
    "AWS::Cognito::UserPoolClient",
    "AWS::Cognito::ManagedLoginBranding",
)
SSM_NAMES = (
    "pool_id",
    "client_id",
    "user_client_id",
    "web_client_id",
    "cognito_domain_url",
    "cognito_discovery_url",
    "cognito_token_url",
    "cognito_auth_scope",
    "warranty_check_lambda_arn",
    "account_tools_lambda_arn",
    "orders_table_name",
    "requests_table_name",
    "audit_table_name",
    "feedback_table_name",
    "feedback_write_policy_arn",
    "edge_grant_secret_arn",
    "edge_nonce_table_name",
    "edge_runtime_policy_arn",
)
SECRET_TYPE = "AWS::SecretsManager::Secret"


BRIDGED_ATTRIBUTES = {("AWS::Cognito::UserPool", "Arn")}
_BRIDGES: list[type] = []  # moto finds models through weak __subclasses__() references: keep them alive


def register_cognito_cfn_handlers() -> list[str]:
    """Give moto's CloudFormation engine handlers for the Cognito types it lacks (see module docstring)."""
    from moto.cloudformation import parsing
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core.common_models import CloudFormationModel
    from moto.secretsmanager.models import secretsmanager_backends

    # Each returns the physical id (what Ref yields in CloudFormation) of what it created in moto's Cognito,
    # or (physical id, GetAtt attributes) for the types the template reads attributes of.
    def user_pool(props: dict[str, Any], backend: Any, resource_name: str) -> tuple[str, dict[str, str]]:
        name = props.pop("UserPoolName", resource_name)  # the API calls it PoolName
        pool = backend.create_user_pool(name, props)
        return pool.id, {"Arn": pool.arn}  # the PreSignUp permission's SourceArn

    def user_pool_client(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        pool_id = props.pop("UserPoolId")
        for key in ("CallbackURLs", "LogoutURLs"):  # gap 6: a CommaDelimitedList Ref arrives as text
            if isinstance(props.get(key), str):
                props[key] = props[key].split(",")
        secret = str(props.pop("GenerateSecret", False)).lower() == "true"
        return backend.create_user_pool_client(pool_id, secret, props).id

    def resource_server(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        backend.create_resource_server(
            props["UserPoolId"], props["Identifier"], props["Name"], props.get("Scopes", [])
        )
        return props["Identifier"]

    def user_pool_domain(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        backend.create_user_pool_domain(props["UserPoolId"], props["Domain"])
        return props["Domain"]

    def secret(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        options = props.get("GenerateSecretString", {})
        value = (
            props.get("SecretString")
            or json.loads(
                backend.get_random_password(
                    password_length=int(options.get("PasswordLength", 32)),
                    exclude_characters=options.get("ExcludeCharacters", ""),
                    exclude_numbers=_true(options.get("ExcludeNumbers")),
                    exclude_punctuation=_true(options.get("ExcludePunctuation")),
                    exclude_uppercase=_true(options.get("ExcludeUppercase")),
                    exclude_lowercase=_true(options.get("ExcludeLowercase")),
                    include_space=_true(options.get("IncludeSpace")),
                    require_each_included_type=True,
                )
            )["RandomPassword"]
        )
        name = props.get("Name") or f"{resource_name}-{uuid.uuid4().hex[:6]}"
        created = backend.create_secret(
            name, value, None, props.get("Description"), None, None, None, [], False
        )
        return str(created["ARN"] if isinstance(created, dict) else json.loads(created)["ARN"])

    def managed_login_branding(props: dict[str, Any], backend: Any, resource_name: str) -> str:
        backend.describe_user_pool_client(props["UserPoolId"], props["ClientId"])  # raises if absent
        return str(uuid.uuid4())

    # Updates in place, as CloudFormation does for these properties (the ids stay).
    def update_user_pool(physical_id: str, props: dict[str, Any], backend: Any) -> None:
        props.pop("UserPoolName", None)
        backend.update_user_pool(physical_id, props)

    def update_user_pool_client(physical_id: str, props: dict[str, Any], backend: Any) -> None:
        pool_id = props.pop("UserPoolId")
        for key in ("CallbackURLs", "LogoutURLs"):
            if isinstance(props.get(key), str):
                props[key] = props[key].split(",")
        props.pop("GenerateSecret", None)
        backend.update_user_pool_client(pool_id, physical_id, props)

    updaters = {
        "AWS::Cognito::UserPool": update_user_pool,
        "AWS::Cognito::UserPoolClient": update_user_pool_client,
    }
    creators = dict(
        zip(
            COGNITO_TYPES,
            (user_pool, user_pool_domain, resource_server, user_pool_client, managed_login_branding),
            strict=True,
        )
    )
    creators[SECRET_TYPE] = secret
    native = set(parsing.get_model_map())
    for cfn_type, create in creators.items():
        if cfn_type in native:  # moto learned it: test moto's own implementation instead
            continue

        def create_from_cloudformation_json(
            cls: Any,
            /,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kw: Any,
        ) -> Any:
            secret = cls.cloudformation_type() == SECRET_TYPE
            backend = (secretsmanager_backends if secret else cognitoidp_backends)[account_id][region_name]
            created = cls.creator(dict(cloudformation_json["Properties"]), backend, resource_name)
            return cls(*created) if isinstance(created, tuple) else cls(created)

        def not_supported(cls: Any, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("the test bridge only creates resources")

        def update_from_cloudformation_json(
            cls: Any,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            if cls.updater is None:
                raise NotImplementedError(f"the test bridge does not update {cls.cloudformation_type()}")
            backend = cognitoidp_backends[account_id][region_name]
            cls.updater(
                original_resource.physical_resource_id, dict(cloudformation_json["Properties"]), backend
            )
            return original_resource

        def init(self: Any, physical_id: str, attributes: dict[str, str] | None = None) -> None:
            self.physical_resource_id = physical_id
            self.attributes = attributes or {}

        def get_cfn_attribute(self: Any, name: str) -> str:
            if name not in self.attributes:
                raise NotImplementedError(f"the test bridge has no attribute {name}")
            return str(self.attributes[name])

        _BRIDGES.append(
            type(
                "Bridged" + cfn_type.rsplit("::", 1)[1],
                (CloudFormationModel,),
                {
                    "__init__": init,
                    "creator": staticmethod(create),
                    "cloudformation_type": staticmethod(lambda t=cfn_type: t),
                    "cloudformation_name_type": staticmethod(lambda: ""),
                    "has_cfn_attr": classmethod(
                        lambda cls, attr, t=cfn_type: (t, attr) in BRIDGED_ATTRIBUTES
                    ),
                    "get_cfn_attribute": get_cfn_attribute,
                    "is_created": lambda self: True,
                    "create_from_cloudformation_json": classmethod(create_from_cloudformation_json),
                    "updater": staticmethod(updaters[cfn_type]) if cfn_type in updaters else None,
                    "update_from_cloudformation_json": classmethod(update_from_cloudformation_json),
                    "delete_from_cloudformation_json": classmethod(not_supported),
                },
            )
        )
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    return [t for t in creators if t not in native]


def _true(value: Any) -> bool:
    return str(value).lower() == "true"  # CloudFormation hands booleans over as text or bool


def main() -> None:
    """Serve the bridged moto on 127.0.0.1:PORT (``--serve-moto PORT``)."""
    if sys.argv[1:2] != ["--serve-moto"] or len(sys.argv) != 3:
        sys.exit("usage: python -m scripts.localdev.moto_stack --serve-moto PORT")
    bridged = register_cognito_cfn_handlers()
    print(f"bridged CloudFormation types: {bridged}", flush=True)
    from moto.server import main as serve

    serve(["-H", "127.0.0.1", "-p", sys.argv[2]])
    sys.exit(0)


if __name__ == "__main__":
    main()
