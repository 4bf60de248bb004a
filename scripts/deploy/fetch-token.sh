#!/usr/bin/env bash
# Print an OAuth access token for calling the customer-support agent (see --help).
#
# Secrets (the app client secret, a user's password, the tokens) never reach another process's
# command line, stdout other than the final token, or a `set -x` trace: xtrace is switched off around
# every line that touches them, curl gets the client credentials as a config on stdin, and the aws
# CLI reads the login request from a mode-600 file in a private temporary directory.
set -euo pipefail

readonly DEFAULT_PREFIX=/app/customersupport/agentcore/

usage() {
    cat <<'EOF'
Usage: scripts/deploy/fetch-token.sh [--prefix SSM_PREFIX] [--region REGION] [--user USERNAME]

Prints ONE access token on stdout (nothing else), so that  TOKEN=$(scripts/deploy/fetch-token.sh)  works.

Machine-to-machine (default): reads the app client id, user pool id, token URL and scope from SSM,
gets the client secret with `aws cognito-idp describe-user-pool-client`, and asks the Cognito token
endpoint for a client_credentials token (client id + secret sent with HTTP Basic).

--user USERNAME: logs USERNAME in with `aws cognito-idp initiate-auth` (USER_PASSWORD_AUTH) on the
user-login app client and prints the user's ACCESS token (not the ID token: the runtime's
allowedClients checks the `client_id` claim, which ID tokens lack). The password comes from
COGNITO_PASSWORD or, when stdin is a terminal, from a silent prompt.

Options:
  --prefix PREFIX   SSM parameter prefix (default /app/customersupport/agentcore/)
  --region REGION   AWS region for the SSM and Cognito calls
  --user USERNAME   user login instead of client_credentials
  -h, --help        this text

SSM parameters read under PREFIX (only those not given in the environment):
  client_id            machine app client id        (env COGNITO_CLIENT_ID)
  pool_id              user pool id                 (env COGNITO_POOL_ID)
  cognito_token_url    https://<domain>/oauth2/token (env COGNITO_TOKEN_URL)
  cognito_auth_scope   scope(s) to request          (env COGNITO_AUTH_SCOPE)
  user_client_id       user-login app client id      (env COGNITO_USER_CLIENT_ID; --user only)

Other environment variables:
  COGNITO_PASSWORD      password for --user (otherwise prompted for when interactive)
  FETCH_TOKEN_TIMEOUT   seconds allowed for each network call (default 20)
  AWS_CLI               aws command to run (default: aws on PATH)
  AWS_REGION, AWS_DEFAULT_REGION, AWS_PROFILE, AWS_ENDPOINT_URL,
  AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER and the usual credential
  variables are honoured by the aws CLI (AWS_REGION is passed on as --region when --region is not
  given, since aws CLI v1 reads only AWS_DEFAULT_REGION).

Needs: aws, curl (machine-to-machine only) and jq or python3.
Errors: exit status 1 (2 for bad usage), one line on stderr starting with "fetch-token: ".
EOF
}

# -- output helpers ----------------------------------------------------------------------------
SECRETS_TO_REDACT=()

die_status() {
    local status=$1 msg=$2 s
    { set +x; } 2>/dev/null
    for s in ${SECRETS_TO_REDACT[@]+"${SECRETS_TO_REDACT[@]}"}; do
        if [[ -n $s ]]; then msg=${msg//"$s"/***}; fi
    done
    msg=${msg//$'\r'/}
    msg=${msg//$'\n'/ }
    printf 'fetch-token: %s\n' "$msg" >&2
    exit "$status"
}

die() { die_status 1 "$1"; }

# xtrace (bash -x, set -x, SHELLOPTS) stays on for the harmless parts and is switched off around
# every line that expands a secret or a token.
XTRACE_WAS_ON=0
if [[ $- == *x* ]]; then XTRACE_WAS_ON=1; fi
hush() { { set +x; } 2>/dev/null; }
unhush() { if [[ $XTRACE_WAS_ON == 1 ]]; then set -x; fi; }

# -- arguments ---------------------------------------------------------------------------------
prefix=$DEFAULT_PREFIX
region=""
user=""
user_mode=0

need_value() { [[ $# -ge 2 && -n $2 ]] || die_status 2 "$1 needs a value (see --help)"; }

while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --prefix) need_value "$@"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; need_value --prefix "$prefix"; shift ;;
        --region) need_value "$@"; region=$2; shift 2 ;;
        --region=*) region=${1#*=}; need_value --region "$region"; shift ;;
        --user) need_value "$@"; user=$2; user_mode=1; shift 2 ;;
        --user=*) user=${1#*=}; need_value --user "$user"; user_mode=1; shift ;;
        *) die_status 2 "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $prefix == */ ]] || prefix="$prefix/"
[[ $prefix == /* ]] || die_status 2 "--prefix must start with / (got '$prefix')"

timeout=${FETCH_TOKEN_TIMEOUT:-20}
[[ $timeout =~ ^[0-9]{1,6}$ && $((10#$timeout)) -gt 0 ]] ||
    die_status 2 "FETCH_TOKEN_TIMEOUT must be a positive number of seconds (got '$timeout')"
timeout=$((10#$timeout))
connect_timeout=$((timeout < 10 ? timeout : 10))

# -- tools -------------------------------------------------------------------------------------
AWS=${AWS_CLI:-aws}
# Without an aws on PATH, the project's own awscli (installed into .venv by scripts/run or test.sh).
script_dir=${BASH_SOURCE[0]%/*}
repo_aws="$script_dir/../../.venv/bin/aws"
if [[ $AWS == aws ]] && ! command -v aws >/dev/null 2>&1 && [[ -x $repo_aws ]]; then AWS=$repo_aws; fi
missing=()
command -v "$AWS" >/dev/null 2>&1 || missing+=("$AWS")
if [[ $user_mode == 0 ]]; then
    command -v curl >/dev/null 2>&1 || missing+=(curl)
fi
if command -v jq >/dev/null 2>&1; then
    JSON_TOOL=jq
elif command -v python3 >/dev/null 2>&1; then
    JSON_TOOL=python3
else
    JSON_TOOL=""
    missing+=("jq or python3")
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    list=$(IFS=,; printf '%s' "${missing[*]}")
    die "required tool not found on PATH: ${list//,/, }"
fi

# json_get FIELD < document: prints the top-level string FIELD (empty if absent or not a string);
# fails when the document is not a JSON object. Documents travel on stdin, never on a command line.
json_get() {
    if [[ $JSON_TOOL == jq ]]; then
        jq -er --arg f "$1" \
            'if type == "object" then (.[$f] | if type == "string" then . else "" end)
             else error("not a JSON object") end' 2>/dev/null
    else
        python3 -I -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except Exception:
    sys.exit(1)
if not isinstance(doc, dict):
    sys.exit(1)
value = doc.get(sys.argv[1])
print(value if isinstance(value, str) else "")
' "$1" 2>/dev/null
    fi
}

umask 077
WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/fetch-token.XXXXXX") || die "cannot create a temporary directory"
trap 'rm -rf -- "$WORKDIR"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# -- aws ---------------------------------------------------------------------------------------
export AWS_PAGER=""
[[ -n $region ]] || region=${AWS_REGION:-}
AWS_ARGS=(--cli-connect-timeout "$connect_timeout" --cli-read-timeout "$timeout")
[[ -z $region ]] || AWS_ARGS+=(--region "$region")

# aws_call OUTFILE WHAT NOT_FOUND args...: runs aws with stdout into OUTFILE; on failure dies with
# the last line of aws's message (NOT_FOUND, if not empty, replaces WHAT for ResourceNotFound errors).
aws_call() {
    local out=$1 what=$2 not_found=$3 status=0 line last=""
    shift 3
    "$AWS" "${AWS_ARGS[@]}" "$@" >"$out" 2>"$WORKDIR/aws.err" || status=$?
    if [[ $status -eq 0 ]]; then return 0; fi
    while IFS= read -r line || [[ -n $line ]]; do
        if [[ -n ${line//[[:space:]]/} ]]; then last=$line; fi
    done <"$WORKDIR/aws.err"
    [[ -n $last ]] || last="aws exited with status $status"
    if [[ -n $not_found && $last == *"(ResourceNotFoundException)"* ]]; then
        die "$not_found (ResourceNotFoundException: ${last#*operation: })"
    fi
    die "$what failed: $last"
}

# -- settings: environment first, SSM for the rest ---------------------------------------------
# name_in_ssm:ENV_VAR pairs this mode needs.
if [[ $user_mode == 1 ]]; then
    wanted=(user_client_id:COGNITO_USER_CLIENT_ID)
else
    wanted=(client_id:COGNITO_CLIENT_ID pool_id:COGNITO_POOL_ID cognito_token_url:COGNITO_TOKEN_URL
        cognito_auth_scope:COGNITO_AUTH_SCOPE)
fi

client_id=${COGNITO_CLIENT_ID:-}
pool_id=${COGNITO_POOL_ID:-}
token_url=${COGNITO_TOKEN_URL:-}
scope=${COGNITO_AUTH_SCOPE:-}
user_client_id=${COGNITO_USER_CLIENT_ID:-}

# Fail before any network call when a --user run has no way to get a password.
password_from_prompt=0
if [[ $user_mode == 1 && -z ${COGNITO_PASSWORD:+set} ]]; then  # never expand the password here
    [[ -t 0 ]] || die "no password for user '$user': set COGNITO_PASSWORD or run from a terminal"
    password_from_prompt=1
fi

ssm_names=()
for pair in "${wanted[@]}"; do
    env_var=${pair#*:}
    [[ -n ${!env_var:-} ]] || ssm_names+=("$prefix${pair%%:*}")
done

if [[ ${#ssm_names[@]} -gt 0 ]]; then
    aws_call "$WORKDIR/ssm.txt" "reading SSM parameters under $prefix" "" \
        ssm get-parameters --with-decryption --names "${ssm_names[@]}" \
        --query 'Parameters[].[Name,Value]' --output text
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line == *$'\t'* ]] || continue
        name=${line%%$'\t'*}
        value=${line#*$'\t'}
        case ${name#"$prefix"} in
            client_id) [[ -n $client_id ]] || client_id=$value ;;
            pool_id) [[ -n $pool_id ]] || pool_id=$value ;;
            cognito_token_url) [[ -n $token_url ]] || token_url=$value ;;
            cognito_auth_scope) [[ -n $scope ]] || scope=$value ;;
            user_client_id) [[ -n $user_client_id ]] || user_client_id=$value ;;
        esac
    done <"$WORKDIR/ssm.txt"
fi

absent=()
for pair in "${wanted[@]}"; do
    case ${pair%%:*} in
        client_id) value=$client_id ;;
        pool_id) value=$pool_id ;;
        cognito_token_url) value=$token_url ;;
        cognito_auth_scope) value=$scope ;;
        user_client_id) value=$user_client_id ;;
    esac
    [[ -n $value ]] || absent+=("$prefix${pair%%:*} (or ${pair#*:})")
done
if [[ ${#absent[@]} -gt 0 ]]; then
    list=$(IFS=';'; printf '%s' "${absent[*]}")
    die "missing SSM parameter: ${list//;/, }"
fi

# -- user login --------------------------------------------------------------------------------
json_string() { # JSON string literal of $1 (for the login request file)
    local s=$1 bs=\\ q=\"
    s=${s//"$bs"/"$bs$bs"}
    s=${s//"$q"/"$bs$q"}
    s=${s//$'\t'/"${bs}t"}
    s=${s//$'\n'/"${bs}n"}
    s=${s//$'\r'/"${bs}r"}
    [[ $s != *[[:cntrl:]]* ]] || return 1
    printf '"%s"' "$s"
}

if [[ $user_mode == 1 ]]; then
    hush
    if [[ $password_from_prompt == 1 ]]; then
        IFS= read -r -s -p "Password for $user: " password || password=""
        printf '\n' >&2
    else
        password=$COGNITO_PASSWORD
    fi
    [[ -n $password ]] || die "empty password for user '$user'"
    SECRETS_TO_REDACT+=("$password")
    request='{"AuthFlow":"USER_PASSWORD_AUTH"'
    part=$(json_string "$user_client_id") || die "user client id contains control characters"
    request+=',"ClientId":'$part
    part=$(json_string "$user") || die "user name contains control characters"
    request+=',"AuthParameters":{"USERNAME":'$part
    part=$(json_string "$password") || die "password contains control characters"
    request+=',"PASSWORD":'$part'}}'
    printf '%s' "$request" >"$WORKDIR/login.json"
    unset password request part
    unhush

    aws_call "$WORKDIR/login.out" "login of user '$user' with app client $user_client_id" \
        "unknown user-login app client $user_client_id" \
        cognito-idp initiate-auth --cli-input-json "file://$WORKDIR/login.json" \
        --query '{token: AuthenticationResult.AccessToken, challenge: ChallengeName}' --output json
    rm -f -- "$WORKDIR/login.json"

    challenge=$(json_get challenge <"$WORKDIR/login.out") || die "aws initiate-auth printed no JSON"
    [[ -z $challenge ]] ||
        die "user '$user' must first answer the $challenge challenge (e.g. set a permanent password)"
    hush
    token=$(json_get token <"$WORKDIR/login.out") || token=""
    [[ $token =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$ ]] ||
        die "login of user '$user' returned no access token"
    printf '%s\n' "$token"
    unset token
    unhush
    exit 0
fi

# -- machine to machine ------------------------------------------------------------------------
[[ $token_url =~ ^https?://[^[:space:]]+$ ]] || die "token URL is not an http(s) URL: '$token_url'"

aws_call "$WORKDIR/secret.txt" "describe-user-pool-client (app client $client_id, user pool $pool_id)" \
    "unknown app client $client_id or user pool $pool_id" \
    cognito-idp describe-user-pool-client --user-pool-id "$pool_id" --client-id "$client_id" \
    --query UserPoolClient.ClientSecret --output text

hush
secret=$(<"$WORKDIR/secret.txt")
rm -f -- "$WORKDIR/secret.txt"
if [[ -z $secret || $secret == None ]]; then
    die "app client $client_id has no client secret (is it the machine client?)"
fi
SECRETS_TO_REDACT+=("$secret")
# curl config syntax: inside double quotes, backslash and double quote are escaped.
bs=\\ q=\"
cfg_id=${client_id//"$bs"/"$bs$bs"}
cfg_id=${cfg_id//"$q"/"$bs$q"}
cfg_secret=${secret//"$bs"/"$bs$bs"}
cfg_secret=${cfg_secret//"$q"/"$bs$q"}
[[ "$cfg_id$cfg_secret" != *[[:cntrl:]]* ]] || die "client id or secret contains control characters"
unhush

: "POST grant_type=client_credentials to $token_url as client $client_id"
curl_status=0
hush
http_code=$(printf 'user = "%s:%s"\n' "$cfg_id" "$cfg_secret" |
    curl -q --config - --silent --proto '=http,https' --max-time "$timeout" \
        --connect-timeout "$connect_timeout" --header 'Accept: application/json' \
        --data-urlencode grant_type=client_credentials --data-urlencode "scope=$scope" \
        --output "$WORKDIR/response.json" --write-out '%{http_code}' "$token_url" 2>/dev/null) ||
    curl_status=$?
unset secret cfg_secret
unhush

case $curl_status in
    0) ;;
    6) die "cannot resolve the host of the token endpoint $token_url" ;;
    7) die "token endpoint $token_url is unreachable (connection failed)" ;;
    28) die "token endpoint $token_url did not answer within ${timeout}s (timeout)" ;;
    35 | 51 | 53 | 54 | 58 | 59 | 60 | 66 | 77 | 80 | 82 | 83 | 90 | 91)
        die "TLS error talking to the token endpoint $token_url (curl exit $curl_status)" ;;
    52) die "token endpoint $token_url closed the connection without answering" ;;
    *) die "request to the token endpoint $token_url failed (curl exit $curl_status)" ;;
esac

response=$WORKDIR/response.json
[[ -f $response ]] || : >"$response"
if [[ $http_code != 2?? ]]; then
    if ! error=$(json_get error <"$response"); then
        die "token endpoint $token_url answered HTTP $http_code with a non-JSON body"
    fi
    [[ $error =~ ^[A-Za-z0-9_.-]{1,64}$ ]] ||
        die "token endpoint $token_url answered HTTP $http_code without an OAuth error code"
    case $error in
        invalid_client) hint=" (unknown app client or wrong client secret)" ;;
        invalid_scope) hint=" (scope '$scope' is not allowed for client $client_id)" ;;
        unauthorized_client) hint=" (client $client_id may not use client_credentials)" ;;
        *) hint="" ;;
    esac
    die "token endpoint refused the request: HTTP $http_code $error$hint"
fi

hush
if ! token=$(json_get access_token <"$response"); then
    die "token endpoint $token_url answered HTTP $http_code with a non-JSON body"
fi
[[ -n $token ]] || die "token endpoint $token_url answered HTTP $http_code without an access_token"
[[ $token =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$ ]] ||
    die "token endpoint $token_url returned an access_token that is not a JWT"
printf '%s\n' "$token"
unset token
unhush
