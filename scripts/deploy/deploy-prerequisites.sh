#!/usr/bin/env bash
# Deploy scripts/deploy/prerequisites.yaml (Cognito, WarrantyCheck Lambda, SSM parameters).
#
# Usage: scripts/deploy/deploy-prerequisites.sh [--stack-name NAME] [--region REGION] [--bucket BUCKET]
#                                        [--domain-prefix PREFIX] [--parameter-prefix /path/]
#                                        [--web-url URL[,URL...]] [--self-sign-up on|off]
#                                        [--organization-domain DOMAIN[,DOMAIN...]]
#                                        [--threat-protection enforced|audit|off]
#                                        [--ses-identity-arn ARN] [--email-from ADDRESS]
#
#   --stack-name        CloudFormation stack (default: customersupport-prerequisites; at most 49
#                       characters because the Lambda is named "<stack>-warranty-check").
#   --region            AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION, then the CLI profile).
#   --bucket            Existing S3 bucket for the packaged Lambda code. Without it the script uses
#                       customersupport-cfn-<account>-<region> and creates that bucket (private,
#                       public access blocked) if it does not exist yet. A bucket you name is never
#                       created: it must exist.
#   --domain-prefix     Cognito hosted-domain prefix (default: customersupport-<account>); unique per
#                       region, must not contain "aws", "amazon" or "cognito".
#   --parameter-prefix  SSM parameter prefix (default: /app/customersupport/agentcore/).
#   --web-url           Where the web chat is served (its sign-in callback and sign-out URL, exact;
#                       https, or http://localhost). Default: none, so production accepts no
#                       localhost; scripts/deploy/deploy-frontdoor.sh adds its CloudFront URL itself.
#                       Pass http://localhost:8765/ to run the web chat locally against this pool.
#   --self-sign-up      on: customers create their own accounts on the Managed Login pages, admitted
#                       only with an e-mail address of --organization-domain (the PreSignUp Lambda,
#                       app/PreSignUp/handler.py); off (default): administrators create accounts.
#   --organization-domain  E-mail domains allowed to sign up, comma-separated (exact match; default:
#                       $ORGANIZATION_DOMAIN). Required with --self-sign-up on.
#   --threat-protection Cognito threat protection: enforced (default) or audit put the pool on the
#                       Plus feature plan (billed per monthly active user, see docs/edge.md); off
#                       keeps it on Essentials.
#   --ses-identity-arn  A verified Amazon SES identity that sends Cognito's mail (verification
#                       codes). Without it Cognito's default sender is used, which sends only a few
#                       e-mails a day: fine for a trial, not for public sign-up (docs/edge.md).
#   --email-from        Sender of that mail, e.g. "Support <no-reply@example.com>" (with --ses-identity-arn).
#
# The user pool signs in by e-mail address (case-insensitive) and is kept when the stack is deleted.
# A stack created before that (username sign-in) cannot be updated in place: the script refuses
# and docs/edge.md describes the move to a new pool.
#
# On an update of an existing stack, --web-url, --self-sign-up and --organization-domain left out
# keep the stack's current values (so a re-run does not drop the front door's URL); the defaults
# above apply when the stack is created.
#
# Honours AWS_ENDPOINT_URL (e.g. a local emulator) and the usual AWS credential variables/profiles.
# Prints the stack outputs (no secrets: the machine client's secret stays in Cognito) and next steps.
set -euo pipefail

PROG="deploy-prerequisites"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TEMPLATE="$SCRIPT_DIR/prerequisites.yaml"

source "$SCRIPT_DIR/deploy-lib.sh"  # die, info, packaging_bucket
# The header comment above is the help text.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

STACK_NAME="customersupport-prerequisites"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
BUCKET=""
DOMAIN_PREFIX=""
PARAMETER_PREFIX="/app/customersupport/agentcore/"
WEB_URL=""
SELF_SIGN_UP=""
ORG_DOMAIN="${ORGANIZATION_DOMAIN:-}"
THREAT_PROTECTION=""
SES_IDENTITY_ARN=""
EMAIL_FROM=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack-name | --region | --bucket | --domain-prefix | --parameter-prefix | --web-url | --self-sign-up | --organization-domain | --threat-protection | --ses-identity-arn | --email-from)
      [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
      opt="$1"
      value="$2"
      shift 2
      ;;
    --stack-name=* | --region=* | --bucket=* | --domain-prefix=* | --parameter-prefix=* | --web-url=* | --self-sign-up=* | --organization-domain=* | --threat-protection=* | --ses-identity-arn=* | --email-from=*)
      opt="${1%%=*}"
      value="${1#*=}"
      [[ -n "$value" ]] || die "$opt needs a value"
      shift
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
    --bucket) BUCKET="$value" ;;
    --domain-prefix) DOMAIN_PREFIX="$value" ;;
    --parameter-prefix) PARAMETER_PREFIX="$value" ;;
    --web-url) WEB_URL="$value" ;;
    --self-sign-up) SELF_SIGN_UP="$value" ;;
    --organization-domain) ORG_DOMAIN="$value" ;;
    --threat-protection) THREAT_PROTECTION="$value" ;;
    --ses-identity-arn) SES_IDENTITY_ARN="$value" ;;
    --email-from) EMAIL_FROM="$value" ;;
  esac
done

if ! command -v aws >/dev/null 2>&1 && [[ -x "$SCRIPT_DIR/../../.venv/bin/aws" ]]; then
  aws() { "$SCRIPT_DIR/../../.venv/bin/aws" "$@"; }  # the project's awscli
fi
command -v aws >/dev/null 2>&1 || die "the aws CLI is not on PATH (install AWS CLI v2, or run 'scripts/run true' once: the project's awscli in .venv/bin is used when aws is not on PATH)"
[[ -f "$TEMPLATE" ]] || die "template not found: $TEMPLATE"
[[ "$STACK_NAME" =~ ^[A-Za-z][A-Za-z0-9-]{0,48}$ ]] ||
  die "--stack-name must start with a letter, use letters, digits and '-', and be at most 49 characters"
[[ "$PARAMETER_PREFIX" =~ ^/([A-Za-z0-9_.-]+/)+$ ]] ||
  die "--parameter-prefix must look like /app/customersupport/agentcore/ (leading and trailing '/')"
[[ -z "$WEB_URL" || "$WEB_URL" =~ ^(https://[^,[:space:]]+|http://localhost(:[0-9]+)?(/[^,[:space:]]*)?)(,(https://[^,[:space:]]+|http://localhost(:[0-9]+)?(/[^,[:space:]]*)?))*$ ]] ||
  die "--web-url must be https URLs (or http://localhost...), separated by commas"
# Template parameters given on this run; the others keep the stack's values (or the defaults).
OVERRIDES=()
[[ -z "$WEB_URL" ]] || OVERRIDES+=("WebCallbackUrls=$WEB_URL" "WebLogoutUrls=$WEB_URL")
case "$SELF_SIGN_UP" in
  on) OVERRIDES+=("SelfSignUp=Enabled") ;;
  off) OVERRIDES+=("SelfSignUp=Disabled") ;;
  "") ;;
  *) die "--self-sign-up takes on or off" ;;
esac
ORG_DOMAIN="${ORG_DOMAIN// /}"
[[ -z "$ORG_DOMAIN" || "$ORG_DOMAIN" =~ ^[A-Za-z0-9.-]+(,[A-Za-z0-9.-]+)*$ ]] ||
  die "--organization-domain must be domains such as example.com, separated by commas"
[[ "$SELF_SIGN_UP" != on || -n "$ORG_DOMAIN" ]] ||
  die "--self-sign-up on needs --organization-domain (or ORGANIZATION_DOMAIN): without it every sign-up is refused"
[[ -z "$ORG_DOMAIN" ]] || OVERRIDES+=("OrganizationDomain=$ORG_DOMAIN")
case "$THREAT_PROTECTION" in
  enforced | audit | off) OVERRIDES+=("ThreatProtection=${THREAT_PROTECTION^^}") ;;
  "") ;;
  *) die "--threat-protection takes enforced, audit or off" ;;
esac
[[ -z "$SES_IDENTITY_ARN" || "$SES_IDENTITY_ARN" =~ ^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^[:space:]]+$ ]] ||
  die "--ses-identity-arn must be an SES identity ARN (arn:aws:ses:REGION:ACCOUNT:identity/NAME)"
[[ -z "$SES_IDENTITY_ARN" ]] || OVERRIDES+=("SesIdentityArn=$SES_IDENTITY_ARN")
[[ -z "$EMAIL_FROM" || -n "$SES_IDENTITY_ARN" ]] || die "--email-from needs --ses-identity-arn"
[[ -z "$EMAIL_FROM" ]] || OVERRIDES+=("SesFromAddress=$EMAIL_FROM")

if [[ -z "$REGION" ]]; then
  REGION="$(aws configure get region 2>/dev/null || true)"
fi
[[ -n "$REGION" ]] || die "no region: pass --region or set AWS_REGION"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
[[ -n "${AWS_ENDPOINT_URL:-}" ]] && info "using endpoint $AWS_ENDPOINT_URL"

ACCOUNT="$(aws sts get-caller-identity --query Account --output text)" ||
  die "cannot identify the AWS account (credentials missing or expired?)"

if [[ -z "$DOMAIN_PREFIX" ]]; then
  DOMAIN_PREFIX="customersupport-$ACCOUNT"
fi
[[ "$DOMAIN_PREFIX" =~ ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$ ]] ||
  die "--domain-prefix must be 1-63 lower-case letters, digits or '-', not starting or ending with '-'"
[[ ! "$DOMAIN_PREFIX" =~ (aws|amazon|cognito) ]] ||
  die "--domain-prefix must not contain 'aws', 'amazon' or 'cognito' (Cognito rejects it)"

# A pool created before sign-in by e-mail cannot take the new username settings: an update would
# try to replace it (keeping the old one, with every account, beside an empty new one).
if EXISTING="$(aws cloudformation get-template --stack-name "$STACK_NAME" --query TemplateBody --output json 2>/dev/null)"; then
  [[ "$EXISTING" == *UsernameAttributes* ]] ||
    die "stack $STACK_NAME has a user pool that signs in by username; its sign-in settings cannot change in place. Deploy a new stack (--stack-name, --domain-prefix, --parameter-prefix) and move the users: docs/edge.md, 'One account per mailbox'"
fi

BUCKET="$(packaging_bucket "$BUCKET" "$ACCOUNT" "$REGION")"

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
PACKAGED="$WORK_DIR/prerequisites.packaged.yaml"

info "packaging the Lambdas (WarrantyCheck, PreSignUp) into s3://$BUCKET/$STACK_NAME/"
# package prints a "run deploy next" hint on stdout; stdout is reserved for our own summary.
aws cloudformation package --template-file "$TEMPLATE" --s3-bucket "$BUCKET" --s3-prefix "$STACK_NAME" \
  --output-template-file "$PACKAGED" >&2 || die "aws cloudformation package failed"

info "deploying stack $STACK_NAME in $REGION (this creates IAM resources)"
aws cloudformation deploy --template-file "$PACKAGED" --stack-name "$STACK_NAME" \
  --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset \
  --parameter-overrides "DomainPrefix=$DOMAIN_PREFIX" "ParameterPrefix=$PARAMETER_PREFIX" \
  ${OVERRIDES[@]+"${OVERRIDES[@]}"} >&2 ||
  die "aws cloudformation deploy failed (see the stack events: aws cloudformation describe-stack-events --stack-name $STACK_NAME)"

OUTPUTS="$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)" ||
  die "could not read the outputs of stack $STACK_NAME"
echo "Stack $STACK_NAME deployed in $REGION. Outputs:"
if [[ -z "$OUTPUTS" || "$OUTPUTS" == "None" ]]; then
  echo "  (the stack reported no outputs; the SSM parameters under $PARAMETER_PREFIX hold the same values)"
else
  printf '%s\n' "$OUTPUTS"
fi

PARAMS="$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" \
  --query 'Stacks[0].Parameters[].[ParameterKey,ParameterValue]' --output text)" ||
  die "could not read the parameters of stack $STACK_NAME"
if grep -qx $'SelfSignUp\tEnabled' <<<"$PARAMS" && ! grep -q $'^SesIdentityArn\tarn:' <<<"$PARAMS"; then
  cat <<EOF

Self sign-up is on and Cognito's default sender mails the verification codes: it sends at most
50 e-mails a day for the account in this region (Cognito quota), so sign-ups beyond that wait
for tomorrow. For production pass --ses-identity-arn (a verified SES identity; docs/edge.md).
EOF
fi

configure_args="--region $REGION"
[[ "$PARAMETER_PREFIX" == "/app/customersupport/agentcore/" ]] || configure_args+=" --prefix $PARAMETER_PREFIX"
cat <<EOF

Next steps:
  1. scripts/deploy/configure.sh $configure_args   # writes the SSM values above into agentcore/agentcore.json
  2. agentcore validate          # checks the manifest
  3. agentcore deploy            # deploys runtime, memory and gateway (needs AWS credentials)
  4. scripts/build-webchat.sh && scripts/deploy/deploy-frontdoor.sh --region $REGION
                                 # the public front door and the web chat: prints the URL customers use
Customer requests then need the front door's edge grant (key EdgeGrantSecretArn above; configure.sh
gives the runtime its policy EdgeRuntimePolicyArn). Upgrading a runtime deployed before edge grants:
run step 4 before steps 1-3, so the front door signs grants before the runtime requires them.
EOF
