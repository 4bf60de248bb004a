#!/usr/bin/env bash
# Write the prerequisites' values (SSM parameters) into agentcore/agentcore.json, then check it.
#
# Usage: scripts/deploy/configure.sh [--prefix /path/] [--region REGION] [--project DIR] [--skip-validate]
#                              [--web-endpoint URL]
#
#   --prefix         SSM parameter prefix (default: /app/customersupport/agentcore/), as given to
#                    scripts/deploy/deploy-prerequisites.sh.
#   --region         AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION, then the CLI profile).
#   --project        Project root holding agentcore/agentcore.json (default: this repository).
#   --skip-validate  Do not run `agentcore validate` (for machines without the agentcore CLI).
#   --web-endpoint   Where the web chat sends messages: a front door's /invocations URL (default:
#                    none; scripts/deploy/deploy-frontdoor.sh writes the site's). Never the runtime's
#                    own URL: it has no per-user limits and refuses customers (docs/edge-code.md).
#
# Reads <prefix>cognito_discovery_url, client_id, user_client_id, warranty_check_lambda_arn and
# account_tools_lambda_arn, and the optional parameters below, with `aws ssm get-parameters` (10 names
# a call, so two calls). If a required one is missing it names them on stderr and exits 1 without
# touching the manifest. Otherwise `scripts/deploy/manifest.py configure` writes them into both JWT authorizers (runtime
# and gateway; allowedClients = machine client + user-login client), the runtime's AUTH_DISCOVERY_URL
# and AUTH_ALLOWED_CLIENTS envVars and the WarrantyCheck and AccountTools targets' lambdaArn, changing
# nothing else, and
# prints each field it changed. Running it again with the same parameters changes nothing.
# When the stack has the edge-grant key, ledger and policy (<prefix>edge_grant_secret_arn,
# edge_nonce_table_name, edge_runtime_policy_arn), the runtime gets EDGE_GRANT_SECRET_ID,
# EDGE_NONCE_TABLE, EDGE_EXEMPT_CLIENTS (the machine client: operators call the runtime directly)
# and the policy in additionalPolicies (agentcore deploy attaches it to the execution role): customer
# tokens then need the front door's edge grant (docs/edge-code.md).
# When the stack has the ratings table and policy (<prefix>feedback_table_name,
# feedback_write_policy_arn), the runtime gets FEEDBACK_TABLE_NAME and that policy in
# additionalPolicies too: the web chat's thumbs then work deployed (docs/feedback.md).
# When the stack also has the web chat's client (<prefix>web_client_id, cognito_domain_url), that
# client is allowed too, and app/WebChat/config.json (ignored by git; scripts/build-webchat.sh puts
# it beside the app) gets the issuer, client id, Managed Login domain and endpoint.
# Then `scripts/deploy/manifest.py check` and `agentcore validate` (run in the project) must pass.
#
# The agentcore CLI is $AGENTCORE_CLI, else `agentcore` on PATH if it is the npm CLI (the Python starter
# toolkit also installs an `agentcore`, without `validate`). Without it the manifest is still written and
# checked, then the script exits 1 saying how to install it (npm install -g @aws/agentcore@0) - unless
# --skip-validate is given. A failing check or validate also exits 1; the values written stay (they are
# what SSM holds, and a re-run after the fix is a no-op).
#
# Environment: AWS_ENDPOINT_URL and the usual AWS credential variables/profiles are honoured; AWS_CLI
# overrides the aws command (default: aws), PYTHON the Python 3.10+ interpreter (default: python3).
set -euo pipefail

PROG="configure"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MANIFEST_PY="$SCRIPT_DIR/manifest.py"

die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  exit 1
}
# The header comment above is the help text.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }

PREFIX="/app/customersupport/agentcore/"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
PROJECT="$(cd "$SCRIPT_DIR/../.." && pwd)"
VALIDATE=1
WEB_ENDPOINT=""
AWS_CLI="${AWS_CLI:-aws}"
# Without an aws on PATH, the project's own awscli (installed into .venv by scripts/run or test.sh).
if [[ "$AWS_CLI" == aws ]] && ! command -v aws >/dev/null 2>&1 && [[ -x "$PROJECT/.venv/bin/aws" ]]; then
  AWS_CLI="$PROJECT/.venv/bin/aws"
fi
PYTHON="${PYTHON:-python3}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix | --region | --project | --web-endpoint)
      [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"
      opt="$1"
      value="$2"
      shift 2
      ;;
    --prefix=* | --region=* | --project=* | --web-endpoint=*)
      opt="${1%%=*}"
      value="${1#*=}"
      [[ -n "$value" ]] || die "$opt needs a value"
      shift
      ;;
    --skip-validate)
      VALIDATE=0
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
    --prefix) PREFIX="$value" ;;
    --region) REGION="$value" ;;
    --project) PROJECT="$value" ;;
    --web-endpoint) WEB_ENDPOINT="$value" ;;
  esac
done

[[ "$PREFIX" =~ ^/([A-Za-z0-9_.-]+/)+$ ]] ||
  die "--prefix must look like /app/customersupport/agentcore/ (leading and trailing '/')"
[[ -f "$PROJECT/agentcore/agentcore.json" ]] || die "no agentcore/agentcore.json under $PROJECT"
PROJECT="$(cd "$PROJECT" && pwd)"
MANIFEST="$PROJECT/agentcore/agentcore.json"
command -v "$AWS_CLI" >/dev/null 2>&1 ||
  die "the aws CLI ($AWS_CLI) is not on PATH (install AWS CLI v2, or run 'scripts/run true' once: the project's awscli in .venv/bin is used when aws is not on PATH)"
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON (Python 3.10+) is not on PATH (set PYTHON)"

aws_args=()
if [[ -n "$REGION" ]]; then
  aws_args+=(--region "$REGION")
  export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
fi

# 1. Read every parameter before writing anything.
KEYS=(cognito_discovery_url client_id user_client_id warranty_check_lambda_arn account_tools_lambda_arn)
WEB_KEYS=(web_client_id cognito_domain_url)  # optional: stacks from before the web chat lack them
# Optional too (stacks from before edge grants): all three, or the runtime requires no grants.
EDGE_KEYS=(edge_grant_secret_arn edge_nonce_table_name edge_runtime_policy_arn)
FEEDBACK_KEYS=(feedback_table_name feedback_write_policy_arn)  # optional: both, or no ratings
names=()
for key in "${KEYS[@]}" "${WEB_KEYS[@]}" "${EDGE_KEYS[@]}" "${FEEDBACK_KEYS[@]}"; do names+=("$PREFIX$key"); done

WORK_DIR="$(mktemp -d)"
trap 'rm -rf "$WORK_DIR"' EXIT
# 10 names per call (the API's limit); each call is bounded by the CLI's own timeouts and retries.
batches=0
for ((start = 0; start < ${#names[@]}; start += 10)); do
  batches=$((batches + 1))
  if ! "$AWS_CLI" "${aws_args[@]}" ssm get-parameters --with-decryption --names "${names[@]:start:10}" \
    --output json >"$WORK_DIR/parameters-$batches.json" 2>"$WORK_DIR/aws.err"; then
    reason="$(grep -v '^[[:space:]]*$' "$WORK_DIR/aws.err" | tail -n 1 || true)"
    die "aws ssm get-parameters failed: ${reason:-no error message}"
  fi
done

# One value per line, in names order; exit 3 with the missing names if a required one is absent.
if ! "$PYTHON" - "$WORK_DIR" "$batches" "${#KEYS[@]}" "${names[@]}" >"$WORK_DIR/values" 2>"$WORK_DIR/parse.err" <<'EOF'; then
import json
import sys

work_dir, batches, required_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = sys.argv[4:]
found = {}
for batch in range(1, batches + 1):
    with open(f"{work_dir}/parameters-{batch}.json", encoding="utf-8") as handle:
        response = json.load(handle)
    found.update({p["Name"]: p.get("Value", "") for p in response.get("Parameters", [])})
missing = [name for name in names[:required_count] if not found.get(name, "").strip()]
if missing:
    print("missing SSM parameter(s): " + ", ".join(missing), file=sys.stderr)
    sys.exit(3)
for name in names:
    value = found.get(name, "").strip()
    if "\n" in value or "\r" in value:
        print(f"SSM parameter {name} holds more than one line", file=sys.stderr)
        sys.exit(3)
    print(value)
EOF
  reason="$(grep -v '^[[:space:]]*$' "$WORK_DIR/parse.err" | tail -n 1 || true)"
  die "${reason:-could not read the aws ssm get-parameters response}"
fi
mapfile -t values <"$WORK_DIR/values"
[[ ${#values[@]} -eq ${#names[@]} ]] || die "expected ${#names[@]} values from SSM, got ${#values[@]}"
web_client_id="${values[5]}"
domain_url="${values[6]}"
read_count=${#KEYS[@]}
for value in "${values[@]:5}"; do [[ -z "$value" ]] || read_count=$((read_count + 1)); done
echo "Read $read_count parameters under $PREFIX${REGION:+ ($REGION)}."

# 2. Write them (manifest.py validates them first and leaves the file alone if any is malformed).
extra_args=()
[[ -z "$web_client_id" ]] || extra_args=(--web-client-id "$web_client_id")
# Edge grants: passed as found; manifest.py refuses a partial set (a broken stack) with a clear error.
EDGE_OPTIONS=(--edge-secret-arn --edge-nonce-table --edge-policy-arn)  # in EDGE_KEYS order
for i in "${!EDGE_OPTIONS[@]}"; do
  [[ -z "${values[7 + i]}" ]] || extra_args+=("${EDGE_OPTIONS[i]}" "${values[7 + i]}")
done
# Ratings: both or neither. Stacks from before the policy's parameter publish the table alone.
if [[ -n "${values[10]}" && -z "${values[11]}" ]]; then
  die "SSM parameter ${PREFIX}feedback_write_policy_arn is missing (${PREFIX}feedback_table_name is there):\
 the prerequisites stack predates it; re-run scripts/deploy/deploy-prerequisites.sh, then this script"
fi
FEEDBACK_OPTIONS=(--feedback-table --feedback-policy-arn)  # in FEEDBACK_KEYS order
for i in "${!FEEDBACK_OPTIONS[@]}"; do
  [[ -z "${values[10 + i]}" ]] || extra_args+=("${FEEDBACK_OPTIONS[i]}" "${values[10 + i]}")
done
"$PYTHON" "$MANIFEST_PY" configure --project "$PROJECT" \
  --discovery-url "${values[0]}" --client-id "${values[1]}" --user-client-id "${values[2]}" \
  --lambda-arn "${values[3]}" --account-lambda-arn "${values[4]}" "${extra_args[@]}" ||
  die "could not write $MANIFEST"

# The web chat's config, when the stack has its client: nothing pasted by hand.
if [[ -n "$web_client_id" && -n "$domain_url" ]]; then
  "$PYTHON" "$SCRIPT_DIR/webchat_config.py" --project "$PROJECT" --discovery-url "${values[0]}" \
    --client-id "$web_client_id" --domain "$domain_url" --endpoint "$WEB_ENDPOINT" ||
    die "could not write app/WebChat/config.json"
fi

# 3. Invariants the CLI does not check, then the CLI's schema check.
"$PYTHON" "$MANIFEST_PY" check --project "$PROJECT" || die "scripts/deploy/manifest.py check failed (see above)"

if [[ "$VALIDATE" -eq 0 ]]; then
  echo "agentcore validate: skipped (--skip-validate)"
  exit 0
fi
cli=""
for candidate in "${AGENTCORE_CLI:-}" "$(command -v agentcore 2>/dev/null || true)"; do
  if [[ -n "$candidate" && -x "$candidate" ]] && "$candidate" --help 2>/dev/null | grep -q '^ *validate\b'; then
    cli="$candidate"
    break
  fi
done
[[ -n "$cli" ]] || die "agentcore validate was not run: no agentcore CLI (npm @aws/agentcore) found;\
 install it with 'npm install -g @aws/agentcore@0' or set AGENTCORE_CLI, then run 'agentcore validate' in\
 $PROJECT ($MANIFEST is written and passed scripts/deploy/manifest.py check; --skip-validate skips this step)"
if ! (cd "$PROJECT" && "$cli" validate) >"$WORK_DIR/validate.out" 2>&1; then
  cat "$WORK_DIR/validate.out" >&2
  die "agentcore validate failed for $MANIFEST"
fi
echo "agentcore validate: OK"
