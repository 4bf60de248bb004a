#!/usr/bin/env bash
# Deploy scripts/deploy/frontdoor.yaml (the public front door) after `agentcore deploy`, then upload the web chat.
#
# Usage: scripts/deploy/deploy-frontdoor.sh [--stack-name NAME] [--region REGION] [--project DIR]
#                                    [--target NAME] [--runtime NAME] [--parameter-prefix /path/]
#                                    [--bucket BUCKET] [--site-dir DIR] [--authorizer-bundle DIR]
#                                    [--parameter NAME=VALUE]... [--prerequisites-stack NAME]
#                                    [--rotate-origin-secret]
#
#   --stack-name        CloudFormation stack (default: customersupport-frontdoor; at most 40 characters).
#   --region            AWS region (default: the runtime's, from its ARN).
#   --project           Project root holding agentcore/ (default: this repository).
#   --target            Deployment target in agentcore/.cli/deployed-state.json (default: the only one).
#   --runtime           Runtime name in that target (default: CustomerSupport).
#   --parameter-prefix  SSM prefix of the prerequisites stack (default: /app/customersupport/agentcore/).
#                       Reads pool_id, cognito_auth_scope, cognito_discovery_url, cognito_domain_url and
#                       the app client whose tokens may call the API: web_client_id if present, else
#                       user_client_id.
#   --bucket            Existing S3 bucket for the authorizer bundle (default: customersupport-cfn-
#                       <account>-<region>, created private if missing, as deploy-prerequisites.sh does).
#   --site-dir          Built web chat to upload to the site bucket (default: app/WebChat/dist when it
#                       exists; otherwise only config.json is uploaded).
#   --authorizer-bundle Directory already holding app/FrontDoorAuthorizer/handler.py and its
#                       dependencies (air-gapped machines, tests). Default: built with uv for Lambda
#                       (python 3.13, arm64) from app/FrontDoorAuthorizer/requirements.txt.
#   --parameter         A template parameter, repeatable: ThrottleRateLimit, ThrottleBurstLimit,
#                       QuotaLimitPerDay, IntegrationTimeoutMillis, AuthorizerCacheSeconds,
#                       AuthorizerReservedConcurrency, StageThrottleRateLimit, StageThrottleBurstLimit,
#                       StageName, LogRetentionInDays, PriceClass, EdgeGrantSecretArn
#                       (e.g. --parameter QuotaLimitPerDay=100), or the flood guard's
#                       RequestsPerIpPer5Minutes (edge-waf.yaml). EdgeGrantSecretArn defaults to
#                       the prerequisites' edge_grant_secret_arn (SSM): the authorizer then signs
#                       a single-use edge grant for every request (docs/edge-code.md).
#   --prerequisites-stack  The stack of scripts/deploy/deploy-prerequisites.sh (default: customersupport-
#                       prerequisites). The site's URL is added to its web client's callback and
#                       sign-out URLs (a parameter update of that stack, nothing else changes), so
#                       customers can sign in at the CloudFront URL right away.
#   --rotate-origin-secret  A new X-Origin-Verify value (see below); API calls may be refused with
#                       403 for the few minutes CloudFront takes to roll the change out.
#
# First the flood guard: scripts/deploy/edge-waf.yaml as stack <stack-name>-edge-waf in us-east-1
# (CloudFront's web ACLs exist only there), then the front door in the runtime's region with that
# web ACL. The API refuses requests that did not come through CloudFront: the distribution adds a
# random X-Origin-Verify header, generated here when the stack is created (never printed), which
# the API's own web ACL requires. docs/edge.md describes both and how to rotate the header.
#
# The runtime ARN comes from agentcore/.cli/deployed-state.json (targets.<target>.resources.runtimes.
# <runtime>.runtimeArn, written by `agentcore deploy`): nothing is pasted by hand. config.json (no
# secrets) is written into the site bucket by scripts/deploy/webchat_config.py, the same writer and fields
# as scripts/deploy/configure.sh's local copy (issuer, clientId, domain, endpoint = the site's /invocations,
# scope with cognito_auth_scope). Honours AWS_ENDPOINT_URL and the usual AWS credential
# variables/profiles; PYTHON is the Python 3.10+ interpreter (default: python3), UV the uv binary
# (default: uv, then .local/uv/bin/uv).
set -euo pipefail

PROG="deploy-frontdoor"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATE="$SCRIPT_DIR/frontdoor.yaml"
PYTHON="${PYTHON:-python3}"

source "$SCRIPT_DIR/deploy-lib.sh"  # die, info, packaging_bucket
# The header comment above is the help text.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

STACK_NAME="customersupport-frontdoor"
REGION=""
PROJECT="$(cd "$SCRIPT_DIR/../.." && pwd)"
TARGET=""
RUNTIME="CustomerSupport"
PARAMETER_PREFIX="/app/customersupport/agentcore/"
BUCKET=""
SITE_DIR=""
BUNDLE=""
PREREQ_STACK="customersupport-prerequisites"
ROTATE_SECRET=""
OVERRIDES=()
ALLOWED_PARAMETERS=" ThrottleRateLimit ThrottleBurstLimit QuotaLimitPerDay IntegrationTimeoutMillis AuthorizerCacheSeconds AuthorizerReservedConcurrency StageThrottleRateLimit StageThrottleBurstLimit StageName LogRetentionInDays PriceClass EdgeGrantSecretArn "
WAF_PARAMETERS=" RequestsPerIpPer5Minutes "
WAF_OVERRIDES=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack-name | --region | --project | --target | --runtime | --parameter-prefix | --bucket | --site-dir | --authorizer-bundle | --parameter | --prerequisites-stack)
      [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
      opt="$1"
      value="$2"
      shift 2
      ;;
    --stack-name=* | --region=* | --project=* | --target=* | --runtime=* | --parameter-prefix=* | --bucket=* | --site-dir=* | --authorizer-bundle=* | --parameter=* | --prerequisites-stack=*)
      opt="${1%%=*}"
      value="${1#*=}"
      [[ -n "$value" ]] || die "$opt needs a value"
      shift
      ;;
    --rotate-origin-secret)
      ROTATE_SECRET=1
      shift
      continue
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
  case "$opt" in
    --stack-name) STACK_NAME="$value" ;;
    --region) REGION="$value" ;;
    --project) PROJECT="$value" ;;
    --target) TARGET="$value" ;;
    --runtime) RUNTIME="$value" ;;
    --parameter-prefix) PARAMETER_PREFIX="$value" ;;
    --bucket) BUCKET="$value" ;;
    --site-dir) SITE_DIR="$value" ;;
    --authorizer-bundle) BUNDLE="$value" ;;
    --prerequisites-stack) PREREQ_STACK="$value" ;;
    --parameter)
      [[ "$value" == *=* && -n "${value#*=}" ]] || die "--parameter takes NAME=VALUE, got '$value'"
      if [[ "$WAF_PARAMETERS" == *" ${value%%=*} "* ]]; then
        WAF_OVERRIDES+=("$value")
        continue
      fi
      [[ "$ALLOWED_PARAMETERS" == *" ${value%%=*} "* ]] ||
        die "--parameter ${value%%=*} is not adjustable (one of:${ALLOWED_PARAMETERS% }${WAF_PARAMETERS% })"
      OVERRIDES+=("$value")
      ;;
  esac
done

if ! command -v aws >/dev/null 2>&1 && [[ -x "$SCRIPT_DIR/../../.venv/bin/aws" ]]; then
  aws() { "$SCRIPT_DIR/../../.venv/bin/aws" "$@"; }  # the project's awscli
fi
command -v aws >/dev/null 2>&1 || die "the aws CLI is not on PATH (install AWS CLI v2, or run 'scripts/run true' once: the project's awscli in .venv/bin is used when aws is not on PATH)"
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON is not on PATH (set PYTHON to a Python 3.10+ interpreter)"
[[ "$STACK_NAME" =~ ^[A-Za-z][A-Za-z0-9-]{0,39}$ ]] ||
  die "--stack-name must start with a letter, use letters, digits and '-', and be at most 40 characters"
WAF_STACK="$STACK_NAME-edge-waf"
WAF_REGION="us-east-1"  # CLOUDFRONT-scope web ACLs exist only there
[[ "$PARAMETER_PREFIX" =~ ^/([A-Za-z0-9_.-]+/)+$ ]] ||
  die "--parameter-prefix must look like /app/customersupport/agentcore/ (leading and trailing '/')"

STATE="$PROJECT/agentcore/.cli/deployed-state.json"
[[ -f "$STATE" ]] || die "$STATE not found: run 'agentcore deploy' first"
# The one place the runtime ARN comes from; the reader names what is missing instead of guessing.
RUNTIME_ARN="$("$PYTHON" - "$STATE" "$TARGET" "$RUNTIME" <<'PY'
import json, sys
path, target, runtime = sys.argv[1:]
targets = json.load(open(path, encoding="utf-8")).get("targets") or {}
if not target:
    if len(targets) != 1:
        sys.exit(f"{path} has {len(targets)} deployment targets ({', '.join(targets) or 'none'}); pick one with --target")
    target = next(iter(targets))
runtimes = ((targets.get(target) or {}).get("resources") or {}).get("runtimes") or {}
arn = (runtimes.get(runtime) or {}).get("runtimeArn")
if not arn:
    sys.exit(f"no runtimeArn for runtime {runtime!r} in target {target!r} of {path}: run 'agentcore deploy' first")
print(arn)
PY
)" || die "cannot read the runtime ARN (see above)"
[[ "$RUNTIME_ARN" =~ ^arn:aws[a-z-]*:bedrock-agentcore:([a-z0-9-]+):[0-9]{12}:runtime/[A-Za-z0-9_-]+$ ]] ||
  die "deployed-state.json holds an unexpected runtime ARN"
[[ -n "$REGION" ]] || REGION="${BASH_REMATCH[1]}"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
[[ -n "${AWS_ENDPOINT_URL:-}" ]] && info "using endpoint $AWS_ENDPOINT_URL"
info "runtime $RUNTIME_ARN"

ACCOUNT="$(aws sts get-caller-identity --query Account --output text)" ||
  die "cannot identify the AWS account (credentials missing or expired?)"

# ---------------------------------------------------------------- prerequisites (SSM)
ssm_value() {
  aws ssm get-parameter --name "${PARAMETER_PREFIX}$1" --query Parameter.Value --output text 2>/dev/null || true
}
POOL_ID="$(ssm_value pool_id)"
SCOPE="$(ssm_value cognito_auth_scope)"
DISCOVERY_URL="$(ssm_value cognito_discovery_url)"
DOMAIN_URL="$(ssm_value cognito_domain_url)"
CLIENT_ID="$(ssm_value web_client_id)"
CLIENT_SOURCE="web_client_id"
if [[ -z "$CLIENT_ID" || "$CLIENT_ID" == "None" ]]; then
  CLIENT_ID="$(ssm_value user_client_id)"
  CLIENT_SOURCE="user_client_id"
fi
for name in POOL_ID SCOPE DISCOVERY_URL CLIENT_ID; do
  [[ -n "${!name}" && "${!name}" != "None" ]] ||
    die "SSM parameters under $PARAMETER_PREFIX are incomplete (pool_id, cognito_auth_scope, cognito_discovery_url, web_client_id or user_client_id): run scripts/deploy/deploy-prerequisites.sh first"
done
# Checked before anything is deployed: the web chat signs in on the Managed Login domain.
[[ -n "$DOMAIN_URL" && "$DOMAIN_URL" != "None" ]] ||
  die "SSM parameter ${PARAMETER_PREFIX}cognito_domain_url is missing: the web chat signs in on the Managed Login domain (re-run scripts/deploy/deploy-prerequisites.sh)"
info "user pool $POOL_ID, client from ${PARAMETER_PREFIX}$CLIENT_SOURCE, scope $SCOPE"
# Edge grants on by default: the key the runtime verifies with (configure.sh) is the one signed with.
EDGE_OVERRIDE=()
if [[ " ${OVERRIDES[*]+"${OVERRIDES[*]}"} " != *" EdgeGrantSecretArn="* ]]; then
  EDGE_SECRET_ARN="$(ssm_value edge_grant_secret_arn)"
  if [[ "$EDGE_SECRET_ARN" =~ ^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$ ]]; then
    EDGE_OVERRIDE=("EdgeGrantSecretArn=$EDGE_SECRET_ARN")
    info "edge grants signed with ${PARAMETER_PREFIX}edge_grant_secret_arn"
  else
    info "no edge-grant key under $PARAMETER_PREFIX (prerequisites from before edge grants): the authorizer signs no grants; re-run scripts/deploy/deploy-prerequisites.sh, then this script"
  fi
fi

# ---------------------------------------------------------------- authorizer bundle
BUCKET="$(packaging_bucket "$BUCKET" "$ACCOUNT" "$REGION")"

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
BUILD="$WORK_DIR/authorizer"
AUTHORIZER_SRC="$PROJECT/app/FrontDoorAuthorizer"
if [[ -n "$BUNDLE" ]]; then
  [[ -f "$BUNDLE/handler.py" ]] || die "--authorizer-bundle $BUNDLE has no handler.py"
  cp -R "$BUNDLE" "$BUILD"
else
  UV="${UV:-$(command -v uv || echo "$PROJECT/.local/uv/bin/uv")}"
  [[ -x "$UV" ]] || die "uv is needed to build the authorizer bundle (pip install uv), or pass --authorizer-bundle"
  info "building the authorizer bundle for python3.13/arm64"
  "$UV" pip install --quiet --target "$BUILD" --python-platform aarch64-manylinux2014 --python-version 3.13 \
    --only-binary :all: -r "$AUTHORIZER_SRC/requirements.txt" >&2 || die "could not build the authorizer bundle"
  cp "$AUTHORIZER_SRC/handler.py" "$BUILD/"
fi
ZIP="$WORK_DIR/authorizer.zip"
"$PYTHON" - "$BUILD" "$ZIP" <<'PY' || die "could not zip the authorizer bundle"
import pathlib, sys, zipfile
root, out = pathlib.Path(sys.argv[1]), sys.argv[2]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        archive.write(path, path.relative_to(root).as_posix())
PY
DIGEST="$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:16])' "$ZIP")"
CODE_KEY="$STACK_NAME/authorizer-$DIGEST.zip"
aws s3 cp --only-show-errors "$ZIP" "s3://$BUCKET/$CODE_KEY" >&2 || die "could not upload the authorizer bundle"

# ---------------------------------------------------------------- the flood guard (us-east-1)
WAF_ARGS=()
[[ ${#WAF_OVERRIDES[@]} -eq 0 ]] || WAF_ARGS=(--parameter-overrides "${WAF_OVERRIDES[@]}")
info "deploying stack $WAF_STACK in $WAF_REGION (AWS WAF web ACL of the distribution)"
aws cloudformation deploy --region "$WAF_REGION" --template-file "$SCRIPT_DIR/edge-waf.yaml" \
  --stack-name "$WAF_STACK" --no-fail-on-empty-changeset ${WAF_ARGS[@]+"${WAF_ARGS[@]}"} >&2 ||
  die "aws cloudformation deploy failed (see: aws cloudformation describe-stack-events --region $WAF_REGION --stack-name $WAF_STACK)"
WEB_ACL_ARN="$(aws cloudformation describe-stacks --region "$WAF_REGION" --stack-name "$WAF_STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='WebAclArn'].OutputValue | [0]" --output text)"
[[ "$WEB_ACL_ARN" == arn:* ]] || die "stack $WAF_STACK reported no WebAclArn output"

# ---------------------------------------------------------------- the stack
# The origin header's value is made once; later runs keep the stack's (a parameter left out keeps
# its previous value), so the distribution and the API's web ACL never disagree.
SECRET_OVERRIDE=()
KNOWN_PARAMETERS="$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query 'Stacks[0].Parameters[].ParameterKey' --output text 2>/dev/null || true)"
if [[ -n "$ROTATE_SECRET" || " $KNOWN_PARAMETERS " != *[[:space:]]OriginVerifySecret[[:space:]]* ]]; then
  SECRET_OVERRIDE=("OriginVerifySecret=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))')")
fi
info "deploying stack $STACK_NAME in $REGION (this creates IAM resources)"
aws cloudformation deploy --template-file "$TEMPLATE" --stack-name "$STACK_NAME" \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides "RuntimeArn=$RUNTIME_ARN" "UserPoolId=$POOL_ID" "AllowedClientIds=$CLIENT_ID" \
  "RequiredScope=$SCOPE" "AuthorizerCodeBucket=$BUCKET" "AuthorizerCodeKey=$CODE_KEY" \
  "WebAclArn=$WEB_ACL_ARN" "CognitoDomainUrl=${DOMAIN_URL%/}" \
  ${SECRET_OVERRIDE[@]+"${SECRET_OVERRIDE[@]}"} ${EDGE_OVERRIDE[@]+"${EDGE_OVERRIDE[@]}"} \
  ${OVERRIDES[@]+"${OVERRIDES[@]}"} >&2 ||
  die "aws cloudformation deploy failed (see the stack events: aws cloudformation describe-stack-events --stack-name $STACK_NAME)"

output() {
  aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue | [0]" --output text
}
SITE_URL="$(output SiteUrl)"
SITE_BUCKET="$(output SiteBucketName)"
INVOCATIONS_URL="$(output InvocationsUrl)"
API_ID="$(output RestApiId)"
STAGE="$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query "Stacks[0].Parameters[?ParameterKey=='StageName'].ParameterValue | [0]" --output text)"
for name in SITE_URL SITE_BUCKET INVOCATIONS_URL API_ID; do
  [[ -n "${!name}" && "${!name}" != "None" ]] || die "stack $STACK_NAME reported no ${name} output"
done

# A stack update does not redeploy the API by itself: publish the current methods to the stage.
aws apigateway create-deployment --rest-api-id "$API_ID" --stage-name "$STAGE" \
  --description "scripts/deploy/deploy-frontdoor.sh" >/dev/null || die "could not redeploy stage $STAGE"

# ---------------------------------------------------------------- the web chat
if [[ -z "$SITE_DIR" && -d "$PROJECT/app/WebChat/dist" ]]; then
  SITE_DIR="$PROJECT/app/WebChat/dist"
fi
if [[ -n "$SITE_DIR" ]]; then
  [[ -f "$SITE_DIR/index.html" ]] || die "--site-dir $SITE_DIR has no index.html"
  aws s3 sync --only-show-errors --delete --exclude config.json "$SITE_DIR" "s3://$SITE_BUCKET/" >&2 ||
    die "could not upload the web chat"
else
  info "no built web chat (app/WebChat/dist) found: uploading config.json only"
fi
CONFIG="$WORK_DIR/config.json"
# One writer for the web chat's config (scripts/deploy/configure.sh uses it for the local copy too).
"$PYTHON" "$SCRIPT_DIR/webchat_config.py" --output "$CONFIG" --discovery-url "$DISCOVERY_URL" \
  --client-id "$CLIENT_ID" --domain "$DOMAIN_URL" --endpoint "$INVOCATIONS_URL" --api-scope "$SCOPE" >&2 ||
  die "could not write the web chat's config.json"
aws s3 cp --only-show-errors --content-type application/json --cache-control "no-cache" \
  "$CONFIG" "s3://$SITE_BUCKET/config.json" >&2 || die "could not upload config.json"

# ---------------------------------------------------------------- sign-in at the site's URL
# Cognito returns users only to registered URLs: add the site to the web client's callback and
# sign-out URLs through its own stack (a parameter update; CloudFormation stays the owner).
CALLBACK_STEP=""
if [[ "$CLIENT_SOURCE" != web_client_id ]]; then
  CALLBACK_STEP="the app client ($CLIENT_SOURCE) has no hosted-UI sign-in; deploy the prerequisites with its web client"
elif ! PREREQ_PARAMS="$(aws cloudformation describe-stacks --stack-name "$PREREQ_STACK" \
  --query 'Stacks[0].Parameters' --output json 2>/dev/null)"; then
  CALLBACK_STEP="stack $PREREQ_STACK not found: run scripts/deploy/deploy-prerequisites.sh --web-url <current URLs>,$SITE_URL/ (or pass --prerequisites-stack)"
else
  URLS_FILE="$WORK_DIR/prerequisites-urls"
  if "$PYTHON" - "$PREREQ_PARAMS" "$SITE_URL/" "$URLS_FILE" <<'PY'; then
import json, sys
current, site, out = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in current}
if "WebCallbackUrls" not in values:
    sys.exit(3)  # a prerequisites stack from before the web chat
urls = {k: [u for u in values.get(k, "").split(",") if u] for k in ("WebCallbackUrls", "WebLogoutUrls")}
if all(site in u for u in urls.values()):
    sys.exit(4)  # already registered
with open(out, "w", encoding="utf-8") as lines:
    for key, listed in urls.items():
        lines.write(f"{key}={','.join(listed + ([site] if site not in listed else []))}\n")
PY
    info "adding $SITE_URL/ to the web client's callback and sign-out URLs (stack $PREREQ_STACK)"
    mapfile -t URL_OVERRIDES <"$URLS_FILE"
    # The stack's own template again, only these two parameters new: every other value is kept.
    PREREQ_TEMPLATE="$WORK_DIR/prerequisites-current.template"
    aws cloudformation get-template --stack-name "$PREREQ_STACK" --query TemplateBody --output json |
      "$PYTHON" -c 'import json,sys; body=json.load(sys.stdin); sys.stdout.write(body if isinstance(body, str) else json.dumps(body))' \
        >"$PREREQ_TEMPLATE" || die "could not read the template of stack $PREREQ_STACK"
    aws cloudformation deploy --template-file "$PREREQ_TEMPLATE" --stack-name "$PREREQ_STACK" \
      --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
      --parameter-overrides "${URL_OVERRIDES[@]}" >&2 ||
      die "could not add $SITE_URL/ to the web client's URLs (see: aws cloudformation describe-stack-events --stack-name $PREREQ_STACK)"
  else
    case $? in
      4) info "the web client already accepts $SITE_URL/" ;;
      *) CALLBACK_STEP="stack $PREREQ_STACK has no WebCallbackUrls parameter: update it with scripts/deploy/deploy-prerequisites.sh --web-url <URLs>,$SITE_URL/" ;;
    esac
  fi
fi

echo "Stack $STACK_NAME deployed in $REGION."
echo "  Web chat:        $SITE_URL"
echo "  API (same site): $INVOCATIONS_URL"
echo "  Config:          s3://$SITE_BUCKET/config.json"
echo "  Flood guard:     $WEB_ACL_ARN"
echo
if [[ -n "$CALLBACK_STEP" ]]; then
  echo "Before customers can sign in: $CALLBACK_STEP"
fi
echo "Open $SITE_URL to sign in (or sign up, with self sign-up on) and chat; a new CloudFront"
echo "distribution can take a few minutes to answer."
